/**
 * Damage and tampering on Ceph: each case fails with its documented exit code, and stdout
 * holds nothing but chunks that were verified before the damaged one.
 */
import assert from "node:assert/strict";
import { serializeManifest } from "../../lib/format/manifest.ts";
import { bytesEqual, OTHER_KEY_HEX, pseudoRandom, Suite, TEST_KEY_HEX } from "./harness.ts";

const t = new Suite("tamper", undefined, { K: TEST_KEY_HEX, WRONG: OTHER_KEY_HEX });
const { prefix, store } = t;
const CHUNK = 4096;
const data = pseudoRandom(4 * CHUNK + 500, 42); // 5 chunks
let n = 0;

type Mode = "plain" | "aes" | "aes-plain-manifest";
const keyArgs = (m: Mode) => (m === "plain" ? [] : ["--key", "env:K"]);

/** A fresh stream per case, so every tamper starts from a good stream. */
async function fresh(mode: Mode): Promise<{ name: string; key: (i: number) => string }> {
  const name = `victim-${mode}-${n++}`;
  await t.put(
    name,
    data,
    "--chunk-size",
    String(CHUNK),
    ...(mode === "plain" ? ["--no-encrypt"] : keyArgs(mode)),
    ...(mode === "aes-plain-manifest" ? ["--no-encrypt-manifest"] : []),
  );
  // The real keys of its 5 chunks, all in the one generation folder this put wrote.
  const keys = await Promise.all(
    [0, 1, 2, 3, 4].map((i) => t.chunkKey(name, i)),
  );
  const gen = new RegExp(`^${prefix}/${name}/(g[0-9a-z]{8})/chunk-00000[0-4]$`);
  const gens = new Set(keys.map((k) => gen.exec(k)?.[1]));
  assert.equal(gens.size, 1, keys.join(" "));
  assert.ok(!gens.has(undefined), keys.join(" "));
  return {
    name,
    key: (i) => {
      assert.ok(i in keys, `no chunk ${i}`);
      return keys[i];
    },
  };
}

const get = (name: string, extra: string[]) => t.run("get", name, extra);

