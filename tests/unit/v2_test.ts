/**
 * Format 2 known answers. The hex values below were computed independently with Python's
 * hashlib/hmac (HKDF written out from RFC 5869), not with this code:
 *   key = bytes(range(32)), salt = bytes(range(100, 132)), stream id = bytes(range(200, 216)),
 *   chunk i hashes = sha256/sha3_256 of b"chunk%d" % i.
 */
import assert from "node:assert/strict";
import { createDecipheriv, createHash } from "node:crypto";
import { aesCipher } from "../../lib/crypto/cipher.ts";
import { chainLinkV2, chainOfRecordsV2, chunkAad, deriveV2Keys } from "../../lib/crypto/v2.ts";
import { toHex } from "../../lib/format/chain.ts";

const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const salt = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
const streamId = Uint8Array.from({ length: 16 }, (_, i) => 200 + i);
const ENC = "cf17c02e834fae199512b1ee4270de1bbc5f1aaa5b1aed25ae40f9932ee782c5";
const MAC = "4e3ac69d9ab50244ef27fb639b980d066db33fe9226040accceaef2ba35d7685";
const AAD_5_LAST =
  "7333647563742d7632206368756e6bc8c9cacbcccdcecfd0d1d2d3d4d5d6d7000000000000000501";
const CHAIN = [
  "036947d15c65d137e7f2a1b206c6833fcc5d8bfb58508489d37e5b96a53160fa",
  "a71a4cab3d57825e22d71493d35b0c55560d981c45e868b1f11559eb2f9cd31e",
  "cc47c836788c7bc3744c8e532b685c7d2af472c94da8e7dccc3b756ab9239816",
];
const records = [0, 1, 2].map((i) => {
  const b = new TextEncoder().encode(`chunk${i}`);
  return {
    sha256: createHash("sha256").update(b).digest("hex"),
    sha3_256: createHash("sha3-256").update(b).digest("hex"),
  };
});

Deno.test("v2 key derivation matches the HKDF vectors", () => {
  const k = deriveV2Keys(key, salt);
  assert.equal(toHex(k.enc), ENC);
  assert.equal(toHex(k.mac), MAC);
});

Deno.test("v2 AAD layout: label || stream id || u64be index || last flag", () => {
  assert.equal(toHex(chunkAad(streamId, { index: 5, last: true })), AAD_5_LAST);
  const notLast = chunkAad(streamId, { index: 5, last: false });
  assert.equal(notLast.at(-1), 0);
  assert.notEqual(toHex(chunkAad(streamId, { index: 6, last: true })), AAD_5_LAST);
});

Deno.test("v2 keyed chain matches the HMAC vectors, link by link and over the records", () => {
  const mac = deriveV2Keys(key, salt).mac;
  let chain: Uint8Array = streamId;
  records.forEach((r, i) => {
    chain = chainLinkV2(
      mac,
      chain,
      i,
      Buffer.from(r.sha256, "hex"),
      Buffer.from(r.sha3_256, "hex"),
    );
    assert.equal(toHex(chain), CHAIN[i], `link ${i}`);
  });
  assert.equal(chainOfRecordsV2(mac, streamId, records), CHAIN[2]);
  assert.equal(chainOfRecordsV2(mac, streamId, []), "");
});

Deno.test("v2 chunk cipher: node:crypto with the derived key and AAD opens it; wrong place fails", async () => {
  const c = (await aesCipher(key)).formatV2!({ salt, streamId });
  const plain = new TextEncoder().encode("position-bound chunk");
  const sealed = await c.chunks.seal(plain, undefined, { index: 5, last: true });
  const d = createDecipheriv("aes-256-gcm", Buffer.from(ENC, "hex"), sealed.subarray(0, 12));
  d.setAAD(Buffer.from(AAD_5_LAST, "hex"));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const back = Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  assert.deepEqual(new Uint8Array(back), plain);
  assert.deepEqual(await c.chunks.open(sealed, undefined, { index: 5, last: true }), plain);
  for (const at of [{ index: 4, last: true }, { index: 5, last: false }]) {
    assert.equal(await c.chunks.open(sealed, undefined, at), undefined, JSON.stringify(at));
  }
  const otherStream = (await aesCipher(key)).formatV2!({ salt, streamId: new Uint8Array(16) });
  assert.equal(
    await otherStream.chunks.open(sealed, undefined, { index: 5, last: true }),
    undefined,
  );
  const otherSalt = (await aesCipher(key)).formatV2!({ salt: new Uint8Array(32), streamId });
  assert.equal(await otherSalt.chunks.open(sealed, undefined, { index: 5, last: true }), undefined);
});
