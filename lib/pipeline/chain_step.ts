/** One link of a put's chain, whichever format: callers never branch on v1 vs v2. */
import { chainLink } from "../format/chain.ts";
import { chainLinkV2 } from "../crypto/v2.ts";
import type { DualDigest } from "../crypto/hash.ts";

/** The chain value after chunk `index`, from the value before it (undefined for chunk 0). */
export type ChainStep = (
  previous: Uint8Array | undefined,
  index: number,
  d: DualDigest,
) => Uint8Array;

/**
 * The chain step for a put's format, so the pipeline never branches on it.
 * @param v2 format 2's MAC key and stream id (the keyed chain); absent = format 1 (HMAC chain
 *   s3duct 0.4 reads)
 */
export function chainStep(v2?: { mac: Uint8Array; streamId: Uint8Array }): ChainStep {
  if (!v2) return (p, _i, d) => chainLink(p, d.sha256, d.sha3);
  return (p, i, d) => chainLinkV2(v2.mac, p ?? v2.streamId, i, d.sha256, d.sha3);
}
