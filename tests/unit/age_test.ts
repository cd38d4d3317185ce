/** age: identity/recipient parsing, and our payload code against typage both ways. */
import assert from "node:assert/strict";
import {
  Decrypter,
  Encrypter,
  generateHybridIdentity,
  generateX25519Identity,
  identityToRecipient,
} from "age-encryption";
import {
  ageCipher,
  checkRecipient,
  parseIdentities,
  parseRecipients,
} from "../../lib/crypto/age.ts";
import { KeyError, NoMatchingIdentity } from "../../lib/errors.ts";
import { fixtureCase } from "../helpers.ts";

const SIZES = [0, 1, 65_535, 65_536, 65_537, 131_072, 200_000];

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

Deno.test("parseIdentities: age-keygen files, comments and blanks; junk lines named, not quoted", async () => {
  const id = await generateX25519Identity();
  const pq = await generateHybridIdentity();
  const ids = parseIdentities(`# created: x\n# public key: age1...\n\n${id}\n${pq}\n`, "f");
  assert.deepEqual(ids, [id, pq]);
  assert.throws(() => parseIdentities("# only comments\n", "f"), KeyError);
  try {
    parseIdentities(`${id}\nnot-a-key-zzJUNKzz\n`, "f");
    assert.fail("junk accepted");
  } catch (e) {
    assert.ok(e instanceof KeyError);
    assert.match(e.message, /line 2/);
    assert.ok(!e.message.includes("zzJUNKzz"));
  }
});

Deno.test("parseRecipients / checkRecipient: X25519 and PQ accepted, junk rejected", async () => {
  const r = await identityToRecipient(await generateX25519Identity());
  const rpq = await identityToRecipient(await generateHybridIdentity());
  assert.deepEqual(parseRecipients(`# keys\n${r}\n\n${rpq}\n`, "f"), [r, rpq]);
  assert.throws(() => checkRecipient("age1notvalid", "x"), KeyError);
  assert.throws(
    () => checkRecipient(r.slice(0, -1) + (r.endsWith("q") ? "p" : "q"), "x"),
    KeyError,
  );
  assert.throws(() => parseRecipients("\n# none\n", "f"), KeyError);
});

for (const pqMode of [false, true]) {
  Deno.test(`ageCipher (${pqMode ? "PQ" : "X25519"}): ours opens with typage, typage's opens with ours`, async () => {
    const id = pqMode ? await generateHybridIdentity() : await generateX25519Identity();
    const r = await identityToRecipient(id);
    const c = ageCipher({ identities: [id], recipients: [r] });
    const dec = new Decrypter();
    dec.addIdentity(id);
    const enc = new Encrypter();
    enc.addRecipient(r);
    for (const n of SIZES) {
      const plain = bytes(n, n);
      const sealed = await c.seal(plain);
      assert.deepEqual(await dec.decrypt(sealed), plain, `typage opens ours, ${n}`);
      assert.deepEqual(await c.open(await enc.encrypt(plain)), plain, `we open typage's, ${n}`);
    }
  });
}

Deno.test("ageCipher: damage, truncation and extension fail; a stranger's identity is NoMatchingIdentity", async () => {
  const id = await generateX25519Identity();
  const c = ageCipher({ identities: [id], recipients: [await identityToRecipient(id)] });
  const sealed = await c.seal(bytes(200_000, 1));
  const flipped = sealed.slice();
  flipped[flipped.length - 100] ^= 1;
  assert.equal(await c.open(flipped), undefined, "flipped payload byte");
  assert.equal(
    await c.open(sealed.subarray(0, sealed.length - 65_552)),
    undefined,
    "last segment dropped",
  );
  const extended = new Uint8Array(sealed.length + 16);
  extended.set(sealed);
  assert.equal(await c.open(extended), undefined, "extra bytes");
  const stranger = ageCipher({ identities: [await generateX25519Identity()] });
  await assert.rejects(() => stranger.open(sealed), NoMatchingIdentity);
});

Deno.test("ageCipher: every chunk of fixture d (s3duct 0.4 + age CLI) opens to its input slice", async () => {
  const dir = fixtureCase("d").dir; // d-age-encrypted-manifest
  const ids = parseIdentities(await Deno.readTextFile(`${dir}/age-identity.txt`), "id");
  const c = ageCipher({ identities: ids });
  const input = await Deno.readFile(`${dir}/input.bin`);
  let off = 0;
  for (const k of ["chunk-000000", "chunk-000001", "chunk-000002"]) {
    const plain = await c.open(await Deno.readFile(`${dir}/objects/d-age-encrypted-manifest/${k}`));
    assert.ok(plain);
    assert.deepEqual(plain, input.subarray(off, off + plain.length));
    off += plain.length;
  }
  assert.equal(off, input.length);
});
