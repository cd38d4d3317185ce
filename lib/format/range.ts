/**
 * Byte ranges of a stream (`get --offset N --length M`): which chunks cover `[N, N+M)` and how
 * much of each to keep. Pure: the get pipeline fetches and verifies whole chunks, then trims
 * them with these numbers.
 */
import { UsageError } from "../errors.ts";
import { withCommas } from "./size.ts";

/** What was asked for; `length` undefined means to the end of the stream. */
export interface RangeRequest {
  /** First stream byte wanted (0 = the start). */
  offset: number;
  /** Most bytes wanted; undefined reads to the end of the stream. */
  length?: number;
}

/** Where a range lies in a stream's chunks. */
export interface RangePlan {
  /** First byte written, as a stream offset. */
  offset: number;
  /** Bytes written: the request's length, cut at the end of the stream. */
  length: number;
  /** Index of the first chunk to fetch. */
  first: number;
  /** One past the last chunk to fetch; `first === end` when nothing is fetched. */
  end: number;
  /** Bytes of chunk `first` before the range (dropped). */
  headSkip: number;
  /** Bytes of chunk `end - 1` up to the range's end (kept). */
  tailKeep: number;
  /** The range is the whole stream: only then can the stream's own hashes be rechecked. */
  whole: boolean;
  /** The request's length ran past the end of the stream and was cut there. */
  clamped: boolean;
}

/**
 * Plan a range over chunks of these sizes (in stream order).
 * @param sizes the plaintext size of each chunk, as the manifest records them
 * @param req the range asked for; undefined is the whole stream
 * @param name the stream, for the error message
 * @returns the chunks to fetch and the trim of the first and last
 * @throws UsageError when the offset lies past the end (it names the stream's size)
 */
export function planRange(
  sizes: readonly number[],
  req: RangeRequest | undefined,
  name: string,
): RangePlan {
  const total = sizes.reduce((a, b) => a + b, 0);
  const offset = req?.offset ?? 0;
  if (offset > total) {
    throw new UsageError(
      `--offset ${withCommas(offset)} is past the end of stream '${name}', which is ` +
        `${withCommas(total)} bytes (offsets 0 to ${withCommas(total)} are valid)`,
    );
  }
  const wanted = req?.length ?? total - offset;
  const length = Math.min(wanted, total - offset);
  const plan: RangePlan = {
    offset,
    length,
    first: 0,
    end: 0,
    headSkip: 0,
    tailKeep: 0,
    whole: offset === 0 && length === total,
    clamped: wanted > length,
  };
  if (length === 0) return plan;
  const stop = offset + length;
  // start of chunk i, walking once: chunks are few (at most 2^20) next to their bytes.
  let start = 0;
  let i = 0;
  while (start + sizes[i] <= offset) start += sizes[i++];
  plan.first = i;
  plan.headSkip = offset - start;
  while (start + sizes[i] < stop) start += sizes[i++];
  plan.end = i + 1;
  plan.tailKeep = stop - start;
  return plan;
}

/**
 * The part of chunk `index` (of `size` bytes) inside the range, as [from, to) within the chunk.
 * @param plan from planRange
 * @param index a chunk index in [plan.first, plan.end)
 * @param size that chunk's size
 * @returns offsets into the chunk's plaintext
 */
export function keptPart(plan: RangePlan, index: number, size: number): [number, number] {
  const from = index === plan.first ? plan.headSkip : 0;
  const to = index === plan.end - 1 ? plan.tailKeep : size;
  return [from, to];
}
