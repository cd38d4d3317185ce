/**
 * Manifest fields of compressed format 2 streams (`put --compress`): `compression` (top level)
 * and `stored_size` (per compressed chunk). Valid ones round-trip byte for byte and size get's
 * read limit; hostile ones are exit 4 before any chunk is fetched; v1 and uncompressed v2
 * manifests are written exactly as before.
 */
import assert from "node:assert/strict";
import { IntegrityError } from "../../lib/errors.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import {
  type ChunkRecord,
  type Manifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from "../../lib/format/manifest.ts";
import { buildManifest } from "../../lib/pipeline/manifest_build.ts";
import { sealedSizeLimit } from "../../lib/pipeline/get_stream.ts";
import { storedSize } from "../../lib/pipeline/compress_step.ts";
import { chainOfRecords, fromHex } from "../../lib/format/chain.ts";

const layout = new StreamLayout("db/dump", "p/");
const hex = (c: string) => c.repeat(64);

function records(sizes: number[], stored: (number | undefined)[]): ChunkRecord[] {
  return sizes.map((size, i) => ({
    index: i,
    s3_key: layout.withGeneration("g1a2b3c4d").chunkKey(i),
    size,
    sha256: hex("a"),
    sha3_256: hex("b"),
    etag: '"0123456789abcdef0123456789abcdef"',
    ...(stored[i] !== undefined ? { stored_size: stored[i] } : {}),
  }));
}

function manifest(opts: { v2?: boolean; compressed?: boolean; stored?: (number | undefined)[] }) {
  const recs = records([1000, 1000, 10], opts.stored ?? []);
  return buildManifest({
    name: layout.name,
    description: "",
    created: "2026-12-01T09:00:00.000000+00:00",
    chunkSize: 1000,
    encryptionMethod: "aes-256-gcm",
    encryptionRecipient: null,
    encryptManifest: false,
    storageClass: "STANDARD",
    tags: {},
    records: recs,
    // v1's chain is checked by validateManifest; v2's (keyed) only by get, with the key.
    chain: opts.v2 === false ? fromHex(chainOfRecords(recs)) : new Uint8Array(32).fill(7),
    whole: { sha256: new Uint8Array(32).fill(1), sha3: new Uint8Array(32).fill(2) },
    v2: opts.v2 === false ? undefined : {
      salt: new Uint8Array(32).fill(3),
      streamId: new Uint8Array(16).fill(4),
    },
    compression: opts.compressed === false ? undefined : "zstd",
  });
}

/** The manifest's JSON with `edit` applied, parsed and validated as get does. */
function readBack(m: Manifest, edit: (o: Record<string, unknown>) => void = () => {}): Manifest {
  const o = JSON.parse(new TextDecoder().decode(serializeManifest(m)));
  edit(o);
  const parsed = parseManifest(JSON.stringify(o, null, 2));
  validateManifest(parsed, layout);
  return parsed;
}

function assertRefused(m: Manifest, edit: (o: Record<string, unknown>) => void, re: RegExp) {
  assert.throws(() => readBack(m, edit), (e: unknown) => {
    assert.ok(e instanceof IntegrityError, `${e}`);
    assert.equal(e.exitCode, 4);
    assert.match(e.message, re);
    return true;
  });
}

const chunk = (o: Record<string, unknown>, i: number) => (o.chunks as Record<string, unknown>[])[i];

Deno.test("compressed v2: compression last, stored_size after etag, byte-identical round trip", () => {
  const m = manifest({ stored: [120, undefined, 9] });
  const bytes = serializeManifest(m);
  const text = new TextDecoder().decode(bytes);
  assert.match(text, /"stream_id": "(04){16}",\n {2}"compression": "zstd"\n\}$/);
  assert.match(text, /"etag": "\\"0123456789abcdef0123456789abcdef\\"",\n {6}"stored_size": 120\n/);
  // Chunk 1 was incompressible: no stored_size.
  assert.equal(text.match(/stored_size/g)?.length, 2);
  const back = readBack(m);
  assert.equal(back.compression, "zstd");
  assert.deepEqual(back.chunks.map((r) => r.stored_size), [120, undefined, 9]);
  assert.deepEqual(serializeManifest(back), bytes);
});

Deno.test("uncompressed v2 and v1 manifests carry neither field", () => {
  for (const m of [manifest({ compressed: false }), manifest({ v2: false })]) {
    const text = new TextDecoder().decode(serializeManifest(m));
    assert.doesNotMatch(text, /compression|stored_size/);
    assert.equal(readBack(m).compression, undefined);
  }
});

Deno.test("get's read limit and verify's object size use stored_size for compressed chunks", () => {
  const m = readBack(manifest({ stored: [120, undefined, 9] }));
  assert.deepEqual(m.chunks.map(storedSize), [120, 1000, 9]);
  assert.deepEqual(m.chunks.map((r) => sealedSizeLimit(storedSize(r), m)), [148, 1028, 37]);
});

Deno.test("hostile compression fields are exit 4", () => {
  const m = manifest({ stored: [120, undefined, 9] });
  assertRefused(m, (o) => (o.compression = "gzip"), /'compression' has unknown value 'gzip'/);
  assertRefused(m, (o) => (o.compression = 3), /'compression' is not string or null/);
  assertRefused(m, (o) => (o.compression = ["zstd"]), /'compression' is not string or null/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = 1000), /stored_size' is 1000; .* 1 to 999/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = 5000), /stored_size' is 5000/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = 0), /stored_size' is 0/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = -5), /stored_size' is -5/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = 1.5), /stored_size' is not integer/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = "120"), /stored_size' is not integer/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = { n: 1 }), /stored_size' is not integer/);
  assertRefused(m, (o) => (chunk(o, 0).stored_size = 2 ** 60), /stored_size' is not integer/);
  // Records of an uncompressed stream, v2 or v1, may not claim a stored size.
  assertRefused(
    m,
    (o) => delete o.compression,
    /chunks\[0\]\.stored_size' is only valid in a compressed format 2 stream/,
  );
  assertRefused(
    m,
    (o) => (o.compression = null),
    /chunks\[0\]\.stored_size' is only valid in a compressed format 2 stream/,
  );
  const v1 = manifest({ v2: false });
  assertRefused(
    v1,
    (o) => (chunk(o, 1).stored_size = 10),
    /chunks\[1\]\.stored_size' is only valid/,
  );
  assertRefused(v1, (o) => (o.compression = "zstd"), /'compression' is only valid in format 2/);
  // Another record field is still refused by name.
  assertRefused(m, (o) => (chunk(o, 2).compressed = true), /'chunks\[2\]\.compressed' is not a/);
});

Deno.test("a stored_size given twice is refused (JSON.parse would keep the last)", () => {
  const text = new TextDecoder().decode(serializeManifest(manifest({ stored: [120] })))
    .replace('"stored_size": 120', '"stored_size": 120, "stored_size": 5');
  assert.throws(() => parseManifest(text), /'stored_size' appears twice/);
});
