import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { dualDigest, DualHasher, md5Hex, sha256 } from "../../lib/crypto/hash.ts";
import { pseudoRandom, refHex } from "../helpers.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const enc = new TextEncoder();

function assertDigests(
  d: { sha256: Uint8Array; sha3: Uint8Array },
  data: Uint8Array,
  what: string,
) {
  assert.equal(d.sha256.length, 32);
  assert.equal(d.sha3.length, 32);
  assert.equal(hex(d.sha256), refHex("sha256", data), `${what}: sha256`);
  assert.equal(hex(d.sha3), refHex("sha3-256", data), `${what}: sha3-256`);
}

Deno.test("DualHasher: '' and 'abc' equal node:crypto sha256 / sha3-256", async () => {
  const h = await DualHasher.create();
  assertDigests(await h.digest(), new Uint8Array(0), "empty");
  const abc = enc.encode("abc");
  assertDigests(await updated(h, abc), abc, "abc");
  // FIPS 202 SHA3-256("abc"), not Keccak-256: guards against the wrong padding.
  assert.equal(
    refHex("sha3-256", abc),
    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
  );
});

Deno.test("DualHasher: 1 MiB of random bytes", async () => {
  const data = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(1 << 20);
  for (let off = 0; off < big.length; off += 65536) {
    big.set(crypto.getRandomValues(new Uint8Array(65536)), off);
  }
  const h = await DualHasher.create();
  assertDigests(await updated(h, big), big, "1 MiB");
  assertDigests(await updated(h, data), data, "64 KiB");
});

Deno.test("DualHasher: incremental odd-sized updates equal one-shot", async () => {
  const data = pseudoRandom(300_001, "incremental");
  const h = await DualHasher.create();
  const sizes = [1, 7, 135, 136, 137, 1000, 4093, 65537];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    await h.update(data.subarray(off, off + n));
    off += n;
  }
  const inc = await h.digest();
  const one = await updated(await DualHasher.create(), data);
  assert.deepEqual(inc, one);
  assertDigests(inc, data, "incremental");
});

Deno.test("DualHasher: digest() resets for the next chunk", async () => {
  const h = await DualHasher.create();
  const a = pseudoRandom(5000, "a");
  const b = pseudoRandom(3000, "b");
  assertDigests(await updated(h, a), a, "first");
  assertDigests(await updated(h, b), b, "second (not a||b)");
  assertDigests(await h.digest(), new Uint8Array(0), "third (nothing)");
});

Deno.test("DualHasher: separate hashers do not share state", async () => {
  const h1 = await DualHasher.create();
  const h2 = await DualHasher.create();
  const a = pseudoRandom(100, "x");
  const b = pseudoRandom(100, "y");
  await h1.update(a);
  await h2.update(b);
  assertDigests(await h1.digest(), a, "h1");
  assertDigests(await h2.digest(), b, "h2");
});

Deno.test("sha256() and md5Hex() equal node:crypto", async () => {
  const data = pseudoRandom(12345, "one-shot");
  assert.equal(hex(await sha256(data)), refHex("sha256", data));
  assert.equal(await md5Hex(data), refHex("md5", data));
  assert.equal(await md5Hex(new Uint8Array(0)), "d41d8cd98f00b204e9800998ecf8427e");
});

async function updated(h: DualHasher, bytes: Uint8Array) {
  await h.update(bytes);
  return await h.digest();
}

Deno.test("dualDigest() equals node:crypto for empty, small and multi-MiB inputs", async () => {
  for (const n of [0, 1, 136, 5 * 1024 * 1024 + 3]) {
    const data = pseudoRandom(n, `dual-${n}`);
    assertDigests(await dualDigest(data), data, `${n} bytes`);
  }
});