function assertFailed(
  r: { code: number; stdout: Uint8Array; stderr: string },
  code: number,
  verifiedChunks: number,
  mention: RegExp,
) {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.ok(
    bytesEqual(r.stdout, data.subarray(0, verifiedChunks * CHUNK)),
    `stdout must be exactly the ${verifiedChunks} chunks before the damage (got ${r.stdout.length} bytes)`,
  );
  assert.match(r.stderr, mention);
  assert.equal(r.stderr.trim().split("\n").length, 1, "one-line error");
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

async function flipByte(key: string, at: number) {
  const bytes = await store.get(key);
  bytes[at] ^= 0x01;
  await store.put(key, bytes);
}

for (const mode of ["plain", "aes", "aes-plain-manifest"] as Mode[]) {
  Deno.test(`tamper (${mode}): flipped byte in chunk 2 -> exit 4 after 2 verified chunks`, async () => {
    const s = await fresh(mode);
    await flipByte(s.key(2), 100);
    assertFailed(await get(s.name, keyArgs(mode)), 4, 2, /chunk 2/);
  });

  Deno.test(`tamper (${mode}): chunks 1 and 2 swapped -> exit 4 after chunk 0`, async () => {
    const s = await fresh(mode);
    const [a, b] = [await store.get(s.key(1)), await store.get(s.key(2))];
    await store.put(s.key(1), b);
    await store.put(s.key(2), a);
    assertFailed(await get(s.name, keyArgs(mode)), 4, 1, /chunk 1/);
  });

  Deno.test(`tamper (${mode}): chunk 3 deleted -> exit 4 after 3 chunks`, async () => {
    const s = await fresh(mode);
    await store.delete([s.key(3)]);
    assertFailed(await get(s.name, keyArgs(mode)), 4, 3, /chunk 3 .*missing/);
  });
}

Deno.test("tamper (aes-plain-manifest): flipped byte in chunk 0 is damage, not a wrong key", async () => {
  const s = await fresh("aes-plain-manifest");
  await flipByte(s.key(0), 40);
  assertFailed(await get(s.name, keyArgs("aes-plain-manifest")), 4, 0, /chunk 0/);
});

async function editPlainManifest(name: string, edit: (m: Record<string, unknown>) => void) {
  const key = t.manifestKey(name);
  const m = JSON.parse(new TextDecoder().decode(await store.get(key)));
  edit(m);
  await store.put(key, new TextEncoder().encode(JSON.stringify(m)));
}

Deno.test("tamper (plain): manifest chunk hash edited -> exit 4, nothing written", async () => {
  const s = await fresh("plain");
  await editPlainManifest(s.name, (m) => {
    const chunks = m.chunks as { sha256: string }[];
    chunks[1].sha256 = "0".repeat(64);
  });
  assertFailed(await get(s.name, []), 4, 0, /final_chain/);
});

Deno.test("tamper (plain): manifest total_bytes edited -> exit 4, nothing written", async () => {
  const s = await fresh("plain");
  await editPlainManifest(s.name, (m) => {
    m.total_bytes = (m.total_bytes as number) + 1;
  });
  assertFailed(await get(s.name, []), 4, 0, /total_bytes/);
});

Deno.test("tamper (plain): last chunk record dropped -> exit 4, nothing written", async () => {
  const s = await fresh("plain");
  await editPlainManifest(s.name, (m) => {
    (m.chunks as unknown[]).pop();
  });
  assertFailed(await get(s.name, []), 4, 0, /chunk_count|total_bytes|final_chain/);
});

Deno.test("tamper (plain): manifest stream_sha256 edited -> get exit 4 once the bytes are hashed", async () => {
  const s = await fresh("plain");
  await editPlainManifest(s.name, (m) => {
    m.stream_sha256 = "0".repeat(64);
  });
  const r = await get(s.name, []);
  assert.equal(r.code, 4, r.stderr);
  // Every chunk passed its own checks, so the bytes written are right; the manifest is not.
  assert.ok(bytesEqual(r.stdout, data));
  assert.match(r.stderr, /stream hash .* does not match/);
});

Deno.test("tamper (plain): manifest stream_sha3_256 edited -> get 0, verify --deep 4", async () => {
  const s = await fresh("plain");
  await editPlainManifest(s.name, (m) => {
    m.stream_sha3_256 = "0".repeat(64);
  });
  const r = await get(s.name, []);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(bytesEqual(r.stdout, data));
  const v = await t.run("verify", s.name, ["--deep"]);
  assert.equal(v.code, 4, v.stderr);
  assert.match(v.stdout + v.stderr, /stream hash/);
});

Deno.test("tamper: manifest of another stream swapped in -> exit 4 (name check)", async () => {
  const a = await fresh("plain");
  const b = await fresh("plain");
  const other = await store.get(t.manifestKey(a.name));
  await store.put(t.manifestKey(b.name), other);
  assertFailed(await get(b.name, []), 4, 0, /name/);
});

Deno.test("tamper: encrypted manifest of another stream with the same key -> exit 4", async () => {
  const a = await fresh("aes");
  const b = await fresh("aes");
  await store.put(
    t.manifestKey(b.name),
    await store.get(t.manifestKey(a.name)),
  );
  assertFailed(await get(b.name, ["--key", "env:K"]), 4, 0, /name/);
});

for (const mode of ["aes", "aes-plain-manifest"] as Mode[]) {
  Deno.test(`wrong key (${mode}) -> exit 5, nothing written, key never echoed`, async () => {
    const s = await fresh(mode);
    const r = await get(s.name, ["--key", "env:WRONG"]);
    assertFailed(r, 5, 0, /wrong key/);
    assert.ok(!r.stderr.includes(OTHER_KEY_HEX) && !r.stderr.includes(TEST_KEY_HEX));
  });
  Deno.test(`no key for an encrypted stream (${mode}) -> exit 5 naming --key`, async () => {
    const s = await fresh(mode);
    assertFailed(await get(s.name, []), 5, 0, /--key/);
  });
}

Deno.test("a manifest we serialise ourselves is accepted (control for the edits above)", async () => {
  const s = await fresh("plain");
  const key = t.manifestKey(s.name);
  const m = JSON.parse(new TextDecoder().decode(await store.get(key)));
  await store.put(key, serializeManifest(m));
  const r = await get(s.name, []);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(bytesEqual(r.stdout, data));
});

Deno.test("tamper: clean up", () => t.clean());
