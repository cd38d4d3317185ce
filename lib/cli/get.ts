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
  defaultMemoryLimit,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  storeOf,
  workersOption,
} from "./common.ts";

export function getCommand(): Command {
  const cmd = new Command("get").description(
    "Write a stream to stdout. Each chunk is checked (size, SHA-256, SHA3-256, chain) before any of its bytes are written.",
  );
  addStoreOptions(cmd);
  addKeyOptions(cmd).option(
    "--download-workers <n>",
    "parallel chunk downloads, or 'auto' (bounded by the memory budget)",
    "auto",
  );
  addOutputOptions(cmd);
  return cmd.action(runGet);
}

async function runGet(o: RawOptions): Promise<void> {
  const log = makeLog(o);
  const layout = layoutOf(o);
  const keys = await keyringOf(o, log);
  const store = await storeOf(o, log);
  // Worker count is settled once the manifest tells the chunk size; start from the option.
  const requested = o.downloadWorkers;
  let workers = 4;
  const outcome = await getStream({
    store,
    layout,
    keys,
    write: (bytes) => writeAll(Deno.stdout, bytes, () => new OutputClosedError()),
    workersFor: (chunkSize) => {
      workers = workersOption(requested, "--download-workers", 2 * chunkSize, defaultMemoryLimit());
      return workers;
    },
    log,
    beforeChunks: archiveCheck(store, layout, o),
  });
  const summary = getSummary({
    manifest: outcome.manifest,
    workers,
    elapsedMs: outcome.elapsedMs,
    warnings: log.warnings,
  }, o.summary as SummaryFormat);
  if (summary) o.summary === "json" ? log.always(summary) : log.info(summary);
}
