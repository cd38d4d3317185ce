/**
 * What one run reports (--metrics-file), as s3duct_* gauges labelled by command, bucket, prefix
 * and stream, merged into what the file already holds: other label sets' samples stay, this
 * label set's are replaced, and a failed run keeps the last success time it finds. Pure.
 */
import {
  type Exposition,
  type Family,
  formatExposition,
  type Labels,
  parseExposition,
  sameLabels,
  sampleLine,
} from "./exposition.ts";

/** The label set a run's samples carry; one file can hold many (one per cron job). */
export interface RunLabels extends Labels {
  /** The command (`put`, `get`, `verify`, `verify-deep`, `delete`, `cleanup`). */
  command: string;
  /** The `--bucket` (or local store directory) given. */
  bucket: string;
  /** The normalised `--prefix`: "" or ending in "/". */
  prefix: string;
  /** The `--name`, or "" for commands run on a whole prefix. */
  stream: string;
}

/** The facts of one finished run. */
export interface RunReport {
  /** Which label set the samples replace. */
  labels: RunLabels;
  /** Unix time, seconds, when the run ended. */
  endedAt: number;
  /** The process's exit code (0: success, which also sets the last success time). */
  exitCode: number;
  /** Wall time from the run's start to its end, in seconds. */
  durationSeconds: number;
  /** Chunk bytes moved: plaintext uploaded or downloaded, or stored bytes deleted. */
  bytes: number;
  /** Chunk objects moved (transferred, or deleted by delete and cleanup). */
  chunks: number;
  /** Store requests retried during the run, throttled ones included. */
  retries: number;
  /** Retries the store asked for by throttling (SlowDown, 429, 503, timeouts). */
  throttleEvents: number;
  /** The most transfer workers at once; undefined for commands without a worker pool. */
  workersPeak?: number;
}

const LAST_SUCCESS = "s3duct_last_success_timestamp_seconds";

/** Our families, in the order written, and how each is read off a report. */
const METRICS: [name: string, help: string, value: (r: RunReport) => number | undefined][] = [
  [
    "s3duct_last_run_timestamp_seconds",
    "Unix time the last run of this command on this stream ended, whatever its outcome.",
    (r) => r.endedAt,
  ],
  [
    LAST_SUCCESS,
    "Unix time the last run that exited 0 ended (0: none recorded yet).",
    () => undefined, // from the run or the file: see mergeReport
  ],
  ["s3duct_last_run_exit_code", "Exit code of the last run (0 = success).", (r) => r.exitCode],
  ["s3duct_last_run_duration_seconds", "Wall time of the last run.", (r) => r.durationSeconds],
  [
    "s3duct_last_run_bytes",
    "Bytes of the chunks the last run moved: plaintext uploaded (put) or downloaded and " +
    "verified (get, verify --deep); stored object bytes removed (delete, cleanup).",
    (r) => r.bytes,
  ],
  ["s3duct_last_run_chunks", "Chunk objects the last run moved.", (r) => r.chunks],
  ["s3duct_last_run_retries", "Store requests the last run retried.", (r) => r.retries],
  [
    "s3duct_last_run_throttle_events",
    "Retries the store asked for by throttling (SlowDown, 429, 503, timeouts).",
    (r) => r.throttleEvents,
  ],
  [
    "s3duct_last_run_workers_peak",
    "Most transfer workers the last run had at once (put, get, verify --deep).",
    (r) => r.workersPeak,
  ],
];

/** Families owned by s3duct: this label set's samples there are ours to replace. */
const OURS = /^s3duct_/;

/**
 * The file's new content: `previous` with this run's label set replaced by `report`.
 * @param previous the file as it was ("" when there was none)
 * @param report this run
 * @returns the new text, and how many unreadable lines of the old text were dropped
 */
export function mergeReport(
  previous: string,
  report: RunReport,
): { text: string; dropped: number } {
  const old = parseExposition(previous);
  const success = report.exitCode === 0 ? report.endedAt : lastSuccess(old, report.labels) ?? 0;
  for (const f of old.families) {
    if (OURS.test(f.name)) {
      f.samples = f.samples.filter((s) => !sameLabels(s.labels, report.labels));
    }
  }
  for (const [name, help, read] of METRICS) {
    const value = name === LAST_SUCCESS ? success : read(report);
    if (value === undefined) continue;
    const family = familyOf(old, name);
    family.help = help;
    family.type = "gauge";
    family.samples.push({
      name,
      labels: report.labels,
      value,
      line: sampleLine(name, { labels: report.labels, value }),
    });
    // Sorted, so the file reads the same whatever order the jobs ran in.
    family.samples.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  }
  return { text: formatExposition(old.families), dropped: old.dropped };
}

/** The last success time the file holds for these labels, if any. */
function lastSuccess(old: Exposition, labels: Labels): number | undefined {
  const f = old.families.find((x) => x.name === LAST_SUCCESS);
  const s = f?.samples.find((x) => x.name === LAST_SUCCESS && sameLabels(x.labels, labels));
  return s && Number.isFinite(s.value) ? s.value : undefined;
}

function familyOf(old: Exposition, name: string): Family {
  let f = old.families.find((x) => x.name === name);
  if (!f) old.families.push(f = { name, samples: [] });
  return f;
}
