/**
 * Replaying an interrupted upload: stdin is read again, and each chunk that was already
 * stored must be the same bytes (checked by size and both hashes). A different chunk is
 * refused, naming it. Input that ends early is refused too with strict resume; without it,
 * the stream is cut at the last chunk that matched (a short final piece becomes the new last
 * chunk), so the manifest stays consistent.
 */
import { ResumeRefused } from "../errors.ts";
import type { DualDigest } from "../crypto/hash.ts";
import { toHex } from "../format/chain.ts";
import type { ChunkRecord } from "../format/chunk_record.ts";
import type { Log } from "../ui/log.ts";

/** How a replay is judged. */
export interface ReplayRules {
  /** The stream name, for messages. */
  name: string;
  /** Refuse stdin that ends inside or before the stored chunks (`--no-strict-resume` clears it). */
  strict: boolean;
  /**
   * The stored chunks are only a guess (rebuilt from the bucket, where they may be another
   * put's, running or dead): stdin that differs or ends early stops the replay instead of
   * being refused, and the rest is uploaded as new chunks.
   */
  lenient: boolean;
  /** Where a replay that stops early or keeps fewer chunks is reported. */
  log: Log;
  /** The resume log, named in a refusal; undefined without one. */
  logPath?: string;
}

/**
 * Judge one re-read chunk against its stored record.
 * @returns "same" when it matches; "tail" when the replay stops here and this chunk is
 *   uploaded as new: stdin ended inside it (without strict resume), or it differs from a
 *   chunk that was only found in the bucket
 * @throws {ResumeRefused} when stdin differs from the interrupted upload
 */
export function judgeReplay(
  e: ChunkRecord,
  chunk: Uint8Array,
  d: DualDigest,
  rules: ReplayRules,
): "same" | "tail" {
  if (chunk.length === e.size && toHex(d.sha256) === e.sha256 && toHex(d.sha3) === e.sha3_256) {
    return "same";
  }
  if (rules.lenient) {
    rules.log.debug(`  stdin differs from the chunk ${e.index} found in the bucket; new from here`);
    return "tail";
  }
  if (!rules.strict && chunk.length < e.size) {
    rules.log.warn(`stdin ended inside stored chunk ${e.index}; it becomes the new last chunk`);
    return "tail";
  }
  throw new ResumeRefused(
    `stdin differs from the interrupted upload of '${rules.name}' at chunk ${e.index}; ` +
      "give the same input, or discard the interrupted upload" +
      (rules.logPath ? `: rm '${rules.logPath}', then s3duct cleanup` : " with: s3duct cleanup"),
  );
}

/**
 * Stdin ended after `read` of the `stored` chunks.
 * @throws {ResumeRefused} with strict resume
 */
export function replayEnded(read: number, stored: number, rules: ReplayRules): void {
  if (rules.lenient) return;
  if (rules.strict) {
    throw new ResumeRefused(
      `stdin ended after ${read} of the ${stored} chunks already stored for ` +
        `'${rules.name}'; give the same input again, or pass --no-strict-resume to ` +
        `store only the ${read} that matched`,
    );
  }
  rules.log.warn(`stdin ended after ${read} of ${stored} stored chunks; keeping those`);
}
