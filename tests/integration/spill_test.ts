/**
 * Scratch spill (put --scratch-dir / --buffer-chunks / --diskspace-limit): while the only
 * upload worker is held back by a bandwidth limit, stdin keeps flowing into sealed scratch
 * files, never more than the limits allow, never plaintext for an encrypted stream, and the
 * private folder is gone when put ends, fails or is interrupted.
 */
import assert from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import { MAIN_TS, pseudoRandom, tempDir, tempFile } from "../helpers.ts";
import { bytesEqual, cleanPrefix, cli, runPrefix, s3Args, s3Env, TEST_KEY_HEX } from "./harness.ts";

const CHUNK = 256 * 1024;
const data = pseudoRandom(24 * CHUNK + 999, "spill"); // 25 chunks
const env = { ...s3Env(), K: TEST_KEY_HEX };
const key = Uint8Array.from(TEST_KEY_HEX.match(/../g)!.map((h) => parseInt(h, 16)));

function localStore(): { root: string; args: string[] } {
  const root = tempDir("s3duct-spill-store-");
  Deno.mkdirSync(`${root}/b`);
  return { root, args: ["--endpoint-url", `file://${root}`, "--bucket", "b"] };
}

/** What a scratch folder holds right now: file name -> bytes. */
function snapshot(scratch: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  try {
    for (const d of Deno.readDirSync(scratch)) {
      if (!d.isDirectory) continue;
      for (const f of Deno.readDirSync(`${scratch}/${d.name}`)) {
        try {
          out.set(f.name, Deno.readFileSync(`${scratch}/${d.name}/${f.name}`));
        } catch {
          // uploaded and removed between the listing and the read
        }
      }
    }
  } catch {
    // folder not made yet
  }
  return out;
}

/** Start a slow put that spills; watch its scratch folder until it exits. */
async function watchedPut(extra: string[], opts: { interruptAfterFiles?: number } = {}) {
  const store = localStore();
  const scratch = tempDir("s3duct-scratch-");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN_TS,
      "put",
      ...store.args,
      "--name",
      "spilled",
      "--chunk-size",
      String(CHUNK),
      "--upload-workers",
      "1",
      "--bandwidth-limit",
      "1M",
      "--scratch-dir",
      scratch,
      ...extra,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", K: TEST_KEY_HEX },
  }).spawn();
  const w = child.stdin.getWriter();
  const feeding = w.write(data).then(() => w.close()).catch(() => {});
  const seen = new Map<string, Uint8Array>();
  let most = 0;
  let exited = false;
  const done = child.output().finally(() => exited = true);
  while (!exited) {
    const now = snapshot(scratch);
    most = Math.max(most, now.size);
    for (const [k, v] of now) if (v.length > 0) seen.set(k, v);
    if (opts.interruptAfterFiles !== undefined && now.size >= opts.interruptAfterFiles) {
      child.kill("SIGINT");
      opts.interruptAfterFiles = undefined;
    }
    await new Promise((r) => setTimeout(r, 15));
  }
  const out = await done;
  await feeding;
  const left = [...Deno.readDirSync(scratch)].map((e) => e.name);
  return { out, stderr: new TextDecoder().decode(out.stderr), seen, most, left, store };
}

