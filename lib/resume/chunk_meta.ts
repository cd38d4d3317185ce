/**
 * What each chunk object carries about itself (x-amz-meta-s3duct), so that `put` on another
 * host, with no local log, can rebuild an interrupted upload from the bucket. For AES streams
 * the record is sealed with the stream's key (plaintext hashes would otherwise leak what the
 * encrypted manifest hides); age streams carry none (a recipient-only host could not read it
 * back), so they resume from the local log only.
 */
import { decodeBase64Url, encodeBase64Url } from "../format/base64.ts";
import { isHex64 } from "../format/hex.ts";
import type { Cipher } from "../crypto/cipher.ts";

/** The user-metadata name the record travels under (`x-amz-meta-s3duct`). */
export const META_KEY = "s3duct";

/** A chunk's own record: enough to rebuild its resume-log entry from the bucket. */
export interface ChunkMeta {
  /** The chunk's 0-based index in the stream. */
  index: number;
  /** Plaintext bytes in the chunk. */
  size: number;
  /** SHA-256 of the plaintext, lower-case hex. */
  sha256: string;
  /** SHA3-256 of the plaintext, lower-case hex. */
  sha3_256: string;
  /** Chain value after this chunk. */
  chain: string;
  /** The stream's chunk size, so a resume with another --chunk-size ignores the record. */
  chunk_size: number;
}

/** Metadata headers for a chunk object ({} when the method cannot carry them). */
export async function encodeChunkMeta(
  m: ChunkMeta,
  cipher: Cipher,
): Promise<Record<string, string>> {
  if (!cipher.carriesRecords) return {};
  const json = new TextEncoder().encode(
    JSON.stringify([m.index, m.size, m.sha256, m.sha3_256, m.chain, m.chunk_size]),
  );
  const body = cipher.method === null ? json : await cipher.seal(json);
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
    const json = cipher.method === null ? sealed : await cipher.open(sealed);
    if (!json) return undefined;
    const [index, size, sha256, sha3_256, chain, chunk_size] = JSON.parse(
      new TextDecoder().decode(json),
    );
    if (
      !Number.isSafeInteger(index) || !Number.isSafeInteger(size) || !isHex64(sha256) ||
      !isHex64(sha3_256) || !isHex64(chain) || !Number.isSafeInteger(chunk_size)
    ) return undefined;
    return { index, size, sha256, sha3_256, chain, chunk_size };
  } catch {
    return undefined;
  }
}
