/** Options that shape transfers: workers (fixed or adaptive), memory budget, bandwidth. */
import type { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { Bandwidth } from "../store/bandwidth.ts";
import { Concurrency } from "../pipeline/concurrency.ts";
import { limitBandwidth } from "../store/limited_store.ts";
import type { Store } from "../store/store.ts";
import type { SpillLimits } from "../pipeline/spill.ts";
import { intOption, type RawOptions, sizeOption } from "./common.ts";
import { activeRun } from "../metrics/run.ts";

/**
 * Which way chunks move; it names the worker options (`--upload-workers`, `--download-workers`).
 */
export type Direction = "upload" | "download";

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
 * The spill asked for by --scratch-dir / --buffer-chunks / --diskspace-limit, or undefined
 * (none given: chunks wait in memory only). `span` is the most one chunk object takes.
 */
export function spillOf(
  o: RawOptions,
  span: number,
  home: string | undefined,
): SpillLimits | undefined {
  if (
    o.scratchDir === undefined && o.bufferChunks === undefined && o.diskspaceLimit === undefined
  ) {
    return undefined;
  }
  const dir = o.scratchDir === undefined
    ? `${home ?? "/var/tmp"}/.s3duct/scratch`
    : String(o.scratchDir);
  const limit = o.diskspaceLimit === undefined
    ? undefined
    : sizeOption(o.diskspaceLimit, "--diskspace-limit", 0, Number.MAX_SAFE_INTEGER);
  if (limit !== undefined && limit < span) {
    throw new UsageError(
      `--diskspace-limit (${o.diskspaceLimit}) must be >= --chunk-size (${o.chunkSize}) ` +
        `plus sealing overhead (${span} bytes in all)`,
    );
  }
  const chunks = o.bufferChunks === undefined
    ? (limit === undefined ? 8 : Math.floor(limit / span))
    : intOption(o.bufferChunks, "--buffer-chunks", 1, 1_000_000);
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
 */
export function concurrencyOf(o: RawOptions, dir: Direction, perWorkerBytes: number): Concurrency {
  const cap = (k: string) => o[k];
  const memory = cap("memoryLimit") === undefined
    ? defaultMemoryLimit()
    : sizeOption(cap("memoryLimit"), "--memory-limit", 1, Number.MAX_SAFE_INTEGER);
  const fit = Math.floor(memory / perWorkerBytes);
  if (fit < 1) {
    throw new UsageError(
      `--memory-limit ${memory} bytes cannot hold one ${perWorkerBytes}-byte chunk in flight; ` +
        "raise --memory-limit or lower --chunk-size",
    );
  }
  const Dir = dir[0].toUpperCase() + dir.slice(1);
  const workers = cap(`${dir}Workers`);
  const minRaw = cap(`min${Dir}Workers`);
  const maxRaw = cap(`max${Dir}Workers`);
  if (workers !== undefined && workers !== "auto") {
    if (minRaw !== undefined || maxRaw !== undefined) {
      throw new UsageError(`--min/--max-${dir}-workers only apply with --${dir}-workers auto`);
    }
    const n = intOption(workers, `--${dir}-workers`, 1, 256);
    if (n > fit) {
      throw new UsageError(
        `--${dir}-workers ${n} needs ${n * perWorkerBytes} bytes in flight, over --memory-limit ` +
          `${memory}; use at most ${fit}, or raise --memory-limit`,
      );
    }
    return watched(new Concurrency({ fixed: n, min: n, max: n }));
  }
  const min = minRaw === undefined ? 2 : intOption(minRaw, `--min-${dir}-workers`, 1, 256);
  const max = maxRaw === undefined ? 16 : intOption(maxRaw, `--max-${dir}-workers`, 1, 256);
  if (min > max) throw new UsageError(`--min-${dir}-workers must be <= --max-${dir}-workers`);
  return watched(new Concurrency({ min: Math.min(min, fit), max: Math.min(max, fit) }));
}

/** The run's metrics (--metrics-file) read workers and chunks moved from every pool. */
function watched(c: Concurrency): Concurrency {
  activeRun()?.watch(c);
  return c;
}

/** Wrap the store with the shared bandwidth limit, if one was asked for. */
export function limitedStore(store: Store, o: RawOptions): Store {
  if (o.bandwidthLimit === undefined) return store;
  const rate = sizeOption(o.bandwidthLimit, "--bandwidth-limit", 1024, Number.MAX_SAFE_INTEGER);
  return limitBandwidth(store, new Bandwidth(rate));
}
