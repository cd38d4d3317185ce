/**
 * --metrics-file output, read back with a real Prometheus text-format parser from npm (not a
 * regex): escaping, merging several jobs into one file, last success kept across a failure,
 * the atomic replace and its lock, one report per run.
 */
import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { escapeLabelValue, parseExposition } from "../../lib/metrics/exposition.ts";
import { mergeReport, type RunLabels, type RunReport } from "../../lib/metrics/report.ts";
import { updateFile } from "../../lib/metrics/file.ts";
import { finishRun, startRun } from "../../lib/metrics/run.ts";
import { Concurrency } from "../../lib/pipeline/concurrency.ts";

interface Parsed {
  name: string;
  help: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

const parse = (text: string) => parsePrometheus(text) as Parsed[];

function labels(stream: string, command = "put"): RunLabels {
  return { command, bucket: "b", prefix: "backups/", stream };
}

function report(l: RunLabels, more: Partial<RunReport> = {}): RunReport {
  return {
    labels: l,
    endedAt: 1_800_000_000.25,
    exitCode: 0,
    durationSeconds: 12.5,
    bytes: 1_048_576,
    chunks: 16,
    retries: 3,
    throttleEvents: 1,
    workersPeak: 6,
    ...more,
  };
}

/** The value of family `name` for this label set, as the npm parser reads it. */
function valueOf(text: string, name: string, l: RunLabels): number | undefined {
  const family = parse(text).find((f) => f.name === name);
  const m = family?.metrics.find((x) =>
    JSON.stringify(Object.entries(x.labels ?? {}).sort()) ===
      JSON.stringify(Object.entries(l).sort())
  );
  return m === undefined ? undefined : Number(m.value);
}

Deno.test("metrics: a first run writes every family as a gauge with HELP", () => {
  const l = labels("db/nightly");
  const { text } = mergeReport("", report(l));
  const families = parse(text);
  assert.deepEqual(families.map((f) => f.name), [
    "s3duct_last_run_timestamp_seconds",
    "s3duct_last_success_timestamp_seconds",
    "s3duct_last_run_exit_code",
    "s3duct_last_run_duration_seconds",
    "s3duct_last_run_bytes",
    "s3duct_last_run_chunks",
    "s3duct_last_run_retries",
    "s3duct_last_run_throttle_events",
    "s3duct_last_run_workers_peak",
  ]);
  for (const f of families) {
    assert.equal(f.type, "GAUGE", f.name);
    assert.ok(f.help.length > 10, f.name);
    assert.deepEqual(f.metrics[0].labels, l);
  }
  assert.equal(valueOf(text, "s3duct_last_run_timestamp_seconds", l), 1_800_000_000.25);
  assert.equal(valueOf(text, "s3duct_last_success_timestamp_seconds", l), 1_800_000_000.25);
  assert.equal(valueOf(text, "s3duct_last_run_bytes", l), 1_048_576);
  assert.equal(valueOf(text, "s3duct_last_run_duration_seconds", l), 12.5);
  assert.equal(valueOf(text, "s3duct_last_run_workers_peak", l), 6);
  assert.ok(text.endsWith("\n"), "the last line is ended (the textfile collector wants it)");
  assert.doesNotMatch(text, /\} \S+ \d+$/m, "no timestamps (the collector refuses them)");
});

Deno.test("metrics: label values with quotes, backslashes, newlines and Unicode survive", () => {
  const odd = 'we"ird\\name\nline two, {x="y"} ünï 😀';
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const l = { command: "get", bucket: "b-1", prefix: 'p\\"/', stream: odd };
  const { text } = mergeReport("", report(l));
  assert.equal(text.split("\n").filter((x) => x.includes("ünï")).length, 9, "one line each");
  assert.equal(valueOf(text, "s3duct_last_run_chunks", l), 16);
  // And our own reader (used to merge) reads back exactly what the npm parser reads.
  const ours = parseExposition(text).families[0].samples[0].labels;
  assert.deepEqual(ours, l);
});

