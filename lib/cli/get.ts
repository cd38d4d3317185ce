/** `s3duct get`: write a stream to stdout, verified chunk by chunk. */
import { Command } from "commander";
import { OutputClosedError } from "../errors.ts";
import { getStream } from "../pipeline/get_stream.ts";
import { archiveCheck } from "./restore.ts";
import { writeAll } from "../pipeline/source.ts";
import { getSummary, type SummaryFormat } from "../ui/summary.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  storeOf,
} from "./common.ts";
import { addTransferOptions, concurrencyOf, isThrottle, limitedStore } from "./transfer.ts";
import type { Concurrency } from "../pipeline/concurrency.ts";
import { Progress, type ProgressMode } from "../ui/progress.ts";
import { addVerifyOptions, guardKeys } from "./auth.ts";

export function getCommand(): Command {
  const cmd = new Command("get").description(
    "Write a stream to stdout. Each chunk is checked (size, SHA-256, SHA3-256, chain) before any of its bytes are written.",
  );
  addStoreOptions(cmd);
  addVerifyOptions(addKeyOptions(cmd));
  addTransferOptions(cmd, "download");
  // s3duct 0.4 downloaded through scratch files; we verify in memory and write stdout in
  // order, so the option is accepted (old command lines keep working) and unused.
  cmd.option("--scratch-dir <dir>", "accepted for s3duct 0.4 command lines; get uses no scratch");
  addOutputOptions(cmd);
  return cmd.action(runGet);
}

async function runGet(o: RawOptions): Promise<void> {
  const log = makeLog(o);
  const layout = layoutOf(o);
  const keys = await keyringOf(o, log);
  // The worker policy needs the chunk size, known once the manifest is read.
  let concurrency: Concurrency | undefined;
  const store = limitedStore(
    await storeOf(o, log, (msg, code) => isThrottle(msg, code) && concurrency?.throttled()),
    o,
  );
  await guardKeys(keys, o, store, log);
  const outcome = await getStream({
    store,
    layout,
    keys,
    write: (bytes) => writeAll(Deno.stdout, bytes, () => new OutputClosedError()),
    // In flight: the object and its plaintext (two copies for encrypted streams).
    workersFor: (chunkSize) => (concurrency = concurrencyOf(o, "download", 2 * chunkSize + 65536)),
    progressFor: (total) =>
      new Progress("get", o.progress as ProgressMode, o.quiet === true, total),
    log,
    beforeChunks: archiveCheck(store, layout, o),
  });
  const summary = getSummary({
    manifest: outcome.manifest,
    workers: concurrency?.label ?? "-",
    peakWorkers: concurrency?.peak ?? 0,
    elapsedMs: outcome.elapsedMs,
    warnings: log.warnings,
  }, o.summary as SummaryFormat);
  if (summary) o.summary === "json" ? log.always(summary) : log.info(summary);
}
