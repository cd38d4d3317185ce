/**
 * Format 2 attacks on Ceph: someone with write access to the bucket (but not the key) swaps,
 * drops or transplants chunks and rewrites a plain manifest consistently. Each fails closed
 * with exit 4 and nothing on stdout.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { serializeManifest } from "../../lib/format/manifest.ts";
import { assertFailed, bytesEqual, pseudoRandom, Suite, TEST_KEY_HEX } from "./harness.ts";

const t = new Suite("v2", undefined, { K: TEST_KEY_HEX });
const { prefix, store } = t;
const CHUNK = 4096;
let n = 0;

async function put(data: Uint8Array, plainManifest = true): Promise<string> {
  const name = `v2-${n++}`;
  const plain = plainManifest ? ["--no-encrypt-manifest"] : [];
  await t.put(
    name,
    data,
    "--chunk-size",
    String(CHUNK),
    "--key",
    "env:K",
    "--format",
    "2",
    ...plain,
  );
  return name;
}

const get = (name: string) => t.run("get", name, ["--key", "env:K"]);
/** Full key of chunk `i` of a stream, in the generation folder its put wrote it to. */
async function chunkKey(name: string, i: number): Promise<string> {
  const key = await t.chunkKey(name, i);
  assert.match(
    key,
    new RegExp(`^${prefix}/${name}/g[0-9a-z]{8}/chunk-${String(i).padStart(6, "0")}$`),
  );
  return key;
}

Deno.test("format 2: round trips with plain and encrypted manifests; the manifest says version 2", async () => {
  for (const plain of [true, false]) {
    const data = pseudoRandom(5 * CHUNK + 77, plain ? 1 : 2);
    const name = await put(data, plain);
    const r = await get(name);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(bytesEqual(r.stdout, data));
    if (plain) {
      const m = await t.manifest(name);
      assert.equal(m.version, 2);
      assert.match(m.format_salt, /^[0-9a-f]{64}$/);
      assert.match(m.stream_id, /^[0-9a-f]{32}$/);
    }
  }
});

Deno.test("format 2: two chunks swapped -> exit 4; only the genuine chunk 0 is written", async () => {
  const name = await put(pseudoRandom(5 * CHUNK, 3));
  const [k1, k2] = [await chunkKey(name, 1), await chunkKey(name, 2)];
  const [a, b] = [await store.get(k1), await store.get(k2)];
  await store.put(k1, b);
  await store.put(k2, a);
  // Chunk 0 is fine and written; chunk 1 no longer opens at position 1.
  const r = await get(name);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout.length, CHUNK, "only chunk 0, which is genuine");
  assert.match(r.stderr, /chunk 1/);
});

Deno.test("format 2: last chunk dropped, plain manifest rewritten consistently -> exit 4", async () => {
  const data = pseudoRandom(5 * CHUNK, 4);
  const name = await put(data);
  const key = t.manifestKey(name);
  const m = await t.manifest(name);
  // Everything an attacker can recompute without the key: counts, sizes, stream hashes.
  m.chunks.pop();
  m.chunk_count = m.chunks.length;
  m.total_bytes = 4 * CHUNK;
  const kept = data.subarray(0, 4 * CHUNK);
  m.stream_sha256 = createHash("sha256").update(kept).digest("hex");
  m.stream_sha3_256 = createHash("sha3-256").update(kept).digest("hex");
  await chunkKey(name, 4); // in its generation folder
  await t.removeChunk(name, 4);
  for (const chain of [m.final_chain, "0".repeat(64)]) {
    m.final_chain = chain;
    await store.put(key, serializeManifest(m));
    assertFailed(await get(name), 4, /final_chain/);
  }
});

Deno.test("format 2: a chunk moved in from another v2 stream under the same key -> exit 4", async () => {
  const victim = await put(pseudoRandom(3 * CHUNK, 5));
  const donor = await put(pseudoRandom(3 * CHUNK, 6));
  await store.put(await chunkKey(victim, 0), await store.get(await chunkKey(donor, 0)));
  assertFailed(await get(victim), 4, /chunk 0/);
});

Deno.test("format 2: needs an AES key; age and plain are refused with a usage error", async () => {
  const r = await t.run("put", "no-v2", ["--no-encrypt", "--format", "2"], pseudoRandom(10));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--format 2 needs --key/);
});

Deno.test("format 2: clean up", () => t.clean());
