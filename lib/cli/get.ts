/** `s3duct get`: write a stream to stdout, verified chunk by chunk. */
import { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { getStream } from "../pipeline/get_stream.ts";
import { archiveCheck } from "./archive_check.ts";
import { requireOpenStdout, writeStdout } from "../ui/stdout.ts";
import { getSummary } from "../ui/summary.ts";
import { addKeyOptions, addOutputOptions, addStoreOptions, type RawOptions } from "./common.ts";
import { getSettings } from "./command_settings.ts";
import { commandContext } from "./context.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { addTransferOptions, concurrencyOf, defaultMemoryLimit } from "./transfer.ts";
import type { TransferSettings } from "./transfer_settings.ts";
import type { Concurrency } from "../pipeline/concurrency.ts";
import { Progress } from "../ui/progress.ts";
import { chunkMemory } from "../buffer_pool.ts";
import { addVerifyOptions } from "./auth.ts";
import { addRangeOptions } from "./range_options.ts";

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
  const s = getSettings(o);
  // The stream is the only product: refuse a closed stdout before fetching anything.
  requireOpenStdout();
  // The worker policy needs the chunk size, known once the manifest is read.
  let concurrency: Concurrency | undefined;
  const { log, layout, keys, store } = await commandContext(
    { ...s, bandwidthLimit: s.transfer.bandwidthLimit },
    { onThrottle: () => concurrency?.throttled() },
  );
  const outcome = await getStream({
    store,
    layout,
    keys,
    // A reader that left is 141 (quiet); a full disk or other write failure is 12.
    write: (bytes) => writeStdout(bytes),
    // In flight: the object and its plaintext (two copies for encrypted streams).
    workersFor: (chunkSize) => (concurrency = downloadWorkers(s.transfer, chunkSize)),
    progressFor: (total) => new Progress("get", s.output.progress, s.output.quiet, total),
    log,
    beforeChunks: archiveCheck(store, layout, s),
    range: s.range,
  });
  const summary = getSummary({
    manifest: outcome.manifest,
    workers: concurrency?.label ?? "-",
    peakWorkers: concurrency?.peak ?? 0,
    elapsedMs: outcome.elapsedMs,
    warnings: log.warnings,
    range: s.range && outcome.range,
  }, s.output.summary);
  if (summary) s.output.summary === "json" ? log.always(summary) : log.info(summary);
}

/**
 * The download worker policy for the manifest's chunk size. concurrencyOf's advice for a chunk
 * that does not fit the memory budget names put's --chunk-size; for get, the chunk size is the
 * stream's, so the advice is --memory-limit only.
 */
function downloadWorkers(t: TransferSettings, chunkSize: number): Concurrency {
  const perWorker = chunkMemory(chunkSize, 2);
  const memory = t.memoryLimit ?? defaultMemoryLimit();
  if (perWorker > memory) {
    throw new UsageError(
      `the chunks of this stream are ${chunkSize} bytes: --memory-limit ${memory} bytes cannot ` +
        `hold one in flight (${perWorker} bytes with its plaintext); raise --memory-limit`,
    );
  }
  return concurrencyOf(t, "download", perWorker);
}
