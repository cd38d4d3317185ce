/**
 * `deno task bench --compress` (issue 17.3): `put --compress zstd` against `zstd -T0 -3 |
 * s3duct put` and against no compression, side by side in one run, on a synthetic SQL dump
 * (compressible, bench/input.ts) and on random bytes; put seconds, stored bytes (every chunk
 * object, sealed), get seconds (output checked by SHA-256), client CPU and peak RSS. All three
 * are format 2 AES streams with the same chunk size, so only the compression differs.
 */
import { type Input, makeInput, makeSqlInput } from "./input.ts";
import { measure, type Measured } from "./measure.ts";
import { GiB, MiB } from "./report.ts";
import { type S3Target, sumPrefix } from "./s3_cleanup.ts";

/** What one comparison run needs from bench.ts. */
export interface CompressBench {
  size: number;
  sizeLabel: string;
  chunk: string;
  stores: string[];
  ceph?: { target: S3Target; env: Record<string, string>; cleanup(prefix: string): Promise<void> };
  deno: string;
  mainTs: string;
  cliDir: string;
  tmp: string;
  prefix: string;
  env: Record<string, string>;
  timeoutPerGiB: number;
  log(s: string): void;
}

type Method = "none" | "built-in" | "external";
const METHODS: Method[] = ["none", "built-in", "external"];

interface Result {
  input: string;
  store: string;
  method: Method;
  put?: Measured;
  get?: Measured;
  stored?: number;
  error?: string;
}

/** Run the comparison; returns the report's Markdown lines. */
export async function compressBench(o: CompressBench): Promise<string[]> {
  const results: Result[] = [];
  const localRoot = `${o.tmp}/store`;
  for (const kind of ["sql", "random"] as const) {
    o.log(`generating ${o.sizeLabel} of ${kind} input...`);
    const path = `${o.tmp}/compress-${kind}.bin`;
    const input = kind === "sql" ? await makeSqlInput(path, o.size) : await makeInput(path, o.size);
    for (const store of o.stores) {
      for (const method of METHODS) {
        const r = await oneRun(o, input, kind, store, method, localRoot);
        results.push(r);
        o.log(`${kind} ${store} ${method}: ${summary(r)}`);
      }
    }
    await Deno.remove(path).catch(() => {});
  }
  return report(o, results);
}

async function oneRun(
  o: CompressBench,
  input: Input,
  kind: string,
  store: string,
  method: Method,
  localRoot: string,
): Promise<Result> {
  const r: Result = { input: kind, store, method };
  const name = `zstd-${kind}-${method}`;
  const ceph = store === "ceph" ? o.ceph : undefined;
  const bucket = ceph ? ceph.target.bucket : "bench";
  if (!ceph) await Deno.mkdir(`${localRoot}/bench`, { recursive: true });
  const where = [
    "--endpoint-url",
    ceph ? ceph.target.endpoint : `file://${localRoot}`,
    "--bucket",
    bucket,
    "--prefix",
    o.prefix,
    "--name",
    name,
  ];
  const common = ["--key", "env:S3DUCT_BENCH_KEY", "-q", "--summary", "json", "--progress", "none"];
  const s3duct = [o.deno, "run", "-A", o.mainTs];
  const put = [...s3duct, "put", ...where, ...common, "--format", "2", "--chunk-size", o.chunk];
  if (method === "built-in") put.push("--compress", "zstd");
  const get = [...s3duct, "get", ...where, ...common];
  // The external pipe is timed whole (GNU time counts bash and both its children).
  const pipe = (script: string, cmd: string[]) => ["bash", "-c", script, "bench", ...cmd];
  const spec = {
    timeoutSeconds: 60 + o.timeoutPerGiB * o.size / GiB,
    env: { ...o.env, ...(ceph?.env ?? {}) },
    cwd: o.cliDir,
    tmpDir: o.tmp,
  };
  try {
    r.put = await measure({
      ...spec,
      cmd: method === "external" ? pipe('set -o pipefail; zstd -T0 -3 -q -c | "$@"', put) : put,
      stdinFile: input.path,
    });
    if (!r.put.ok) throw new Error(`put: ${why(r.put)}`);
    r.stored = ceph
      ? await sumPrefix(ceph.target, `${o.prefix}/${name}/`, /\/chunk-\d+$/)
      : await localBytes(`${localRoot}/bench/${o.prefix}/${name}`);
    r.get = await measure({
      ...spec,
      cmd: method === "external" ? pipe('set -o pipefail; "$@" | zstd -d -q -c', get) : get,
      hashStdout: true,
    });
    if (!r.get.ok) throw new Error(`get: ${why(r.get)}`);
    if (r.get.stdoutSha256 !== input.sha256) throw new Error("get output differs from the input");
  } catch (e) {
    r.error = (e as Error).message;
  } finally {
    if (ceph) await ceph.cleanup(`${o.prefix}/`).catch((e) => o.log(`cleanup: ${e}`));
    else await Deno.remove(`${localRoot}/bench`, { recursive: true }).catch(() => {});
  }
  return r;
}

