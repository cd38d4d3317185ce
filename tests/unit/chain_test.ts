import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { chainLink, chainOfRecords, fromHex, GENESIS_KEY, toHex } from "../../lib/format/chain.ts";
import { eachFixture, PLAIN_MANIFESTS, pseudoRandom, refBytes, refHex } from "../helpers.ts";

interface RawManifest {
  chunk_size: number;
  final_chain: string;
  stream_sha256: string;
  stream_sha3_256: string;
  chunks: { index: number; size: number; sha256: string; sha3_256: string }[];
}

Deno.test("fixtures: there are plaintext manifests to check", () => {
  // a, c, d2, e, g stored plain; b, d, e2 via manifest.plaintext.json.
  assert.ok(PLAIN_MANIFESTS.length >= 8, `only ${PLAIN_MANIFESTS.length} manifests found`);
});

eachFixture(PLAIN_MANIFESTS, "chain of every fixture manifest: the fixtures", (fm) => {
  const m = JSON.parse(fm.text) as RawManifest;

  Deno.test(`chainOfRecords reproduces final_chain: ${fm.label}`, () => {
    assert.match(m.final_chain, /^[0-9a-f]{64}$/);
    assert.equal(chainOfRecords(m.chunks), m.final_chain);
  });

  Deno.test(`input.bin slices hash and chain to the manifest: ${fm.label}`, () => {
    const input = Deno.readFileSync(`${fm.case.dir}/input.bin`);
    assert.equal(refHex("sha256", input), m.stream_sha256);
    assert.equal(refHex("sha3-256", input), m.stream_sha3_256);
    let chain: Uint8Array | undefined;
    let off = 0;
    for (const r of m.chunks) {
      const slice = input.subarray(r.index * m.chunk_size, r.index * m.chunk_size + m.chunk_size);
      assert.equal(slice.length, r.size, `chunk ${r.index} size`);
      const s2 = refBytes("sha256", slice);
      const s3 = refBytes("sha3-256", slice);
      assert.equal(Buffer.from(s2).toString("hex"), r.sha256, `chunk ${r.index} sha256`);
      assert.equal(Buffer.from(s3).toString("hex"), r.sha3_256, `chunk ${r.index} sha3_256`);
      chain = chainLink(chain, s2, s3);
      off += slice.length;
    }
    assert.equal(off, input.length);
    assert.ok(chain);
    assert.equal(Buffer.from(chain).toString("hex"), m.final_chain);
  });
});

Deno.test("chainLink: HMAC-SHA256 keyed by 's3duct-genesis', then by the previous link", () => {
  assert.equal(new TextDecoder().decode(GENESIS_KEY), "s3duct-genesis");
  const a = pseudoRandom(64, "chain-a");
  const b = pseudoRandom(64, "chain-b");
  const ref0 = createHmac("sha256", "s3duct-genesis").update(a).digest();
  const ref1 = createHmac("sha256", ref0).update(b).digest();
  const c0 = chainLink(undefined, a.subarray(0, 32), a.subarray(32));
  const c1 = chainLink(c0, b.subarray(0, 32), b.subarray(32));
  assert.equal(c0.length, 32);
  assert.deepEqual(Buffer.from(c0), ref0);
  assert.deepEqual(Buffer.from(c1), ref1);
});

Deno.test("chainOfRecords: empty list gives ''", () => {
  assert.equal(chainOfRecords([]), "");
});

Deno.test("toHex/fromHex: round trip and agreement with Buffer", () => {
  const bytes = pseudoRandom(257, "hex");
  const hex = toHex(bytes);
  assert.equal(hex, Buffer.from(bytes).toString("hex"));
  assert.deepEqual(fromHex(hex), bytes);
  assert.deepEqual(fromHex(hex.toUpperCase()), bytes);
  assert.equal(toHex(new Uint8Array([0, 1, 15, 16, 255])), "00010f10ff");
  assert.deepEqual(fromHex(""), new Uint8Array(0));
});

Deno.test("fromHex: rejects odd length and non-hex", () => {
  for (const bad of ["a", "abc", "zz", "0g", "  ", "0x00", "ab cd", "é1"]) {
    assert.throws(() => fromHex(bad), RangeError, JSON.stringify(bad));
  }
});
