/**
 * --metrics-file on Ceph, read back with the npm Prometheus text-format parser: every command
 * that takes it writes its series into one shared file, failures report their exit code and
 * keep the last success, retries and throttling are counted, SIGTERM still reports, and no
 * secret appears in the file.
 */
import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { FaultProxy } from "../servers/fault_proxy.ts";
import { ceph, cli, pseudoRandom, s3Args, Suite, TEST_KEY_HEX } from "./harness.ts";
import { MAIN_TS, tempDir } from "../helpers.ts";

const t = new Suite("metrics", undefined, { K: TEST_KEY_HEX });
const { prefix, store } = t;
const tmp = tempDir("s3duct-metrics-");
const prom = `${tmp}/s3duct.prom`;
const env = t.env;
const CHUNK = 64 * 1024;
const data = pseudoRandom(5 * CHUNK - 100, 5); // 5 chunks

interface Family {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

/** Family name -> value for the samples of (command, stream), via the npm parser. */
function seriesOf(command: string, stream: string): Record<string, number> {
  const families = parsePrometheus(Deno.readTextFileSync(prom)) as Family[];
  const out: Record<string, number> = {};
  for (const f of families) {
    assert.equal(f.type, "GAUGE");
    for (const m of f.metrics) {
      const l = m.labels ?? {};
      if (l.command !== command || l.stream !== stream) continue;
      assert.deepEqual(Object.keys(l).sort(), ["bucket", "command", "prefix", "stream"]);
      assert.equal(l.bucket, ceph().bucket);
      assert.equal(l.prefix, `${prefix}/`);
      out[f.name.replace(/^s3duct_/, "")] = Number(m.value);
    }
  }
  return out;
}

const base = (name: string) => t.at(name);
const withMetrics = ["--metrics-file", prom];

async function run(args: string[], stdin?: Uint8Array) {
  return await cli([...args, ...withMetrics], { stdin, env });
}

Deno.test("metrics: put, get, verify, verify --deep, cleanup, delete share one file", async () => {
  const started = Date.now() / 1000;
  const put = await run(["put", ...base("db"), "--chunk-size", "64K", "--key", "env:K"], data);
  assert.equal(put.code, 0, put.stderr);
  const p = seriesOf("put", "db");
  assert.equal(p.last_run_exit_code, 0);
  assert.equal(p.last_run_bytes, data.length);
  assert.equal(p.last_run_chunks, 5);
  assert.ok(p.last_run_workers_peak >= 1);
  assert.ok(p.last_run_timestamp_seconds >= started - 1);
  assert.equal(p.last_success_timestamp_seconds, p.last_run_timestamp_seconds);
  assert.ok(p.last_run_duration_seconds > 0 && p.last_run_duration_seconds < 120);
  assert.equal(p.last_run_retries, 0);
  assert.equal(p.last_run_throttle_events, 0);

  const get = await run(["get", ...base("db"), "--key", "env:K", "--offset", "64K"]);
  assert.equal(get.code, 0, get.stderr);
  const g = seriesOf("get", "db");
  assert.equal(g.last_run_chunks, 4, "a range moves only its chunks");
  assert.equal(g.last_run_bytes, data.length - CHUNK);

  assert.equal((await run(["verify", ...base("db"), "--key", "env:K"])).code, 0);
  assert.equal(seriesOf("verify", "db").last_run_chunks, 0, "listings move no chunk");
  assert.equal(seriesOf("verify", "db").last_run_workers_peak, undefined);
  assert.equal((await run(["verify", "--deep", ...base("db"), "--key", "env:K"])).code, 0);
  assert.equal(seriesOf("verify-deep", "db").last_run_chunks, 5);

  // An interrupted upload's chunk for cleanup; then the stream itself goes.
  await store.put(`${prefix}/orphan/chunk-000000`, new Uint8Array(10));
  const cleanup = await cli(
    ["cleanup", ...s3Args(), "--prefix", prefix, "--key", "env:K", "--force", ...withMetrics],
    { env },
  );
  assert.equal(cleanup.code, 0, cleanup.stderr);
  assert.deepEqual(
    [seriesOf("cleanup", "").last_run_chunks, seriesOf("cleanup", "").last_run_bytes],
    [1, 10],
  );
  const del = await run(["delete", ...base("db"), "--key", "env:K", "--force"]);
  assert.equal(del.code, 0, del.stderr);
  const d = seriesOf("delete", "db");
  assert.equal(d.last_run_chunks, 5);
  assert.equal(d.last_run_bytes, data.length + 5 * 28, "stored AES objects: 28 bytes each more");
  // Every earlier series is still there.
  for (const c of ["put", "get", "verify", "verify-deep", "delete"]) {
    assert.equal(seriesOf(c, "db").last_run_exit_code, 0, c);
  }
  const text = Deno.readTextFileSync(prom);
  for (const secret of [TEST_KEY_HEX, ceph().secretKey, ceph().accessKey, "env:K"]) {
    assert.ok(!text.includes(secret), "no secret or key spec in the metrics");
  }
});

Deno.test("metrics: failures report their exit code and keep the last success", async () => {
  const put = await run(["put", ...base("fail"), "--chunk-size", "64K", "--no-encrypt"], data);
  assert.equal(put.code, 0, put.stderr);
  assert.equal((await run(["get", ...base("fail")])).code, 0);
  const success = seriesOf("get", "fail").last_success_timestamp_seconds;
  const key = await t.chunkKey("fail", 2);
  const bytes = await store.get(key);
  bytes[7] ^= 1;
  await store.put(key, bytes);
  const bad = await run(["get", ...base("fail")]);
  assert.equal(bad.code, 4, bad.stderr);
  const g = seriesOf("get", "fail");
  assert.equal(g.last_run_exit_code, 4);
  assert.equal(g.last_success_timestamp_seconds, success);
  assert.ok(g.last_run_timestamp_seconds > success);
  assert.equal(g.last_run_chunks, 2, "the chunks written before the damaged one");
  assert.equal(seriesOf("put", "fail").last_run_exit_code, 0, "put's series untouched");
  // Not found (3); usage errors found inside the command (2); a new job that never succeeded.
  assert.equal((await run(["get", ...base("missing")])).code, 3);
  assert.equal(seriesOf("get", "missing").last_run_exit_code, 3);
  assert.equal(seriesOf("get", "missing").last_success_timestamp_seconds, 0);
  assert.equal((await run(["get", ...base("fail"), "--offset", "1x"])).code, 2);
  assert.equal(seriesOf("get", "fail").last_run_exit_code, 2);
  assert.equal((await run(["get", ...base("fail"), "--offset", "1G"])).code, 2);
  assert.equal((await run(["put", ...base("z"), "--chunk-size", "0"], data)).code, 2);
  assert.equal(seriesOf("put", "z").last_run_exit_code, 2);
  // A directory that does not exist is refused before any work (nothing can be written).
  const nowhere = await cli(["get", ...base("fail"), "--metrics-file", `${tmp}/no/x.prom`], {
    env,
  });
  assert.equal(nowhere.code, 2, nowhere.stderr);
  assert.match(nowhere.stderr, /--metrics-file/);
});

Deno.test("metrics: retries and throttle events are counted (503 SlowDown at a proxy)", async () => {
  const put = await run(["put", ...base("slow"), "--chunk-size", "64K", "--no-encrypt"], data);
  assert.equal(put.code, 0, put.stderr);
  const proxy = new FaultProxy({
    upstream: ceph().endpoint,
    plan: ["slowdown-503", "error-500", "slowdown-503"],
  });
  try {
    const via = ["--bucket", ceph().bucket, "--endpoint-url", proxy.endpoint];
    const r = await cli(["get", ...via, "--prefix", prefix, "--name", "slow", ...withMetrics], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const s = seriesOf("get", "slow");
    assert.equal(s.last_run_retries, 3);
    assert.equal(s.last_run_throttle_events, 2, "the 500 is a retry, not throttling");
  } finally {
    await proxy.close();
  }
});

Deno.test("metrics: SIGTERM (a cron timeout) still writes the file, exit code 143", async () => {
  const big = pseudoRandom(2 * 1024 * 1024, 8);
  const put = await run(["put", ...base("term"), "--chunk-size", "64K", "--no-encrypt"], big);
  assert.equal(put.code, 0, put.stderr);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN_TS, "get", ...base("term"), "--bandwidth-limit", "128K"]
      .concat(withMetrics),
    env: { ...env, NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 2500));
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 143);
  const s = seriesOf("get", "term");
  assert.equal(s.last_run_exit_code, 143);
  assert.ok(s.last_run_chunks > 0 && s.last_run_chunks < 32, `${s.last_run_chunks} chunks`);
});

Deno.test("metrics: clean up", async () => {
  await t.clean();
  await Deno.remove(tmp, { recursive: true });
});