/** A failed run's exit status and its first error line (not a trailing backtrace). */
function why(m: Measured): string {
  const line = m.stderr.split("\n").find((l) => /error/i.test(l))?.trim().slice(0, 200);
  return line ? `exit ${m.code}: ${line}` : m.error ?? `exit ${m.code}`;
}

/** Bytes of the chunk objects under a local-store stream folder. */
async function localBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) total += await localBytes(p);
    else if (/^chunk-\d+$/.test(e.name)) total += (await Deno.stat(p)).size;
  }
  return total;
}

const secs = (m?: Measured) => m?.ok ? m.wall : undefined;

function summary(r: Result): string {
  if (r.error) return `FAILED ${r.error}`;
  return `put ${secs(r.put)?.toFixed(2)} s, stored ${(r.stored! / MiB).toFixed(1)} MiB, ` +
    `get ${secs(r.get)?.toFixed(2)} s`;
}

function report(o: CompressBench, results: Result[]): string[] {
  const f = (n: number | undefined, d = 2) => n === undefined ? "–" : n.toFixed(d);
  const mbps = (m?: Measured) => m?.ok ? f(o.size / m.wall / 1e6, 1) : "–";
  const cpu = (m?: Measured) => m?.ok ? f(m.user + m.sys) : "–";
  const rss = (m?: Measured) => m?.ok ? f(m.maxRssKiB / 1024, 0) : "–";
  const lines = [
    `### Compression: \`--compress zstd\` vs \`zstd -T0 -3 | s3duct put\` vs none ` +
    `(${o.sizeLabel}, ${o.chunk} chunks, format 2 AES)`,
    "",
    "| input | store | compression | put s | put MB/s | stored MiB | stored / input | get s | get MB/s | put CPU s | get CPU s | put RSS MiB | get RSS MiB |",
    "| ----- | ----- | ----------- | ----- | -------- | ---------- | -------------- | ----- | -------- | --------- | --------- | ----------- | ----------- |",
  ];
  for (const r of results) {
    const label = r.method === "external" ? "`zstd -T0 -3 \\|` put" : r.method;
    if (r.error) {
      lines.push(`| ${r.input} | ${r.store} | ${label} | FAILED: ${r.error} |`);
      continue;
    }
    lines.push(
      `| ${r.input} | ${r.store} | ${label} | ${f(secs(r.put))} | ${mbps(r.put)} | ` +
        `${f(r.stored! / MiB, 1)} | ${f(r.stored! / o.size, 3)} | ${f(secs(r.get))} | ` +
        `${mbps(r.get)} | ${cpu(r.put)} | ${cpu(r.get)} | ${rss(r.put)} | ${rss(r.get)} |`,
    );
  }
  lines.push("", ...targets(results), "");
  return lines;
}

/** Issue 17.3's targets, from this run's rows. */
function targets(results: Result[]): string[] {
  const out: string[] = [];
  const at = (input: string, store: string, method: Method) =>
    results.find((r) => r.input === input && r.store === store && r.method === method);
  for (const store of new Set(results.map((r) => r.store))) {
    const builtin = at("sql", store, "built-in"), ext = at("sql", store, "external");
    for (const op of ["put", "get"] as const) {
      const b = secs(builtin?.[op]), e = secs(ext?.[op]);
      if (b === undefined || e === undefined) continue;
      out.push(
        `- ${store}, SQL dump, ${op}: built-in ${b.toFixed(2)} s vs external pipe ` +
          `${e.toFixed(2)} s (${(e / b).toFixed(2)}x): target "no slower than the pipe" ` +
          (b <= e ? "**met**" : "**missed**"),
      );
    }
    const none = secs(at("random", store, "none")?.put);
    const rb = secs(at("random", store, "built-in")?.put);
    if (none !== undefined && rb !== undefined) {
      const slower = rb / none - 1;
      out.push(
        `- ${store}, random input, put: built-in ${rb.toFixed(2)} s vs none ${none.toFixed(2)} s ` +
          `(${Math.abs(100 * slower).toFixed(1)} % ${slower < 0 ? "faster" : "slower"}): ` +
          'target "at most 10 % slower" ' +
          (slower <= 0.1 ? "**met**" : "**missed**"),
      );
    }
  }
  return out;
}
