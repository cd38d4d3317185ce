/**
 * `--offset` / `--length` for get, verify --deep and restore: a byte range of the stream. The
 * values are parsed before any request; whether the offset fits is known only once the
 * manifest is read (lib/format/range.ts).
 */
import type { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import type { RangePlan, RangeRequest } from "../format/range.ts";
import { withCommas } from "../format/size.ts";
import { type RawOptions, sizeOption } from "./common.ts";

/** What the range does for each command, for --help. */
export const VERBS = {
  get: "write",
  verify: "check (with --deep)",
  restore: "thaw the chunks of",
} as const;

/**
 * Add --offset and --length.
 * @param cmd the command
 * @param which whose help text to use
 * @returns the command
 */
export function addRangeOptions(cmd: Command, which: keyof typeof VERBS): Command {
  const verb = VERBS[which];
  return cmd.option(
    "--offset <size>",
    `${verb} the stream from this byte on (bytes or 64M, 1.5G...; 0 = the start); only the ` +
      "chunks covering the range are fetched, each verified whole first" +
      (which === "get" ? ". Resume a broken restore: --offset $(stat -c %s part) >> part" : ""),
  ).option(
    "--length <size>",
    `${verb} at most this many bytes (default: to the end of the stream)`,
  );
}

/**
 * The range asked for, or undefined for the whole stream.
 * @param o raw options
 * @returns offset and optional length, in bytes
 * @throws UsageError for a value that is not a size
 */
export function rangeOf(o: RawOptions): RangeRequest | undefined {
  if (o.offset === undefined && o.length === undefined) return undefined;
  const max = Number.MAX_SAFE_INTEGER;
  return {
    offset: o.offset === undefined ? 0 : sizeOption(o.offset, "--offset", 0, max),
    length: o.length === undefined ? undefined : sizeOption(o.length, "--length", 0, max),
  };
}

/** UsageError if --offset/--length were given to a command run that does not take them. */
export function refuseRange(o: RawOptions, why: string): void {
  if (o.offset !== undefined || o.length !== undefined) {
    throw new UsageError(`--offset/--length ${why}`);
  }
}

/**
 * `bytes 1,024-2,047 (1,024 bytes, chunks 1-1 of 4)`, for messages.
 * @param plan the planned range
 * @param chunkCount chunks in the stream
 */
export function describeRange(plan: RangePlan, chunkCount: number): string {
  const chunks = plan.end > plan.first
    ? `chunks ${plan.first}-${plan.end - 1} of ${chunkCount}`
    : `no chunk of ${chunkCount}`;
  if (plan.length === 0) return `no bytes at offset ${withCommas(plan.offset)} (${chunks})`;
  return `bytes ${withCommas(plan.offset)}-${withCommas(plan.offset + plan.length - 1)} ` +
    `(${withCommas(plan.length)} bytes, ${chunks})`;
}
