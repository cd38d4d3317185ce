/**
 * The one reader of key and identity files (lib/crypto/keyspec.ts readKeyFile, issue 12.3):
 * regular files of at most 64 KiB only, refused before any read otherwise, every problem a
 * KeyError (exit 5) naming the file and never its content.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { KeyError } from "../../lib/errors.ts";
import {
  KEY_FILE_MAX_BYTES,
  loadAesKey,
  readKeyFile,
  readSmallRegularFile,
} from "../../lib/crypto/keyspec.ts";
import { bytesEqual, leaksSecret, pseudoRandom } from "../helpers.ts";

const dir = await Deno.makeTempDir({ prefix: "s3duct-keyfiles-" });
const use = { what: "key file" };

/** readKeyFile must fail with a KeyError (5) naming `path` and saying `why`, within 5 s. */
async function assertRefused(path: string, why: RegExp): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`reading '${path}' hung`)), 5000);
  });
  try {
    await assert.rejects(Promise.race([readKeyFile(path, use), timeout]), (e: unknown) => {
      assert.ok(e instanceof KeyError, `expected KeyError, got ${e}`);
      assert.equal(e.exitCode, 5);
      assert.ok(e.message.startsWith(`key file '${path}' `), e.message);
      assert.match(e.message, why);
      return true;
    });
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("key files: /dev/zero, a directory and a missing path are refused before any read", async () => {
  await assertRefused("/dev/zero", /is a device, not a regular file/);
  await assertRefused(dir, /is a directory, not a regular file/);
  await assertRefused(`${dir}/missing`, /does not exist$/);
});

Deno.test({
  name: "key files: a FIFO with no writer is refused at once, not waited on",
  // Opening the FIFO would block in a Deno thread; the test must not leave one behind.
  sanitizeOps: true,
  fn: async () => {
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    await assertRefused(fifo, /is a FIFO \(named pipe\), not a regular file/);
  },
});

Deno.test("key files: at most 64 KiB; one byte more is refused", async () => {
  const ok = `${dir}/max`;
  await Deno.writeFile(ok, new Uint8Array(KEY_FILE_MAX_BYTES).fill(0x23));
  assert.equal((await readKeyFile(ok, use)).length, KEY_FILE_MAX_BYTES);
  const big = `${dir}/big`;
  await Deno.writeFile(big, new Uint8Array(KEY_FILE_MAX_BYTES + 1));
  await assertRefused(big, /is over 65536 bytes/);
});

Deno.test("key files: a file that reports no size (/proc) is still read no further than the cap", async () => {
  // /proc/self/status is a regular file of size 0 to stat, with content: read, and bounded.
  const bytes = await readSmallRegularFile("/proc/self/status");
  assert.ok(bytes.length > 0 && bytes.length <= KEY_FILE_MAX_BYTES);
  await assert.rejects(readSmallRegularFile("/proc/self/status", 16), /is over 16 bytes/);
});

Deno.test("key files: a symlink to a regular file is read; a symlink to a directory is not", async () => {
  const target = `${dir}/target.key`;
  await Deno.writeFile(target, pseudoRandom(32, "link"));
  await Deno.symlink(target, `${dir}/link.key`);
  assert.ok(bytesEqual(await readKeyFile(`${dir}/link.key`, use), pseudoRandom(32, "link")));
  await Deno.symlink(dir, `${dir}/link.dir`);
  await assertRefused(`${dir}/link.dir`, /is a directory/);
});

Deno.test("--key file: 32 hex digits are refused as a cut-short hex key, never taken as raw bytes", async () => {
  const hex = Buffer.from(pseudoRandom(16, "half")).toString("hex");
  for (
    const [name, text] of [["half", hex], ["half-nl", hex + "\n"], [
      "half-upper",
      hex.toUpperCase(),
    ]]
  ) {
    const path = `${dir}/${name}`;
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    await assert.rejects(loadAesKey(`file:${path}`), (e: unknown) => {
      assert.ok(e instanceof KeyError);
      assert.match(e.message, /holds 32 hex digits \(16 bytes\): a 64-digit hex key cut short\?/);
      assert.ok(!leaksSecret(e.message, hex), "key material in the message");
      return true;
    });
  }
  // 32 raw bytes that are not all hex digits are a raw key, as before.
  const raw = `${dir}/raw`;
  await Deno.writeFile(raw, pseudoRandom(32, "raw"), { mode: 0o600 });
  assert.ok(bytesEqual(await loadAesKey(`file:${raw}`), pseudoRandom(32, "raw")));
});

Deno.test("key files: secret files readable by others warn, through every reader alike", async () => {
  const path = `${dir}/open.key`;
  await Deno.writeFile(path, pseudoRandom(32, "open"));
  await Deno.chmod(path, 0o644);
  const warnings: string[] = [];
  await readKeyFile(path, {
    what: "age identity file",
    secret: true,
    warn: (m) => warnings.push(m),
  });
  assert.deepEqual(warnings, [
    `age identity file '${path}' is readable by group or others; run: chmod 600 '${path}'`,
  ]);
  // Not secret (recipients, public keys): no warning.
  await readKeyFile(path, { what: "recipients file", warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
});

Deno.test("key files: clean up", () => Deno.remove(dir, { recursive: true }));