Deno.test("spill: stdin keeps flowing into sealed scratch files within --buffer-chunks", async () => {
  const r = await watchedPut(["--key", "env:K", "--buffer-chunks", "5"]);
  assert.equal(r.out.code, 0, r.stderr);
  assert.ok(r.seen.size >= 3, `chunks should have waited on disk (saw ${r.seen.size})`);
  assert.ok(r.most <= 5, `at most 5 chunks on disk at once, saw ${r.most}`);
  assert.match(r.stderr, /(\d+) chunks waited in the scratch spill/);
  assert.deepEqual(r.left, [], "the private scratch folder is removed");
  // Every file seen is the sealed object, never the plaintext: it opens with the key.
  for (const [name, bytes] of r.seen) {
    const i = Number(name.slice("chunk-".length));
    const plain = data.subarray(i * CHUNK, (i + 1) * CHUNK);
    assert.equal(bytes.length, plain.length + 28, `${name} is an AES object`);
    const d = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
    d.setAuthTag(bytes.subarray(bytes.length - 16));
    const opened = new Uint8Array([
      ...d.update(bytes.subarray(12, bytes.length - 16)),
      ...d.final(),
    ]);
    assert.ok(bytesEqual(opened, plain), `${name} opens to chunk ${i}`);
  }
  const got = await cli(
    ["get", ...r.store.args, "--name", "spilled", "--key", "env:K"],
    { env: { K: TEST_KEY_HEX } },
  );
  assert.equal(got.code, 0, got.stderr);
  assert.ok(bytesEqual(got.stdout, data), "restores byte-identical");
});

Deno.test("spill: --diskspace-limit bounds the bytes on disk", async () => {
  const r = await watchedPut(["--no-encrypt", "--diskspace-limit", String(2 * CHUNK + 200_000)]);
  assert.equal(r.out.code, 0, r.stderr);
  // 2 chunk objects fit; the room each one may need (age overhead) keeps a third out.
  assert.ok(r.most >= 1 && r.most <= 2, `1..2 chunks on disk at once, saw ${r.most}`);
  assert.deepEqual(r.left, []);
});

Deno.test("spill: SIGINT exits 130, removes the scratch folder, publishes nothing", async () => {
  const r = await watchedPut(["--key", "env:K", "--buffer-chunks", "6"], {
    interruptAfterFiles: 2,
  });
  assert.equal(r.out.code, 130, r.stderr);
  assert.deepEqual(r.left, [], "no scratch files left behind");
  const list = await cli(["list", ...r.store.args]);
  assert.doesNotMatch(new TextDecoder().decode(list.stdout), /spilled/);
});

Deno.test("spill: bad limits are one-line usage errors", async () => {
  const store = localStore();
  const small = await cli(
    ["put", ...store.args, "--name", "x", "--chunk-size", "1M", "--diskspace-limit", "512K"],
    { stdin: data },
  );
  assert.equal(small.code, 2);
  assert.match(small.stderr, /--diskspace-limit \(512K\) must be >= --chunk-size \(1M\)/);
  const zero = await cli(
    ["put", ...store.args, "--name", "x", "--buffer-chunks", "0"],
    { stdin: data },
  );
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--buffer-chunks must be a whole number from 1/);
  const file = tempFile("s3duct-notdir-");
  const notDir = await cli(
    ["put", ...store.args, "--name", "x", "--no-encrypt", "--scratch-dir", `${file}/sub`],
    { stdin: data },
  );
  assert.equal(notDir.code, 2, notDir.stderr);
  assert.match(notDir.stderr, /--scratch-dir .* is not usable/);
  assert.equal(notDir.stderr.trim().split("\n").length, 1);
});

Deno.test("spill on Ceph: spilled chunks upload with their signed SHA-256, round trip", async () => {
  const prefix = runPrefix("spill");
  const scratch = tempDir("s3duct-scratch-");
  try {
    const put = await cli([
      "put",
      ...s3Args(),
      "--prefix",
      prefix,
      "--name",
      "ceph-spill",
      "--chunk-size",
      String(CHUNK),
      "--key",
      "env:K",
      "--upload-workers",
      "1",
      "--bandwidth-limit",
      "2M",
      "--scratch-dir",
      scratch,
      "--buffer-chunks",
      "4",
    ], { stdin: data, env });
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stderr, /chunks waited in the scratch spill/);
    assert.deepEqual([...Deno.readDirSync(scratch)], []);
    const get = await cli(
      ["get", ...s3Args(), "--prefix", prefix, "--name", "ceph-spill", "--key", "env:K"],
      { env },
    );
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, data));
  } finally {
    await cleanPrefix(prefix);
  }
});
