/**
 * The checks `get` makes before bytes reach the output: each chunk against its record, and at
 * the end the chain and the stream hashes against the manifest. Pure: they throw or return.
 */
import { IntegrityError } from "../errors.ts";
import type { DualDigest } from "../crypto/hash.ts";
import { toHex } from "../format/chain.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";

/**
 * Accepts an opened chunk only if its size and both digests are its record's.
 * @param name the stream, for the message
 * @throws {IntegrityError} naming the chunk and every field that differs
 */
export function verifyChunk(
  record: ChunkRecord,
  plain: Uint8Array,
  d: DualDigest,
  name: string,
): void {
  const problems: string[] = [];
  if (plain.length !== record.size) problems.push(`size ${plain.length} != ${record.size}`);
  if (toHex(d.sha256) !== record.sha256) problems.push("SHA-256 differs");
  if (toHex(d.sha3) !== record.sha3_256) problems.push("SHA3-256 differs");
  if (problems.length) {
    throw new IntegrityError(
      `chunk ${record.index} of '${name}' is corrupt: ${problems.join(", ")}`,
    );
  }
}

/**
 * Accepts a whole stream only if the chain after its last chunk is the manifest's
 * `final_chain`, then only if its SHA-256 (and SHA3-256, when computed) are the manifest's.
 * @param chain the chain value after the last chunk; undefined for an empty stream
 * @param whole the stream's SHA-256, or both its digests
 * @throws {IntegrityError} the final chain differs, else a stream hash differs
 */
export function verifyTotals(
  manifest: Manifest,
  chain: Uint8Array | undefined,
  whole: Uint8Array | DualDigest,
  name: string,
): void {
  if ((chain ? toHex(chain) : "") !== manifest.final_chain) {
    throw new IntegrityError(`final chain of '${name}' does not match the manifest`);
  }
  const [sha256, sha3] = whole instanceof Uint8Array ? [whole] : [whole.sha256, whole.sha3];
  if (
    toHex(sha256) !== manifest.stream_sha256 ||
    (sha3 && toHex(sha3) !== manifest.stream_sha3_256)
  ) {
    throw new IntegrityError(
      `stream hash of '${name}' does not match the manifest (manifest inconsistent)`,
    );
  }
}