Deno.test("metrics: other jobs' samples are kept; this job's are replaced, not added", () => {
  const a = labels("a");
  const b = labels("b");
  const delB = labels("b", "delete");
  let text = mergeReport("", report(a, { bytes: 1 })).text;
  text = mergeReport(text, report(b, { bytes: 2 })).text;
  text = mergeReport(text, report(delB, { bytes: 3, workersPeak: undefined })).text;
  text = mergeReport(text, report(a, { bytes: 4 })).text;
  const bytes = parse(text).find((f) => f.name === "s3duct_last_run_bytes")!;
  assert.equal(bytes.metrics.length, 3, "one sample per label set");
  assert.equal(valueOf(text, "s3duct_last_run_bytes", a), 4);
  assert.equal(valueOf(text, "s3duct_last_run_bytes", b), 2);
  assert.equal(valueOf(text, "s3duct_last_run_bytes", delB), 3);
  // delete has no worker pool: no workers sample for it, and the file's other ones stay.
  assert.equal(valueOf(text, "s3duct_last_run_workers_peak", delB), undefined);
  assert.equal(valueOf(text, "s3duct_last_run_workers_peak", b), 6);
  // Each family appears once, with one HELP and one TYPE.
  assert.equal(text.match(/^# TYPE s3duct_last_run_bytes /gm)?.length, 1);
});

Deno.test("metrics: a failed run keeps the last success time; never succeeded is 0", () => {
  const l = labels("db");
  const ok = mergeReport("", report(l, { endedAt: 1000 })).text;
  const failed = mergeReport(ok, report(l, { endedAt: 2000, exitCode: 4 })).text;
  assert.equal(valueOf(failed, "s3duct_last_run_timestamp_seconds", l), 2000);
  assert.equal(valueOf(failed, "s3duct_last_success_timestamp_seconds", l), 1000);
  assert.equal(valueOf(failed, "s3duct_last_run_exit_code", l), 4);
  const again = mergeReport(failed, report(l, { endedAt: 3000, exitCode: 7 })).text;
  assert.equal(valueOf(again, "s3duct_last_success_timestamp_seconds", l), 1000);
  const other = labels("never");
  const never = mergeReport(again, report(other, { exitCode: 5 })).text;
  // 0, not absent: `time() - s3duct_last_success_timestamp_seconds > 90000` then fires.
  assert.equal(valueOf(never, "s3duct_last_success_timestamp_seconds", other), 0);
});

Deno.test("metrics: foreign families are kept as they were; garbage lines are dropped", () => {
  const foreign = [
    "# HELP backup_size_bytes Written by another job.",
    "# TYPE backup_size_bytes gauge",
    'backup_size_bytes{host="x"} 42',
    "this is not a sample",
    "# a plain comment",
    "",
  ].join("\n");
  const { text, dropped } = mergeReport(foreign, report(labels("s")));
  assert.equal(dropped, 1);
  const families = parse(text);
  const kept = families.find((f) => f.name === "backup_size_bytes")!;
  assert.equal(kept.help, "Written by another job.");
  assert.deepEqual(kept.metrics, [{ value: "42", labels: { host: "x" } }]);
  assert.equal(families.length, 10);
});

Deno.test("metrics file: replaced atomically, no temporary file left, readable by others", () => {
  const dir = Deno.makeTempDirSync({ prefix: "s3duct-metrics-" });
  const path = `${dir}/s3duct.prom`;
  updateFile(path, (old) => old + "a 1\n");
  updateFile(path, (old) => old + "b 2\n");
  assert.equal(Deno.readTextFileSync(path), "a 1\nb 2\n");
  assert.equal(Deno.statSync(path).mode! & 0o044, 0o044, "node_exporter's user reads it");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    ".s3duct.prom.lock",
    "s3duct.prom",
  ]);
  // An update that fails leaves the old file whole and no temporary behind.
  assert.throws(() =>
    updateFile(path, () => {
      throw new Error("boom");
    }), /boom/);
  assert.equal(Deno.readTextFileSync(path), "a 1\nb 2\n");
  assert.equal([...Deno.readDirSync(dir)].length, 2);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("metrics file: concurrent jobs sharing the file lose no update (the lock)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "s3duct-metrics-" });
  const path = `${dir}/jobs.prom`;
  const lib = new URL("../../lib/metrics/", import.meta.url).href;
  const code = (i: number) => `
    import { updateFile } from "${lib}file.ts";
    import { mergeReport } from "${lib}report.ts";
    for (let k = 0; k < 5; k++) {
      updateFile(${JSON.stringify(path)}, (old) => mergeReport(old, {
        labels: { command: "put", bucket: "b", prefix: "", stream: "s${i}-" + k },
        endedAt: 1, exitCode: 0, durationSeconds: 1, bytes: ${i}, chunks: 1, retries: 0,
        throttleEvents: 0,
      }).text);
    }`;
  const jobs = Array.from(
    { length: 6 },
    (_, i) =>
      new Deno.Command(Deno.execPath(), { args: ["eval", code(i)], stderr: "piped" }).output(),
  );
  for (const out of await Promise.all(jobs)) {
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }
  const bytes = parse(Deno.readTextFileSync(path)).find((f) => f.name === "s3duct_last_run_bytes")!;
  assert.equal(bytes.metrics.length, 30, "6 jobs x 5 streams, none lost");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("metrics run: reported once, with the pools' chunks and peak; a bad path warns", () => {
  const dir = Deno.makeTempDirSync({ prefix: "s3duct-metrics-" });
  const path = `${dir}/m.prom`;
  const l = labels("r", "get");
  const run = startRun(path, l);
  const pool = new Concurrency({ fixed: 3, min: 3, max: 3 });
  run.watch(pool);
  pool.completed(1000);
  pool.completed(24);
  run.retried(true);
  run.retried(false);
  assert.deepEqual(finishRun(0), []);
  const text = Deno.readTextFileSync(path);
  assert.equal(valueOf(text, "s3duct_last_run_bytes", l), 1024);
  assert.equal(valueOf(text, "s3duct_last_run_chunks", l), 2);
  assert.equal(valueOf(text, "s3duct_last_run_retries", l), 2);
  assert.equal(valueOf(text, "s3duct_last_run_throttle_events", l), 1);
  assert.equal(valueOf(text, "s3duct_last_run_workers_peak", l), 3);
  Deno.removeSync(path);
  assert.deepEqual(finishRun(4), [], "already reported: nothing more");
  assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
  startRun(`${dir}/no/such/dir/m.prom`, l);
  const warnings = finishRun(0);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /was not written/);
  Deno.removeSync(dir, { recursive: true });
});
