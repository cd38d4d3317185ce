/**
 * The portable path's hashing workers (lib/crypto/hash_pool.ts) give node:crypto's digests for
 * one-shot buffers of every size (across the 8 MiB slab), for running stream digests fed in odd
 * pieces, and with many callers at once; idle workers end by themselves.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { captureSha3Module, HashPool } from "../../lib/crypto/hash_pool.ts";

const MiB = 1024 * 1024;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const node = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest("hex");

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Made first in this module's isolate; a hash-wasm SHA3 made earlier elsewhere would hide the
// module, so the test runs in its own process (see fallback_test.ts) when that is the case.
const mod = await captureSha3Module();

Deno.test({
  name: "hash pool: one-shot digests equal node:crypto, 0 B to 2 slabs + 3 B, many at once",
  ignore: mod === undefined,
  async fn() {
    const pool = new HashPool(mod!, 2);
    const sizes = [0, 1, 16383, 16384, 16385, 3 * MiB + 7, 8 * MiB, 16 * MiB + 3];
    const inputs = sizes.map((n, i) => bytes(n, i + 1));
    const got = await Promise.all(inputs.map((b) => pool.digest(b)));
    got.forEach((d, i) => {
      assert.equal(hex(d.sha256), node("sha256", inputs[i]), `sha256 of ${sizes[i]} B`);
      assert.equal(hex(d.sha3), node("sha3-256", inputs[i]), `sha3 of ${sizes[i]} B`);
    });
    await new Promise((r) => setTimeout(r, 400)); // idle workers end: no leak for the sanitizer
  },
});

Deno.test({
  name: "hash pool: running digests in odd pieces equal one-shot, two streams apart",
  ignore: mod === undefined,
  async fn() {
    const pool = new HashPool(mod!, 2);
    const a = bytes(11 * MiB + 5, 7);
    const b = bytes(3 * MiB, 8);
    const sa = pool.stream(), sb = pool.stream();
    for (let off = 0, k = 0; off < a.length; k++) {
      const n = [1, 4096, 3 * MiB, 65537][k % 4];
      await sa.update(a.subarray(off, off + n));
      await sb.update(b.subarray(Math.min(off, b.length), Math.min(off + n, b.length)));
      off += n;
    }
    const [da, db] = [await sa.digest(), await sb.digest()];
    assert.equal(hex(da.sha3), node("sha3-256", a));
    assert.equal(hex(da.sha256), node("sha256", a));
    assert.equal(hex(db.sha3), node("sha3-256", b));
    // digest() starts the stream afresh.
    assert.equal(hex((await sa.digest()).sha3), node("sha3-256", new Uint8Array(0)));
    await new Promise((r) => setTimeout(r, 400));
  },
});

Deno.test({
  name:
    "hash pool: a stream paused longer than the idle time keeps its state (put waiting on uploads)",
  ignore: mod === undefined,
  async fn() {
    const pool = new HashPool(mod!, 2);
    const a = bytes(3 * MiB, 11);
    const s = pool.stream();
    await s.update(a.subarray(0, MiB));
    await new Promise((r) => setTimeout(r, 700)); // idle workers end after 250 ms
    await pool.digest(a); // another job meanwhile, on any worker
    await new Promise((r) => setTimeout(r, 700));
    await s.update(a.subarray(MiB));
    const d = await s.digest();
    assert.equal(hex(d.sha3), node("sha3-256", a));
    assert.equal(hex(d.sha256), node("sha256", a));
    await new Promise((r) => setTimeout(r, 400));
  },
});
