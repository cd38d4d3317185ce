/**
 * The chunk record (x-amz-meta-s3duct) stays within Swift's default 256 bytes per value and
 * AWS's 2 KB in all, round-trips, and records in the older JSON form are still read.
 */
import assert from "node:assert/strict";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { aesCipher, plainCipher } from "../../lib/crypto/cipher.ts";
import { ageCipher } from "../../lib/crypto/age.ts";
import {
  type ChunkMeta,
  decodeChunkMeta,
  encodeChunkMeta,
  MAX_META_TOTAL_BYTES,
  MAX_META_VALUE_BYTES,
  META_KEY,
} from "../../lib/resume/chunk_meta.ts";
import { encodeBase64Url } from "../../lib/format/base64.ts";

/** The longest fields a record can hold: every number at its largest. */
const WORST: ChunkMeta = {
  index: Number.MAX_SAFE_INTEGER,
  size: Number.MAX_SAFE_INTEGER,
  sha256: "f".repeat(64),
  sha3_256: "e".repeat(64),
  chain: "d".repeat(64),
  chunk_size: Number.MAX_SAFE_INTEGER,
};

const enc = new TextEncoder();

function metaBytes(headers: Record<string, string>): { longest: number; total: number } {
  let longest = 0;
  let total = 0;
  for (const [k, v] of Object.entries(headers)) {
    longest = Math.max(longest, enc.encode(v).length);
    // AWS counts the name as sent (x-amz-meta-NAME) plus the value, in UTF-8 bytes.
    total += enc.encode(`x-amz-meta-${k}`).length + enc.encode(v).length;
  }
  return { longest, total };
}

Deno.test("chunk record: worst case within 256 bytes a value and 2 KB in all (plain, AES, age)", async () => {
  const aes = await aesCipher(new Uint8Array(32).fill(7));
  const id = await generateX25519Identity();
  const age = ageCipher({ identities: [id], recipients: [await identityToRecipient(id)] });
  for (const [name, cipher] of [["plain", plainCipher], ["aes", aes], ["age", age]] as const) {
    const headers = await encodeChunkMeta(WORST, cipher);
    const { longest, total } = metaBytes(headers);
    assert.ok(longest <= MAX_META_VALUE_BYTES, `${name}: a value of ${longest} bytes`);
    assert.ok(total <= MAX_META_TOTAL_BYTES, `${name}: ${total} bytes of metadata`);
    if (name === "age") {
      // age streams carry no record (a recipient-only host could not read it back).
      assert.deepEqual(headers, {});
      continue;
    }
    assert.ok(headers[META_KEY].length > 100, `${name}: the record is there`);
    assert.deepEqual(await decodeChunkMeta(headers, cipher), WORST, `${name}: round trip`);
  }
  assert.equal(MAX_META_VALUE_BYTES, 256);
  assert.equal(MAX_META_TOTAL_BYTES, 2048);
});

Deno.test("chunk record: sealed with another key, damaged or truncated is no record", async () => {
  const aes = await aesCipher(new Uint8Array(32).fill(7));
  const other = await aesCipher(new Uint8Array(32).fill(8));
  const sealed = await encodeChunkMeta(WORST, aes);
  assert.equal(await decodeChunkMeta(sealed, other), undefined);
  const plain = (await encodeChunkMeta(WORST, plainCipher))[META_KEY];
  assert.equal(await decodeChunkMeta({ [META_KEY]: plain.slice(0, -4) }, plainCipher), undefined);
  assert.equal(await decodeChunkMeta({ [META_KEY]: "!!" }, plainCipher), undefined);
  // A plain record read as an AES stream's (or the reverse) is not taken either.
  assert.equal(await decodeChunkMeta({ [META_KEY]: plain }, aes), undefined);
});

Deno.test("chunk record: the JSON-array form earlier versions wrote is still read", async () => {
  const m: ChunkMeta = { ...WORST, index: 3, size: 1048576, chunk_size: 1048576 };
  const json = enc.encode(
    JSON.stringify([m.index, m.size, m.sha256, m.sha3_256, m.chain, m.chunk_size]),
  );
  assert.deepEqual(await decodeChunkMeta({ [META_KEY]: encodeBase64Url(json) }, plainCipher), m);
  const aes = await aesCipher(new Uint8Array(32).fill(7));
  const sealed = encodeBase64Url(await aes.seal(json));
  assert.deepEqual(await decodeChunkMeta({ [META_KEY]: sealed }, aes), m);
  // ...and the new form is much shorter than the old one was (294 characters plain).
  const now = (await encodeChunkMeta(m, plainCipher))[META_KEY];
  assert.ok(now.length < encodeBase64Url(json).length - 100, `${now.length} characters`);
});
