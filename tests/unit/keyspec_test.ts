import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { KeyError } from "../../lib/errors.ts";
import { type KeySources, loadAesKey } from "../../lib/crypto/keyspec.ts";
import { bytesEqual, leaksSecret, pseudoRandom } from "../helpers.ts";

const KEY = pseudoRandom(32, "keyspec");
const HEX = Buffer.from(KEY).toString("hex");

interface FakeFile {
  bytes: Uint8Array;
  mode: number | null;
}

function sources(env: Record<string, string> = {}, files: Record<string, FakeFile> = {}) {
  const read: string[] = [];
  const s: KeySources = {
    env: (name) => env[name],
    readFile: (path) => {
      read.push(path);
      const f = files[path];
      return f ? Promise.resolve(f.bytes) : Promise.reject(new Deno.errors.NotFound(path));
    },
    mode: (path) => Promise.resolve(files[path]?.mode ?? null),
  };
  return { s, read };
}

function collectWarnings() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => void warnings.push(m) };
}

/** loadAesKey must reject with KeyError, and the message must not contain `secret`. */
async function assertKeyError(
  spec: string,
  s: KeySources,
  secrets: string[],
  mention?: string,
): Promise<void> {
  await assert.rejects(loadAesKey(spec, () => {}, s), (e: unknown) => {
    assert.ok(e instanceof KeyError, `expected KeyError, got ${e}`);
    assert.equal(e.exitCode, 5);
    for (const secret of secrets) {
      assert.ok(!leaksSecret(e.message, secret), `message leaks key material: ${e.message}`);
    }
    if (mention) assert.ok(e.message.includes(mention), `should mention ${mention}: ${e.message}`);
    return true;
  });
}

Deno.test("hex: 64 hex digits, any case, whitespace between pairs", async () => {
  const { s } = sources();
  assert.ok(bytesEqual(await loadAesKey(`hex:${HEX}`, undefined, s), KEY));
  assert.ok(bytesEqual(await loadAesKey(`hex:${HEX.toUpperCase()}`, undefined, s), KEY));
  const spaced = HEX.match(/../g)!.join(" ");
  assert.ok(bytesEqual(await loadAesKey(`hex:${spaced}`, undefined, s), KEY));
  const tabbed = HEX.match(/.{8}/g)!.join("\t");
  assert.ok(bytesEqual(await loadAesKey(`hex:${tabbed}`, undefined, s), KEY));
});

Deno.test("hex: wrong length or not hex -> KeyError without the key", async () => {
  const { s } = sources();
  await assertKeyError(`hex:${HEX.slice(0, 62)}`, s, [HEX.slice(0, 62)]);
  await assertKeyError(`hex:${HEX}00`, s, [HEX]);
  await assertKeyError(`hex:${HEX.slice(0, 63)}`, s, [HEX.slice(0, 63)]);
  await assertKeyError(`hex:${HEX.slice(0, 60)}zzzz`, s, [HEX.slice(0, 60)]);
  await assertKeyError("hex:", s, []);
});

Deno.test("env: reads hex from the variable", async () => {
  const { s } = sources({ MY_KEY: HEX });
  assert.ok(bytesEqual(await loadAesKey("env:MY_KEY", undefined, s), KEY));
  const { s: s2 } = sources({ MY_KEY: `  ${HEX.toUpperCase()}\n` });
  assert.ok(bytesEqual(await loadAesKey("env:MY_KEY", undefined, s2), KEY));
});

Deno.test("env: unset or empty -> KeyError naming the variable", async () => {
  await assertKeyError("env:MISSING_KEY", sources().s, [], "MISSING_KEY");
  await assertKeyError("env:EMPTY_KEY", sources({ EMPTY_KEY: "" }).s, [], "EMPTY_KEY");
});

Deno.test("env: wrong length or not hex -> KeyError without the value", async () => {
  const short = HEX.slice(0, 48);
  await assertKeyError("env:K", sources({ K: short }).s, [short], "K");
  const junk = `${HEX.slice(0, 56)}notahex!`;
  await assertKeyError("env:K", sources({ K: junk }).s, [junk]);
});

