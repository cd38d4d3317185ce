/**
 * Strict validation of a parsed manifest against the stream asked for (parsing, in
 * manifest.ts, only checks types). Pure.
 */
import { IntegrityError } from "../errors.ts";
import { chainOfRecords } from "./chain.ts";
import type { ChunkRecord } from "./chunk_record.ts";
import { EMPTY_SHA256, EMPTY_SHA3_256, isHex64 } from "./hex.ts";
import type { StreamLayout } from "./layout.ts";
// manifest.ts re-exports validateManifest; the constants are only read inside the checks,
// after both modules have loaded, so the cycle is harmless.
import { type Manifest, MANIFEST_VERSION, MANIFEST_VERSION_2, MAX_CHUNK_SIZE } from "./manifest.ts";
import { clip } from "../ui/escape.ts";

/** Throws the IntegrityError for one field of a manifest. */
type Fail = (field: string, what: string) => never;

/**
 * Strict consistency checks (unlike s3duct 0.4, which followed any manifest blindly): the
 * manifest must describe exactly the stream asked for, in the standard layout, with sizes,
 * counts and the chain consistent with its own records.
 */
export function validateManifest(m: Manifest, layout: StreamLayout): void {
  const fail: Fail = (field, what) => {
    throw new IntegrityError(`manifest of '${layout.name}': field '${field}' ${what}`);
  };
  checkFormat(m, fail);
  if (m.name !== layout.name) fail("name", `is '${clip(m.name)}', not the stream asked for`);
  if (m.chunk_size < 1 || m.chunk_size > MAX_CHUNK_SIZE) {
    fail("chunk_size", `is ${m.chunk_size}, outside 1 to ${MAX_CHUNK_SIZE} (what put accepts)`);
  }
  if (m.chunk_count !== m.chunks.length) {
    fail("chunk_count", `is ${m.chunk_count} but ${m.chunks.length} chunks are listed`);
  }
  const compressed = m.compression !== undefined && m.compression !== null;
  m.chunks.forEach((c, i) => checkRecord(c, i, m, layout, compressed, fail));
  const total = m.chunks.reduce((t, c) => t + c.size, 0);
  if (m.total_bytes !== total) {
    fail("total_bytes", `is ${m.total_bytes} but the chunks add up to ${total}`);
  }
  checkStreamHashes(m, fail);
  if (m.encrypted !== (m.encryption_method !== null)) {
    fail("encrypted", `is ${m.encrypted} but encryption_method is ${m.encryption_method}`);
  }
}

/** The version, format 2's own fields, and compression (format 2 only). */
function checkFormat(m: Manifest, fail: Fail): void {
  const v2 = m.version === MANIFEST_VERSION_2;
  if (m.version !== MANIFEST_VERSION && !v2) {
    fail("version", `is ${m.version}; this s3duct reads versions 1 and 2`);
  }
  if (v2) {
    if (!isHex64(m.format_salt ?? "")) fail("format_salt", "is not 32 bytes of hex");
    if (!/^[0-9a-f]{32}$/.test(m.stream_id ?? "")) fail("stream_id", "is not 16 bytes of hex");
    if (m.encryption_method !== "aes-256-gcm") {
      fail("encryption_method", "must be aes-256-gcm in format 2");
    }
  }
  const compressed = m.compression !== undefined && m.compression !== null;
  if (compressed && !v2) fail("compression", "is only valid in format 2 (version 2)");
}

/** Record `i`: its place, key, size, hashes and stored size. */
function checkRecord(
  c: ChunkRecord,
  i: number,
  m: Manifest,
  layout: StreamLayout,
  compressed: boolean,
  fail: Fail,
): void {
  const at = `chunks[${i}]`;
  if (c.index !== i) fail(`${at}.index`, `is ${c.index}, expected ${i}`);
  // The standard layout or a generation of this stream (a resumed put may use several).
  if (!layout.isChunkKey(c.s3_key, i)) {
    fail(
      `${at}.s3_key`,
      `is '${clip(c.s3_key)}', expected '${layout.chunkKey(i)}' or a generation`,
    );
  }
  const last = i === m.chunks.length - 1;
  if (last ? c.size < 1 || c.size > m.chunk_size : c.size !== m.chunk_size) {
    fail(`${at}.size`, `is ${c.size}, inconsistent with chunk_size ${m.chunk_size}`);
  }
  if (!isHex64(c.sha256)) fail(`${at}.sha256`, "is not a SHA-256 hex digest");
  if (!isHex64(c.sha3_256)) fail(`${at}.sha3_256`, "is not a SHA3-256 hex digest");
  if (c.stored_size === undefined) return;
  if (!compressed) fail(`${at}.stored_size`, "is only valid in a compressed format 2 stream");
  // Compressed only when smaller (else stored as it is): this bounds get's read limit.
  if (c.stored_size < 1 || c.stored_size >= c.size) {
    fail(
      `${at}.stored_size`,
      `is ${c.stored_size}; a compressed chunk of ${c.size} bytes stores 1 to ${c.size - 1}`,
    );
  }
}

/** The stream hashes' form, the v1 chain, and the hashes the records alone determine. */
function checkStreamHashes(m: Manifest, fail: Fail): void {
  if (!isHex64(m.stream_sha256)) fail("stream_sha256", "is not a SHA-256 hex digest");
  if (!isHex64(m.stream_sha3_256)) fail("stream_sha3_256", "is not a SHA3-256 hex digest");
  // Format 2's chain is keyed: get checks it with the key (chainOfRecordsV2) before output.
  if (m.version !== MANIFEST_VERSION_2 && m.final_chain !== chainOfRecords(m.chunks)) {
    fail("final_chain", "does not match the chain of the chunk hashes");
  }
  // The stream hashes are only checked after every byte is written; where the records alone
  // determine them (no chunk, or one), check them now, before anything is written.
  if (m.chunks.length > 1) return;
  const whole = m.chunks[0] ?? { sha256: EMPTY_SHA256, sha3_256: EMPTY_SHA3_256 };
  const which = m.chunks.length === 0 ? "empty" : "single";
  if (m.stream_sha256 !== whole.sha256) {
    fail("stream_sha256", `does not match the ${which} chunk`);
  }
  if (m.stream_sha3_256 !== whole.sha3_256) {
    fail("stream_sha3_256", `does not match the ${which} chunk`);
  }
}
