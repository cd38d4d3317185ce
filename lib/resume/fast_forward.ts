/** Fast-forward over the chunks an interrupted upload already stored. */
import { buffers } from "../buffer_pool.ts";
import { dualDigest, type DualHasher } from "../crypto/hash.ts";
import { toHex } from "../format/chain.ts";
import type { Log } from "../ui/log.ts";
import { ResumeRefused } from "./resume.ts";
import type { ResumeEntry } from "./resume_log.ts";

/**
 * Re-read stdin for the chunks already stored and check each against its record: the same
 * input must be given again. A different chunk is refused (naming it). Input that ends early
 * is refused too with strict resume; without it, the stream is cut at the last chunk that
 * matched (a short final piece becomes the new last chunk), so the manifest stays consistent.
 */
export async function fastForward(
  entries: ResumeEntry[],
  source: AsyncGenerator<Uint8Array>,
  streamHash: DualHasher,
  opts: { name: string; strict: boolean; log: Log },
): Promise<{ kept: ResumeEntry[]; pending?: Uint8Array }> {
  const kept: ResumeEntry[] = [];
  const strict = opts.strict;
  for (const e of entries) {
    const next = await source.next();
    if (next.done) {
      if (strict) {
        throw new ResumeRefused(
          `stdin ended after ${kept.length} of the ${entries.length} chunks already stored for ` +
            `'${opts.name}'; give the same input again, or pass --no-strict-resume to ` +
            `store only the ${kept.length} that matched`,
        );
      }
      opts.log.warn(
        `stdin ended after ${kept.length} of ${entries.length} stored chunks; keeping those`,
      );
      return { kept };
    }
    const chunk = next.value;
    const d = await dualDigest(chunk);
    const same = chunk.length === e.size && toHex(d.sha256) === e.sha256 &&
      toHex(d.sha3) === e.sha3_256;
    if (!same) {
      if (!strict && chunk.length < e.size) {
        opts.log.warn(`stdin ended inside stored chunk ${e.chunk}; it becomes the new last chunk`);
        return { kept, pending: chunk };
      }
      throw new ResumeRefused(
        `stdin differs from the interrupted upload of '${opts.name}' at chunk ${e.chunk}; ` +
          "give the same input, or discard the interrupted upload with: s3duct cleanup",
      );
    }
    await streamHash.update(chunk);
    buffers.give(chunk);
    kept.push(e);
  }
  return { kept };
}
