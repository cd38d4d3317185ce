/** `s3duct get`: write a stream to stdout, verified chunk by chunk. */
import { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { getStream } from "../pipeline/get_stream.ts";
import { archiveCheck } from "./restore.ts";
import { requireOpenStdout, writeStdout } from "../ui/stdout.ts";
import { getSummary, type SummaryFormat } from "../ui/summary.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  sizeOption,
  storeOf,
} from "./common.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { addTransferOptions, concurrencyOf, defaultMemoryLimit, limitedStore } from "./transfer.ts";
import type { Concurrency } from "../pipeline/concurrency.ts";
import { Progress, type ProgressMode } from "../ui/progress.ts";
import { addVerifyOptions, guardKeys } from "./auth.ts";
import { addRangeOptions, rangeOf } from "./range_options.ts";

/** The `get` command. */
export function getCommand(): Command {
  const cmd = new Command("get").description(
    "Write a stream to stdout. Each chunk is checked (size, SHA-256, SHA3-256, chain) before any of its bytes are written.",
  );
  addStoreOptions(cmd);
  addVerifyOptions(addKeyOptions(cmd));
  addRangeOptions(cmd, "get");
  addTransferOptions(cmd, "download");
  // s3duct 0.4 downloaded through scratch files; we verify in memory and write stdout in
  // order, so the option is accepted (old command lines keep working) and unused.
  cmd.option("--scratch-dir <dir>", "accepted for s3duct 0.4 command lines; get uses no scratch");
  addOutputOptions(cmd);
  addMetricsOption(cmd);
  return cmd.action(runGet);
}

async function runGet(o: RawOptions): Promise<void> {
  const log = makeLog(o);
  const layout = layoutOf(o);
  const range = rangeOf(o);
  // The stream is the only product: refuse a closed stdout before fetching anything.
  requireOpenStdout();
  const keys = await keyringOf(o, log);
  // The worker policy needs the chunk size, known once the manifest is read.
  let concurrency: Concurrency | undefined;
  const store = limitedStore(
    await storeOf(o, log, () => concurrency?.throttled()),
    o,
  );
  await guardKeys(keys, o, store, log);
  const outcome = await getStream({
    store,
    layout,
    keys,
    // A reader that left is 141 (quiet); a full disk or other write failure is 12.
    write: (bytes) => writeStdout(bytes),
    // In flight: the object and its plaintext (two copies for encrypted streams).
    workersFor: (chunkSize) => (concurrency = downloadWorkers(o, chunkSize)),
    progressFor: (total) =>
      new Progress("get", o.progress as ProgressMode, o.quiet === true, total),
    log,
    beforeChunks: archiveCheck(store, layout, o),
    range,
  });
  const summary = getSummary({
    manifest: outcome.manifest,
    workers: concurrency?.label ?? "-",
    peakWorkers: concurrency?.peak ?? 0,
    elapsedMs: outcome.elapsedMs,
    warnings: log.warnings,
    range: range && outcome.range,
  }, o.summary as SummaryFormat);
  if (summary) o.summary === "json" ? log.always(summary) : log.info(summary);
}

/**
 * The download worker policy for the manifest's chunk size. concurrencyOf's advice for a chunk
 * that does not fit the memory budget names put's --chunk-size; for get, the chunk size is the
 * stream's, so the advice is --memory-limit only.
 */
function downloadWorkers(o: RawOptions, chunkSize: number): Concurrency {
  const perWorker = 2 * chunkSize + 65536;
  const memory = o.memoryLimit === undefined
    ? defaultMemoryLimit()
    : sizeOption(o.memoryLimit, "--memory-limit", 1, Number.MAX_SAFE_INTEGER);
  if (perWorker > memory) {
    throw new UsageError(
      `the chunks of this stream are ${chunkSize} bytes: --memory-limit ${memory} bytes cannot ` +
        `hold one in flight (${perWorker} bytes with its plaintext); raise --memory-limit`,
    );
  }
  return concurrencyOf(o, "download", perWorker);
}
