/**
 * What each chunk object carries about itself (x-amz-meta-s3duct), so that `put` on another
 * host, with no local log, can rebuild an interrupted upload from the bucket. For AES streams
 * the record is sealed with the stream's key (plaintext hashes would otherwise leak what the
 * encrypted manifest hides); age streams carry none (a recipient-only host could not read it
 * back), so they resume from the local log only.
 */
import { decodeBase64Url, encodeBase64Url } from "../format/base64.ts";
import type { ChainedRecord, ChunkRecord } from "../format/chunk_record.ts";
import { fromHex, isHex64, toHex } from "../format/hex.ts";
import type { Cipher } from "../crypto/cipher.ts";

/** The user-metadata name the record travels under (`x-amz-meta-s3duct`). */
export const META_KEY = "s3duct";

/**
 * What a chunk object's record holds: its chained record's facts but the key and ETag (the
 * listing and HEAD give those), and the stream's chunk size, so that a resume with another
 * --chunk-size ignores the record.
 */
export type ChunkMeta = Pick<ChainedRecord, "index" | "size" | "sha256" | "sha3_256" | "chain"> & {
  /** The stream's chunk size. */
  chunk_size: number;
};

/**
 * The record's binary form (version 1): the version byte, index, size and chunk size as 64-bit
 * big-endian integers, then the three 32-byte hashes. 121 bytes, 162 base64url characters; 199
 * AES-sealed (nonce and tag add 28 bytes): within Swift's default 256-byte limit per metadata
 * value and AWS's 2 KB for all user metadata. Records in the older JSON-array form (294
 * characters plain, 331 sealed: over Swift's limit) are still read.
 */
const RECORD_V1 = 1;
const RECORD_BYTES = 1 + 3 * 8 + 3 * 32;

/** The most bytes one metadata value may take: Swift's default `max_meta_value_length`. */
export const MAX_META_VALUE_BYTES = 256;
/** The most bytes all of an object's user metadata may take, names and values (AWS: 2 KB). */
export const MAX_META_TOTAL_BYTES = 2048;

/**
 * Metadata headers for a chunk object ({} when the method cannot carry them): the record to
 * bucket mapper (only the {@linkcode ChunkMeta} fields of `m` are read).
 */
export async function encodeChunkMeta(
  m: ChunkMeta,
  cipher: Cipher,
): Promise<Record<string, string>> {
  if (!cipher.carriesRecords) return {};
  const bin = new Uint8Array(RECORD_BYTES);
  const view = new DataView(bin.buffer);
  bin[0] = RECORD_V1;
  [m.index, m.size, m.chunk_size].forEach((n, i) => view.setBigUint64(1 + 8 * i, BigInt(n)));
  [m.sha256, m.sha3_256, m.chain].forEach((h, i) => bin.set(fromHex(h), 25 + 32 * i));
  const body = cipher.method === null ? bin : await cipher.seal(bin);
  return { [META_KEY]: encodeBase64Url(body) };
}

/** The record, or undefined when absent, damaged, or sealed with another key. */
export async function decodeChunkMeta(
  metadata: Record<string, string>,
  cipher: Cipher,
): Promise<ChunkMeta | undefined> {
  const raw = metadata[META_KEY];
  if (!raw || !cipher.carriesRecords) return undefined;
  try {
    const sealed = decodeBase64Url(raw);
    if (!sealed) return undefined;
    const opened = cipher.method === null ? sealed : await cipher.open(sealed);
    if (!opened) return undefined;
    const m = opened[0] === RECORD_V1 ? fromBinary(opened) : fromJson(opened);
    if (
      !m || !Number.isSafeInteger(m.index) || !Number.isSafeInteger(m.size) ||
      !isHex64(m.sha256) || !isHex64(m.sha3_256) || !isHex64(m.chain) ||
      !Number.isSafeInteger(m.chunk_size)
    ) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

function fromBinary(b: Uint8Array): ChunkMeta | undefined {
  if (b.length !== RECORD_BYTES) return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const [index, size, chunk_size] = [0, 1, 2].map((i) => Number(view.getBigUint64(1 + 8 * i)));
  const [sha256, sha3_256, chain] = [0, 1, 2].map((i) =>
    toHex(b.subarray(25 + 32 * i, 57 + 32 * i))
  );
  return { index, size, sha256, sha3_256, chain, chunk_size };
}

/** The JSON-array record earlier versions wrote (294 characters plain: over Swift's limit). */
function fromJson(b: Uint8Array): ChunkMeta | undefined {
  const [index, size, sha256, sha3_256, chain, chunk_size] = JSON.parse(
    new TextDecoder().decode(b),
  );
  return { index, size, sha256, sha3_256, chain, chunk_size };
}

/**
 * The bucket to record mapper: a decoded record completed with what the store says of the
 * object it was read from.
 * @param object the key (logical, under the stream's prefix), ETag and size of that object
 */
export function recordOfMeta(
  m: ChunkMeta,
  object: Pick<ChunkRecord, "s3_key" | "etag" | "object_size">,
): ChainedRecord {
  return {
    index: m.index,
    s3_key: object.s3_key,
    size: m.size,
    sha256: m.sha256,
    sha3_256: m.sha3_256,
    etag: object.etag,
    chain: m.chain,
    object_size: object.object_size,
  };
}
