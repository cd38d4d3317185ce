import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { AES_OVERHEAD, aesOpen, aesSeal, importAesKey } from "../../lib/crypto/aes.ts";
import { aesCipher, plainCipher } from "../../lib/crypto/cipher.ts";
import { aesCases, aesKeyOf, bytesEqual, eachFixture, pseudoRandom } from "../helpers.ts";

interface RawManifest {
  chunk_size: number;
  chunks: { index: number; s3_key: string; size: number }[];
}

Deno.test("fixtures: AES cases b, c and e2 are present", () => {
  const ids = aesCases().map((c) => c.id.split("-")[0]).sort();
  assert.deepEqual(ids, ["b", "c", "e2"]);
});

eachFixture(aesCases, "every AES fixture decrypts: the fixtures", (c) => {
  Deno.test(`every chunk of ${c.id} decrypts to its slice of input.bin`, async () => {
    const cipher = await aesCipher(aesKeyOf(c));
    const input = Deno.readFileSync(`${c.dir}/input.bin`);
    const manifestText = c.json.manifest_plaintext_file
      ? Deno.readTextFileSync(`${c.dir}/${c.json.manifest_plaintext_file}`)
      : Deno.readTextFileSync(`${c.dir}/objects/${c.json.manifest_object_key}`);
    const m = JSON.parse(manifestText) as RawManifest;
    assert.ok(m.chunks.length > 1);
    const prefix = c.json.effective_key_prefix;
    for (const r of m.chunks) {
      const sealed = Deno.readFileSync(`${c.dir}/objects/${prefix}${r.s3_key}`);
      assert.equal(sealed.length, r.size + AES_OVERHEAD, `chunk ${r.index} object size`);
      const plain = await cipher.open(sealed);
      assert.ok(plain, `chunk ${r.index} did not authenticate`);
      const start = r.index * m.chunk_size;
      assert.ok(bytesEqual(plain, input.subarray(start, start + r.size)), `chunk ${r.index}`);
    }
  });

  if (c.json.crypto.manifest_encrypted) {
    Deno.test(`encrypted manifest of ${c.id} decrypts to manifest.plaintext.json`, async () => {
      const cipher = await aesCipher(aesKeyOf(c));
      const sealed = Deno.readFileSync(`${c.dir}/objects/${c.json.manifest_object_key}`);
      const want = Deno.readFileSync(`${c.dir}/${c.json.manifest_plaintext_file}`);
      assert.equal(sealed.length, want.length + AES_OVERHEAD);
      const plain = await cipher.open(sealed);
      assert.ok(plain, "manifest did not authenticate");
      assert.ok(bytesEqual(plain, want));
    });
  }
});

Deno.test("aesCipher: seal/open round trip; object = plaintext + 28 bytes", async () => {
  const cipher = await aesCipher(randomBytes(32));
  assert.equal(cipher.method, "aes-256-gcm");
  assert.equal(cipher.recipient, null);
  for (const n of [0, 1, 15, 16, 17, 4096, 100_003]) {
    const plain = pseudoRandom(n, `rt${n}`);
    const sealed = await cipher.seal(plain);
    assert.equal(sealed.length, n + 28);
    const back = await cipher.open(sealed);
    assert.ok(back && bytesEqual(back, plain), `size ${n}`);
  }
});

