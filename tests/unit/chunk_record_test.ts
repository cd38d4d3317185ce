/**
 * The one chunk record and its three wire forms: manifest JSON, resume-log line, bucket record.
 * Each mapper pair round-trips, and each form is written byte-for-byte as before the record
 * types were merged (issue #13).
 */
import assert from "node:assert/strict";
import { aesCipher, plainCipher } from "../../lib/crypto/cipher.ts";
import { chainAfter, chainedPrefix, chainOfRecords } from "../../lib/format/chain.ts";
import {
  type ChainedRecord,
  type ChunkRecord,
  fromManifestJson,
  fromResumeLine,
  toManifestJson,
  toResumeLine,
} from "../../lib/format/chunk_record.ts";
import { decodeChunkMeta, encodeChunkMeta, recordOfMeta } from "../../lib/resume/chunk_meta.ts";

const H1 = "a".repeat(64);
const H2 = "b".repeat(64);

/** Two chained records as a resumed put holds them. */
function chained(): ChainedRecord[] {
  const first = { index: 0, s3_key: "s/chunk-000000", size: 4, sha256: H1, sha3_256: H2 };
  const second = { index: 1, s3_key: "s/chunk-000001", size: 2, sha256: H2, sha3_256: H1 };
  const c0 = chainAfter("", first);
  const c1 = chainAfter(c0, second);
  return [
    { ...first, etag: '"e0"', chain: c0, object_size: 32 },
    { ...second, etag: '"e1"', chain: c1 },
  ];
}

Deno.test("chunk record: manifest form keeps 0.4's six fields in order, stored_size only when set", () => {
  const [r] = chained();
  const json = JSON.stringify(toManifestJson(r));
  assert.equal(
    json,
    `{"index":0,"s3_key":"s/chunk-000000","size":4,"sha256":"${H1}","sha3_256":"${H2}","etag":"\\"e0\\""}`,
  );
  const compressed: ChunkRecord = { ...r, stored_size: 3 };
  assert.match(JSON.stringify(toManifestJson(compressed)), /"etag":"\\"e0\\"","stored_size":3}$/);
  // Back from JSON: the manifest fields only, the same values.
  assert.deepEqual(fromManifestJson(JSON.parse(json), 0), {
    index: 0,
    s3_key: r.s3_key,
    size: 4,
    sha256: H1,
    sha3_256: H2,
    etag: '"e0"',
  });
  assert.deepEqual(fromManifestJson(toManifestJson(compressed), 0), toManifestJson(compressed));
});

Deno.test("chunk record: manifest form defaults etag and names the first bad field", () => {
  const raw = { index: 2, s3_key: "k", size: 1, sha256: H1, sha3_256: H2 };
  assert.equal(fromManifestJson(raw, 2).etag, "");
  assert.throws(() => fromManifestJson([], 2), /'chunks\[2\]' is not an object/);
  assert.throws(
    () => fromManifestJson({ ...raw, index: "2", size: "1" }, 2),
    /'chunks\[2\]\.index' is not integer/,
  );
  assert.throws(() => fromManifestJson({ ...raw, s3_key: undefined }, 2), /s3_key' is missing/);
  assert.throws(
    () => fromManifestJson({ ...raw, stored_size: 1.5 }, 2),
    /'chunks\[2\]\.stored_size' is not integer/,
  );
});

Deno.test("chunk record: resume-log line is written as before and read back", () => {
  const [a, b] = chained();
  const line = JSON.stringify(toResumeLine(a));
  assert.equal(
    line,
    `{"chunk":0,"size":4,"sha256":"${H1}","sha3_256":"${H2}","chain":"${a.chain}",` +
      `"s3_key":"s/chunk-000000","etag":"\\"e0\\"","object_size":32}`,
  );
  assert.deepEqual(fromResumeLine(JSON.parse(line)), a);
  // An older line, without object_size, reads and is written again without it.
  const old = JSON.stringify(toResumeLine(b));
  assert.ok(!old.includes("object_size"), old);
  assert.deepEqual(fromResumeLine(JSON.parse(old)), b);
  assert.equal(JSON.stringify(toResumeLine(fromResumeLine(JSON.parse(old))!)), old);
});

Deno.test("chunk record: malformed log lines are no record", () => {
  const line = toResumeLine(chained()[0]) as unknown as Record<string, unknown>;
  for (
    const [field, value] of [
      ["chunk", 0.5],
      ["size", "4"],
      ["sha256", H1.toUpperCase()],
      ["chain", ""],
      ["s3_key", 7],
      ["etag", null],
      ["object_size", -0.5],
    ] as const
  ) {
    assert.equal(fromResumeLine({ ...line, [field]: value }), undefined, `${field}: ${value}`);
  }
  assert.equal(fromResumeLine(null), undefined);
  assert.equal(fromResumeLine([line]), undefined);
  assert.ok(fromResumeLine(line), "the line itself is a record");
});

Deno.test("chunk record: bucket form round-trips through encode, decode and recordOfMeta", async () => {
  const aes = await aesCipher(new Uint8Array(32).fill(3));
  for (const cipher of [plainCipher, aes]) {
    const [r] = chained();
    const headers = await encodeChunkMeta({ ...r, chunk_size: 4 }, cipher);
    const meta = await decodeChunkMeta(headers, cipher);
    assert.ok(meta, "a record");
    assert.equal(meta.chunk_size, 4);
    const where = { s3_key: r.s3_key, etag: r.etag, object_size: r.object_size };
    assert.deepEqual(recordOfMeta(meta, where), r);
  }
});

Deno.test("chain helper: chainOfRecords ends where the records' chain does; chainedPrefix cuts at damage", () => {
  const records = chained();
  assert.equal(chainOfRecords(records), records[1].chain);
  assert.deepEqual(chainedPrefix(records), records);
  const damaged = [records[0], { ...records[1], sha256: H1 }];
  assert.deepEqual(chainedPrefix(damaged), [records[0]]);
  assert.deepEqual(chainedPrefix([{ ...records[0], chain: records[1].chain }, records[1]]), []);
});
