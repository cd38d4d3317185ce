/** What a finished `put` reports on stderr besides its summary. */
import { withCommas } from "../format/size.ts";
import { storedSize } from "../pipeline/compress_step.ts";
import type { PutOutcome } from "../pipeline/put_stream.ts";
import type { Log } from "../ui/log.ts";
import type { PutSettings } from "./put_settings.ts";

/**
 * What the user should hear about a finished put besides the summary: a stream shorter than
 * expected, compression, spill, re-uploads and removed chunks.
 */
export function reportPut(
  outcome: PutOutcome,
  s: PutSettings,
  log: Log,
  stdinFile?: number,
): void {
  warnShort(outcome.manifest.total_bytes, s.expectedSize, stdinFile, log);
  noteOutcome(outcome, log);
}

/** The stream ended short of --expected-size, or of the regular file on stdin. */
function warnShort(
  total: number,
  expected: number | undefined,
  stdinFile: number | undefined,
  log: Log,
): void {
  if (expected !== undefined && total < expected) {
    log.warn(
      `--expected-size was ${withCommas(expected)} bytes but the stream ended at ` +
        `${withCommas(total)} bytes (short by ${withCommas(expected - total)}); ` +
        "it may be truncated",
    );
  }
  if (stdinFile !== undefined && stdinFile !== total) {
    log.warn(
      `stdin is a regular file of ${withCommas(stdinFile)} bytes but ${withCommas(total)} were ` +
        "stored; the file may have changed during the upload",
    );
  }
}

/** Notes on what the put did: empty input, compression, spill, re-uploads, removals. */
function noteOutcome(outcome: PutOutcome, log: Log): void {
  const m = outcome.manifest;
  const total = m.total_bytes;
  if (m.chunk_count === 0) log.info(`note: stdin was empty; stored an empty stream`);
  if (m.compression) {
    const stored = m.chunks.reduce((t, r) => t + storedSize(r), 0);
    const packed = m.chunks.filter((r) => r.stored_size !== undefined).length;
    log.info(
      `${m.compression}: ${packed} of ${m.chunk_count} chunks compressed (the others stored as ` +
        `they are); ${withCommas(total)} bytes stored as ${withCommas(stored)} before sealing`,
    );
  }
  if (outcome.chunksSpilled > 0) {
    log.info(`${outcome.chunksSpilled} chunks waited in the scratch spill while uploads were busy`);
  }
  const { missing, differs } = outcome.reuploaded;
  if (missing + differs > 0) {
    log.info(
      `uploaded ${missing + differs} logged chunks again: ${missing} missing from the store, ` +
        `${differs} changed there since they were logged`,
    );
  }
  if (outcome.orphansDeleted > 0) {
    log.info(
      outcome.replaced
        ? `replaced the old stream; removed ${outcome.orphansDeleted} chunks it no longer uses`
        : `removed ${outcome.orphansDeleted} chunks left by interrupted uploads of this stream`,
    );
  }
  log.debug(
    `publish check: ${outcome.manifest.chunk_count} chunks confirmed by ` +
      `${outcome.publishCheck.listRequests} listing pages in ` +
      `${(outcome.publishCheck.elapsedMs / 1000).toFixed(2)} s`,
  );
}
