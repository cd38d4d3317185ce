/**
 * Options that shape transfers: workers (fixed or adaptive), memory budget, bandwidth; the flags
 * here, their parsing in transfer_settings.ts, and what follows once the chunk size is known.
 */
import type { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { Bandwidth } from "../store/bandwidth.ts";
import { Concurrency } from "../pipeline/concurrency.ts";
import { limitBandwidth } from "../store/limited_store.ts";
import type { Store } from "../store/store.ts";
import type { SpillLimits } from "../pipeline/spill.ts";
import type { Direction, SpillSettings, TransferSettings } from "./transfer_settings.ts";
import { activeRun } from "../metrics/run.ts";

export type { Direction } from "./transfer_settings.ts";

/** Workers (fixed or adaptive), memory budget and bandwidth limit options, named for `dir`. */
export function addTransferOptions(cmd: Command, dir: Direction): Command {
  return cmd
    .option(
      `--${dir}-workers <n>`,
      `parallel chunk ${dir}s: a number, or 'auto' (adaptive)`,
      "auto",
    )
    .option(`--min-${dir}-workers <n>`, "with auto: the fewest workers (default 2)")
    .option(
      `--max-${dir}-workers <n>`,
      "with auto: the most workers (default 16, or what --memory-limit allows)",
    )
    .option("--memory-limit <size>", "memory for chunks in flight (default: a quarter of RAM)")
    .option(
      "--bandwidth-limit <size>",
      "total transfer rate limit in bytes/s, e.g. 20M (all workers together)",
    );
}

/** put's scratch spill: chunks wait on disk while every upload worker is busy. */
export function addSpillOptions(cmd: Command): Command {
  return cmd
    .option(
      "--scratch-dir <dir>",
      "spill sealed chunks here (a private subfolder, removed at exit) while uploads are busy, " +
        "so stdin keeps flowing; default ~/.s3duct/scratch once --buffer-chunks or " +
        "--diskspace-limit asks for spilling",
    )
    .option("--buffer-chunks <n>", "with spilling: most chunks waiting on disk (default 8)")
    .option(
      "--diskspace-limit <size>",
      "with spilling: most bytes waiting on disk (default --buffer-chunks chunks)",
    );
}

/**
 * The spill limits for `spill` (put's parsed spill options), or undefined (none given: chunks
 * wait in memory only). `span` is the most one chunk object takes.
 * @throws {UsageError} when --diskspace-limit cannot hold one chunk
 */
export function spillOf(
  spill: SpillSettings | undefined,
  span: number,
  home: string | undefined,
): SpillLimits | undefined {
  if (spill === undefined) return undefined;
  const dir = spill.dir ?? `${home ?? "/var/tmp"}/.s3duct/scratch`;
  const limit = spill.diskspaceLimit;
  if (limit !== undefined && limit < span) {
    throw new UsageError(
      `--diskspace-limit (${spill.asTyped.diskspaceLimit}) must be >= --chunk-size ` +
        `(${spill.asTyped.chunkSize}) plus sealing overhead (${span} bytes in all)`,
    );
  }
  const chunks = spill.bufferChunks ?? (limit === undefined ? 8 : Math.floor(limit / span));
  return { dir, maxChunks: chunks, maxBytes: limit ?? chunks * span };
}

/** Default memory budget: a quarter of RAM, at least 256 MiB. */
export function defaultMemoryLimit(): number {
  const total = Deno.systemMemoryInfo().total;
  return Math.max(256 * 1024 ** 2, Math.floor(total / 4));
}

/**
 * The worker policy for chunks of `perWorkerBytes` each (the memory one in-flight chunk
 * holds). The memory budget caps both fixed and adaptive counts.
 * @throws {UsageError} when the memory budget cannot hold the chunks asked for
 */
export function concurrencyOf(
  t: TransferSettings,
  dir: Direction,
  perWorkerBytes: number,
): Concurrency {
  const memory = t.memoryLimit ?? defaultMemoryLimit();
  const fit = Math.floor(memory / perWorkerBytes);
  if (fit < 1) {
    throw new UsageError(
      `--memory-limit ${memory} bytes cannot hold one ${perWorkerBytes}-byte chunk in flight; ` +
        "raise --memory-limit or lower --chunk-size",
    );
  }
  const w = t.workers;
  if (w.fixed !== undefined) {
    const n = w.fixed;
    if (n > fit) {
      throw new UsageError(
        `--${dir}-workers ${n} needs ${n * perWorkerBytes} bytes in flight, over --memory-limit ` +
          `${memory}; use at most ${fit}, or raise --memory-limit`,
      );
    }
    return watched(new Concurrency({ fixed: n, min: n, max: n }));
  }
  return watched(new Concurrency({ min: Math.min(w.min, fit), max: Math.min(w.max, fit) }));
}

/** The run's metrics (--metrics-file) read workers and chunks moved from every pool. */
function watched(c: Concurrency): Concurrency {
  activeRun()?.watch(c);
  return c;
}

/** Wrap the store with the shared bandwidth limit (bytes/s), if one was asked for. */
export function limitedStore(store: Store, bandwidthLimit: number | undefined): Store {
  if (bandwidthLimit === undefined) return store;
  return limitBandwidth(store, new Bandwidth(bandwidthLimit));
}