Deno.test("aesSeal: layout is nonce(12) || ciphertext || tag(16), checked by node:crypto", async () => {
  const raw = randomBytes(32);
  const key = await importAesKey(raw);
  const plain = pseudoRandom(1000, "layout");
  const sealed = await aesSeal(key, plain);
  const d = createDecipheriv("aes-256-gcm", raw, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  assert.ok(bytesEqual(out, plain));
});

Deno.test("aesCipher in place: sealed over its own plaintext, opened over its own object", async () => {
  const raw = randomBytes(32);
  const cipher = await aesCipher(raw);
  const room = cipher.inPlace!;
  assert.deepEqual(room, { head: 12, tail: 16 });
  const plain = pseudoRandom(300_000, "in-place");
  // The plaintext sits inside a bigger buffer with room for nonce and tag around it.
  const frame = new Uint8Array(room.head + plain.length + room.tail);
  const view = frame.subarray(room.head, room.head + plain.length);
  view.set(plain);
  const sealed = await cipher.seal(view, () => frame);
  assert.equal(sealed.buffer, frame.buffer, "sealed into the same memory");
  assert.ok(!bytesEqual(view, plain), "the plaintext was overwritten");
  // Anything that opens ordinary AES objects opens it: node:crypto here.
  const d = createDecipheriv("aes-256-gcm", raw, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  assert.ok(bytesEqual(out, plain));
  // Opening in place hands back the object's middle, now plaintext.
  const opened = await cipher.open(
    sealed,
    () => sealed.subarray(room.head, sealed.length - room.tail),
  );
  assert.ok(opened && bytesEqual(opened, plain));
  // A damaged object opened in place is refused (its buffer then holds garbage, never used).
  const again = await cipher.seal(plain);
  again[500] ^= 1;
  assert.equal(await cipher.open(again, () => again.subarray(12, again.length - 16)), undefined);
});

Deno.test("aesCipher over 8 MiB (WebCrypto in pieces when portable): in place, node:crypto agrees", async () => {
  const raw = randomBytes(32);
  const cipher = await aesCipher(raw);
  const plain = pseudoRandom(9 * 1024 * 1024 + 5, "big");
  const frame = new Uint8Array(12 + plain.length + 16);
  frame.set(plain, 12);
  const sealed = await cipher.seal(frame.subarray(12, 12 + plain.length), () => frame);
  const d = createDecipheriv("aes-256-gcm", raw, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  assert.ok(bytesEqual(out, plain));
  const copy = sealed.slice();
  const opened = await cipher.open(sealed, () => sealed.subarray(12, sealed.length - 16));
  assert.ok(opened && bytesEqual(opened, plain));
  copy[9 * 1024 * 1024] ^= 1;
  assert.equal(await cipher.open(copy), undefined, "a flipped byte in the second piece");
});

Deno.test("aesOpen: opens an object sealed by node:crypto", async () => {
  const raw = randomBytes(32);
  const nonce = randomBytes(12);
  const plain = pseudoRandom(777, "node-sealed");
  const c = createCipheriv("aes-256-gcm", raw, nonce);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const obj = Buffer.concat([nonce, ct, c.getAuthTag()]);
  const back = await aesOpen(await importAesKey(raw), obj);
  assert.ok(back && bytesEqual(back, plain));
});

Deno.test("aesOpen: wrong key, flipped bytes, truncation -> undefined", async () => {
  const key = await importAesKey(randomBytes(32));
  const other = await importAesKey(randomBytes(32));
  const plain = pseudoRandom(500, "tamper");
  const sealed = await aesSeal(key, plain);
  assert.equal(await aesOpen(other, sealed), undefined, "wrong key");
  for (const at of [0, 11, 12, 200, sealed.length - 16, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[at] ^= 0x01;
    assert.equal(await aesOpen(key, bad), undefined, `flipped byte ${at}`);
  }
  assert.equal(await aesOpen(key, sealed.subarray(0, sealed.length - 1)), undefined, "truncated");
  assert.equal(await aesOpen(key, sealed.subarray(0, 27)), undefined, "shorter than overhead");
  assert.equal(await aesOpen(key, new Uint8Array(0)), undefined, "empty");
});

Deno.test("aesCipher: wrong fixture key does not open a fixture chunk", async () => {
  const [b, c] = aesCases();
  const chunk = Deno.readFileSync(`${b.dir}/objects/${b.json.stream_name}/chunk-000000`);
  assert.ok(await (await aesCipher(aesKeyOf(b))).open(chunk));
  assert.equal(await (await aesCipher(aesKeyOf(c))).open(chunk), undefined);
});

Deno.test("aesSeal: two seals of the same plaintext differ (random nonce)", async () => {
  const cipher = await aesCipher(randomBytes(32));
  const plain = pseudoRandom(64, "nonce");
  const a = await cipher.seal(plain);
  const b = await cipher.seal(plain);
  assert.ok(!bytesEqual(a, b));
  assert.ok(!bytesEqual(a.subarray(0, 12), b.subarray(0, 12)), "nonces differ");
});

Deno.test("plainCipher: identity both ways", async () => {
  const data = pseudoRandom(100, "plain");
  assert.equal(plainCipher.method, null);
  assert.ok(bytesEqual(await plainCipher.seal(data), data));
  const opened = await plainCipher.open(data);
  assert.ok(opened && bytesEqual(opened, data));
});