Deno.test("file: 32 raw bytes", async () => {
  const { s } = sources({}, { "/k.bin": { bytes: KEY, mode: 0o100600 } });
  assert.ok(bytesEqual(await loadAesKey("file:/k.bin", undefined, s), KEY));
});

Deno.test("file: 64 hex digits with a trailing newline", async () => {
  const enc = new TextEncoder();
  const { s } = sources({}, {
    "/k.hex": { bytes: enc.encode(HEX + "\n"), mode: 0o100600 },
    "/k2.hex": { bytes: enc.encode(HEX), mode: 0o100600 },
    "/k3.hex": { bytes: enc.encode(HEX.toUpperCase() + "\r\n"), mode: 0o100600 },
  });
  for (const p of ["/k.hex", "/k2.hex", "/k3.hex"]) {
    assert.ok(bytesEqual(await loadAesKey(`file:${p}`, undefined, s), KEY), p);
  }
});

Deno.test("file: wrong length -> KeyError without the contents", async () => {
  const enc = new TextEncoder();
  const raw31 = KEY.subarray(0, 31);
  const hex62 = HEX.slice(0, 62);
  const { s } = sources({}, {
    "/short.bin": { bytes: raw31, mode: 0o100600 },
    "/long.bin": { bytes: pseudoRandom(33, "long"), mode: 0o100600 },
    "/short.hex": { bytes: enc.encode(hex62 + "\n"), mode: 0o100600 },
    "/empty": { bytes: new Uint8Array(0), mode: 0o100600 },
  });
  await assertKeyError("file:/short.bin", s, [Buffer.from(raw31).toString("hex")], "/short.bin");
  await assertKeyError("file:/long.bin", s, [], "/long.bin");
  await assertKeyError("file:/short.hex", s, [hex62], "/short.hex");
  await assertKeyError("file:/empty", s, [], "/empty");
});

Deno.test("file: missing file -> KeyError naming it", async () => {
  await assertKeyError("file:/nope/key.hex", sources().s, [], "/nope/key.hex");
});

Deno.test("unknown scheme or no scheme -> KeyError without the key", async () => {
  const { s } = sources({ K: HEX });
  await assertKeyError(`raw:${HEX}`, s, [HEX]);
  await assertKeyError(HEX, s, [HEX]);
  await assertKeyError(`HEX:${HEX}`, s, [HEX]);
  await assertKeyError("", s, []);
});

Deno.test("file: group/other-readable mode warns, 0600 does not", async () => {
  const files = {
    "/open.bin": { bytes: KEY, mode: 0o100644 },
    "/group.bin": { bytes: KEY, mode: 0o100640 },
    "/private.bin": { bytes: KEY, mode: 0o100600 },
    "/nomode.bin": { bytes: KEY, mode: null },
  };
  const { s } = sources({}, files);
  for (
    const [path, expectWarn] of [
      ["/open.bin", true],
      ["/group.bin", true],
      ["/private.bin", false],
      ["/nomode.bin", false],
    ] as const
  ) {
    const w = collectWarnings();
    assert.ok(bytesEqual(await loadAesKey(`file:${path}`, w.warn, s), KEY));
    assert.equal(w.warnings.length, expectWarn ? 1 : 0, `${path}: ${w.warnings}`);
    for (const m of w.warnings) {
      assert.ok(m.includes(path));
      assert.ok(!leaksSecret(m, HEX));
    }
  }
});

Deno.test("file: real file on disk through the default sources", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/key.hex`;
    await Deno.writeTextFile(path, HEX + "\n", { mode: 0o600 });
    await Deno.chmod(path, 0o600);
    const w = collectWarnings();
    assert.ok(bytesEqual(await loadAesKey(`file:${path}`, w.warn), KEY));
    assert.deepEqual(w.warnings, []);
    await Deno.chmod(path, 0o644);
    const w2 = collectWarnings();
    assert.ok(bytesEqual(await loadAesKey(`file:${path}`, w2.warn), KEY));
    assert.equal(w2.warnings.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
