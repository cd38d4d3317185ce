import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  GCM_PIECE,
  gcmOpenPieces,
  gcmSealPieces,
  importPiecedGcmKey,
} from "../../lib/crypto/gcm_pieces.ts";

/** The reference: WebCrypto's one-call AES-GCM, ciphertext || tag. */
async function oneCall(raw: Uint8Array, nonce: Uint8Array, text: Uint8Array, aad?: Uint8Array) {
  const key = await crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    "AES-GCM",
    false,
    [
      "encrypt",
    ],
  );
  const params = {
    name: "AES-GCM",
    iv: nonce as Uint8Array<ArrayBuffer>,
    ...(aad ? { additionalData: aad as Uint8Array<ArrayBuffer> } : {}),
  };
  return new Uint8Array(await crypto.subtle.encrypt(params, key, text as Uint8Array<ArrayBuffer>));
}

const sizes = [0, 1, 15, 16, 17, 4096, GCM_PIECE - 1, GCM_PIECE, GCM_PIECE + 17, 2 * GCM_PIECE + 5];

Deno.test("pieced GCM: ciphertext and tag equal one-call AES-GCM, every size, with and without AAD", async () => {
  const raw = new Uint8Array(randomBytes(32));
  const key = await importPiecedGcmKey(raw);
  for (const n of sizes) {
    for (
      const aad of [undefined, new Uint8Array(randomBytes(5)), new Uint8Array(randomBytes(33))]
    ) {
      const nonce = new Uint8Array(randomBytes(12));
      const text = new Uint8Array(randomBytes(n));
      const want = await oneCall(raw, nonce, text, aad);
      const out = new Uint8Array(n);
      const tag = await gcmSealPieces(key, nonce, text, out, aad);
      assert.deepEqual(out, want.subarray(0, n), `ciphertext, ${n} bytes, aad ${aad?.length}`);
      assert.deepEqual(tag, want.subarray(n), `tag, ${n} bytes, aad ${aad?.length}`);
      const back = new Uint8Array(n);
      assert.equal(await gcmOpenPieces(key, nonce, out, tag, back, aad), true);
      assert.deepEqual(back, text);
    }
  }
});

Deno.test("pieced GCM: the NIST SP 800-38D vector (test case 16: AES-256, 60 bytes, AAD)", async () => {
  const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
  const key = await importPiecedGcmKey(
    hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
  );
  const text = hex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
  );
  const out = new Uint8Array(text.length);
  const tag = await gcmSealPieces(
    key,
    hex("cafebabefacedbaddecaf888"),
    text,
    out,
    hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
  );
  assert.deepEqual(
    out,
    hex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    ),
  );
  assert.deepEqual(tag, hex("76fc6ece0f4e1768cddf8853bb2d551b"));
});

Deno.test("pieced GCM: a changed byte of ciphertext, tag or AAD fails to open", async () => {
  const key = await importPiecedGcmKey(new Uint8Array(randomBytes(32)));
  const nonce = new Uint8Array(randomBytes(12));
  const text = new Uint8Array(randomBytes(GCM_PIECE + 100));
  const aad = new Uint8Array([1, 2, 3]);
  const sealed = new Uint8Array(text.length);
  const tag = await gcmSealPieces(key, nonce, text, sealed, aad);
  const out = new Uint8Array(text.length);
  for (const at of [0, GCM_PIECE - 1, GCM_PIECE, text.length - 1]) {
    const bad = sealed.slice();
    bad[at] ^= 1;
    assert.equal(await gcmOpenPieces(key, nonce, bad, tag, out, aad), false, `byte ${at}`);
  }
  const badTag = tag.slice();
  badTag[15] ^= 0x80;
  assert.equal(await gcmOpenPieces(key, nonce, sealed, badTag, out, aad), false, "tag");
  assert.equal(await gcmOpenPieces(key, nonce, sealed, tag, out, new Uint8Array([1, 2, 4])), false);
  assert.equal(await gcmOpenPieces(key, nonce, sealed, tag, out), false, "AAD left out");
  assert.equal(await gcmOpenPieces(key, nonce, sealed, tag.subarray(0, 12), out, aad), false);
  assert.equal(await gcmOpenPieces(key, nonce, sealed, tag, out, aad), true);
});

Deno.test("pieced GCM: opens in place (get decrypts into the sealed object's own middle)", async () => {
  const key = await importPiecedGcmKey(new Uint8Array(randomBytes(32)));
  const nonce = new Uint8Array(randomBytes(12));
  const text = new Uint8Array(randomBytes(2 * GCM_PIECE + 3));
  const buf = new Uint8Array(text.length);
  const tag = await gcmSealPieces(key, nonce, text, buf);
  assert.equal(await gcmOpenPieces(key, nonce, buf, tag, buf), true);
  assert.deepEqual(buf, text);
});
