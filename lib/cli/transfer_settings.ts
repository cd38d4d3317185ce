/**
 * The transfer options parsed once into typed settings: workers (fixed or adaptive), memory
 * budget, bandwidth limit, and put's scratch spill. Pure: what depends on the chunk size (does
 * a chunk fit the memory budget, the spill?) is decided later, in lib/cli/transfer.ts.
 * @module
 */
import { UsageError } from "../errors.ts";
import { intOption, type RawOptions, sizeOption } from "./common.ts";

/**
 * Which way chunks move; it names the worker options (`--upload-workers`, `--download-workers`).
 */
export type Direction = "upload" | "download";

/** --*-workers, --min/--max-*-workers: a fixed count, or adaptive between min and max. */
export type WorkerSettings = { fixed: number } | { fixed?: undefined; min: number; max: number };

/** Workers, --memory-limit and --bandwidth-limit. */
export interface TransferSettings {
  /** How many chunks move at once. */
  workers: WorkerSettings;
  /** --memory-limit in bytes; undefined = a quarter of RAM. */
  memoryLimit?: number;
  /** --bandwidth-limit in bytes/s; undefined = none. */
  bandwidthLimit?: number;
}

/** put's --scratch-dir / --buffer-chunks / --diskspace-limit, as given. */
export interface SpillSettings {
  /** --scratch-dir; undefined = ~/.s3duct/scratch. */
  dir?: string;
  /** --buffer-chunks. */
  bufferChunks?: number;
  /** --diskspace-limit in bytes. */
  diskspaceLimit?: number;
  /** --diskspace-limit and --chunk-size as typed, for the message when they do not fit. */
  asTyped: { diskspaceLimit: string; chunkSize: string };
}

/** Settings for a command that does not take the transfer options (verify --deep). */
export const DEFAULT_TRANSFER: TransferSettings = { workers: { min: 2, max: 16 } };

/**
 * The transfer options for `dir`, checked.
 * @throws {UsageError} naming the option and what it accepts
 */
export function transferSettings(o: RawOptions, dir: Direction): TransferSettings {
  const memoryLimit = o.memoryLimit === undefined
    ? undefined
    : sizeOption(o.memoryLimit, "--memory-limit", 1, Number.MAX_SAFE_INTEGER);
  const bandwidthLimit = o.bandwidthLimit === undefined
    ? undefined
    : sizeOption(o.bandwidthLimit, "--bandwidth-limit", 1024, Number.MAX_SAFE_INTEGER);
  return { workers: workerSettings(o, dir), memoryLimit, bandwidthLimit };
}

function workerSettings(o: RawOptions, dir: Direction): WorkerSettings {
  const Dir = dir[0].toUpperCase() + dir.slice(1);
  const workers = o[`${dir}Workers`];
  const minRaw = o[`min${Dir}Workers`];
  const maxRaw = o[`max${Dir}Workers`];
  if (workers !== undefined && workers !== "auto") {
    if (minRaw !== undefined || maxRaw !== undefined) {
      throw new UsageError(`--min/--max-${dir}-workers only apply with --${dir}-workers auto`);
    }
    return { fixed: intOption(workers, `--${dir}-workers`, 1, 256) };
  }
  const min = minRaw === undefined ? 2 : intOption(minRaw, `--min-${dir}-workers`, 1, 256);
  const max = maxRaw === undefined ? 16 : intOption(maxRaw, `--max-${dir}-workers`, 1, 256);
  if (min > max) throw new UsageError(`--min-${dir}-workers must be <= --max-${dir}-workers`);
  return { min, max };
}

/**
 * The spill asked for, or undefined (none of its options given: chunks wait in memory only).
 * @throws {UsageError} for a bad --diskspace-limit or --buffer-chunks
 */
export function spillSettings(o: RawOptions): SpillSettings | undefined {
  if (
    o.scratchDir === undefined && o.bufferChunks === undefined && o.diskspaceLimit === undefined
  ) {
    return undefined;
  }
  return {
    dir: o.scratchDir === undefined ? undefined : String(o.scratchDir),
    diskspaceLimit: o.diskspaceLimit === undefined
      ? undefined
      : sizeOption(o.diskspaceLimit, "--diskspace-limit", 0, Number.MAX_SAFE_INTEGER),
    bufferChunks: o.bufferChunks === undefined
      ? undefined
      : intOption(o.bufferChunks, "--buffer-chunks", 1, 1_000_000),
    asTyped: { diskspaceLimit: String(o.diskspaceLimit), chunkSize: String(o.chunkSize) },
  };
}
