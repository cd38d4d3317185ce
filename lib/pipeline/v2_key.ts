/**
 * Format 2: telling a wrong key from a forged manifest when the keyed chain does not match.
 * The chain is an HMAC under a subkey of the stream key, so with a plain manifest a wrong key
 * and a rewritten manifest fail the same check. A chunk tells them apart: it opens under the
 * right key (at its index) and under no other. Only the failure path pays for this.
 */
import { IntegrityError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";

/** What a chunk says about the key: it opened, none opened, or no chunk could be read. */
export type KeyVerdict = "right" | "wrong" | "unknown";

/**
 * Try the format 2 chunk cipher on chunk 0, then on the last chunk, at their recorded index and
 * with both values of the "last" flag (a dropped tail changes which chunk is last, not the key).
 * "wrong" only when a chunk was read and nothing opened it; a missing or oversized chunk
 * (IntegrityError from `fetch`) says nothing.
 */
export async function v2KeyVerdict(
  chunks: Cipher,
  manifest: Manifest,
  fetch: (record: ChunkRecord) => Promise<Uint8Array>,
): Promise<KeyVerdict> {
  const n = manifest.chunks.length;
  let verdict: KeyVerdict = "unknown";
  for (const index of n > 1 ? [0, n - 1] : n === 1 ? [0] : []) {
    let sealed: Uint8Array;
    try {
      sealed = await fetch(manifest.chunks[index]);
    } catch (e) {
      if (e instanceof IntegrityError) continue;
      throw e;
    }
    for (const last of [true, false]) {
      if (await chunks.open(sealed, undefined, { index, last })) return "right";
    }
    verdict = "wrong";
  }
  return verdict;
}
