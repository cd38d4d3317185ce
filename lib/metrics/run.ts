/**
 * One command run's metrics (--metrics-file). The command's preAction hook starts it; the
 * store's retries and the worker pools feed it as the run goes; main.ts finishes it exactly
 * once with the exit code, after success or failure alike, and so do SIGINT and SIGTERM (130,
 * 143). Only numbers and the four labels are written: never a key, a credential or an option
 * value other than bucket, prefix and name.
 */
import type { Concurrency } from "../pipeline/concurrency.ts";
import { writeStderr } from "../ui/log.ts";
import { escapeForTerminal } from "../ui/escape.ts";
import { updateFile } from "./file.ts";
import { mergeReport, type RunLabels, type RunReport } from "./report.ts";

/** A run under way: what it has moved and retried so far. */
export class Run {
  /** The `--metrics-file` path the report is merged into. */
  readonly file: string;
  /** The label set this run's samples carry. */
  readonly labels: RunLabels;
  readonly #started = performance.now();
  readonly #pools: Concurrency[] = [];
  #retries = 0;
  #throttles = 0;
  #bytes = 0;
  #chunks = 0;

  /**
   * A run starting now (its duration counts from here); {@linkcode startRun} makes the active one.
   */
  constructor(file: string, labels: RunLabels) {
    this.file = file;
    this.labels = labels;
  }

  /** A worker pool of this run: its completed transfers and peak count are reported. */
  watch(pool: Concurrency): void {
    this.#pools.push(pool);
  }

  /** The store retried a request; `throttle` when it had asked us to slow down. */
  retried(throttle: boolean): void {
    this.#retries++;
    if (throttle) this.#throttles++;
  }

  /** Chunks moved outside a worker pool (delete and cleanup removing them). */
  moved(bytes: number, chunks: number): void {
    this.#bytes += bytes;
    this.#chunks += chunks;
  }

  /**
   * The run's facts as it ends.
   * @param exitCode what the process exits with
   * @param now Unix time in ms (tests)
   */
  report(exitCode: number, now = Date.now()): RunReport {
    const pools = this.#pools;
    return {
      labels: this.labels,
      endedAt: now / 1000,
      exitCode,
      durationSeconds: (performance.now() - this.#started) / 1000,
      bytes: this.#bytes + pools.reduce((t, p) => t + p.done.bytes, 0),
      chunks: this.#chunks + pools.reduce((t, p) => t + p.done.transfers, 0),
      retries: this.#retries,
      throttleEvents: this.#throttles,
      workersPeak: pools.length ? Math.max(...pools.map((p) => p.peak)) : undefined,
    };
  }
}

let active: Run | undefined;
const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
const traps = new Map<Deno.Signal, () => void>();

/**
 * Start reporting this run to `file`; main.ts's finishRun writes it.
 * @param file the --metrics-file path
 * @param labels command, bucket, prefix and stream
 */
export function startRun(file: string, labels: RunLabels): Run {
  active = new Run(file, labels);
  trapSignals();
  return active;
}

/** The run being reported, if --metrics-file was given. */
export function activeRun(): Run | undefined {
  return active;
}

/**
 * Write the run's metrics, once (later calls do nothing).
 * @param exitCode the process's exit code
 * @returns warnings for stderr (a metrics file that cannot be written does not change the
 *   exit code: the run's outcome is what the code reports, and a stale file shows as stale)
 */
export function finishRun(exitCode: number): string[] {
  const run = active;
  active = undefined;
  untrapSignals();
  if (!run) return [];
  let dropped = 0;
  try {
    updateFile(run.file, (old) => {
      const merged = mergeReport(old, run.report(exitCode));
      dropped = merged.dropped;
      return merged.text;
    });
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    return [`--metrics-file '${run.file}' was not written: ${why}`];
  }
  return dropped
    ? [`--metrics-file '${run.file}': dropped ${dropped} lines that were not exposition format`]
    : [];
}

/**
 * Interrupted or terminated (a cron timeout): report 130/143 before going. Listeners added
 * later (the spill's clean-up) still run after this one in the same dispatch; the exit is a
 * task away so they get to.
 */
function trapSignals(): void {
  if (Deno.build.os === "windows" || traps.size) return;
  for (const [sig, code] of Object.entries(SIGNALS)) {
    const f = () => {
      for (const w of finishRun(code)) writeStderr(`warning: ${escapeForTerminal(w)}`);
      setTimeout(() => Deno.exit(code), 0);
    };
    Deno.addSignalListener(sig as Deno.Signal, f);
    traps.set(sig as Deno.Signal, f);
  }
}

function untrapSignals(): void {
  for (const [sig, f] of traps) Deno.removeSignalListener(sig, f);
  traps.clear();
}
