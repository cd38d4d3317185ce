/**
 * `deno task bench --peers` (issue 16): in one run, side by side, median of `--repeat` runs
 * with ranges:
 * - the least-privilege path (no `--allow-ffi`: portable hashing and sealing) beside the
 *   OpenSSL path (`-A`), put and get, on the local store and on Ceph, for each mode;
 * - `rclone rcat` / `rclone cat` through a crypt remote on the same Ceph (Debian's rclone),
 *   beside our AES put and get;
 * - small chunks: 5000 x 4K and 1M chunks, put and get, on Ceph;
 * and the ratios the targets name. Every get is checked against the input's SHA-256.
 */
import { type Input, makeInput } from "./input.ts";
import { jsonSummary, measure, type Measured } from "./measure.ts";
import { MiB } from "./report.ts";
import type { S3Target } from "./s3_cleanup.ts";

/** What the comparison needs from bench.ts. */
export interface PeersBench {
  /** Bytes of the main input (1 GiB by default), and its label. */
  size: number;
  sizeLabel: string;
  chunk: string;
  modes: string[];
  stores: string[];
  repeat: number;
  ceph?: { target: S3Target; env: Record<string, string>; cleanup(prefix: string): Promise<void> };
  serverPids(): number[] | undefined;
  deno: string;
  mainTs: string;
  cliDir: string;
  tmp: string;
  prefix: string;
  env: Record<string, string>;
  ageRecipient?: string;
  ageIdentity: string;
  log(s: string): void;
}

/** The Deno flags of each path: `-A`, and the least privilege without FFI. */
const PATHS: Record<string, string[]> = {
  openssl: ["-A"],
  portable: ["--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys"],
};

/** One measured command, by label; several runs of it when --repeat. */
type Runs = Map<string, Measured[]>;

/** Run the comparison; returns the report's Markdown lines. */
export async function peersBench(o: PeersBench): Promise<string[]> {
  const runs: Runs = new Map();
  const main = await makeInput(`${o.tmp}/peers-main.bin`, o.size);
  const small = o.ceph && await makeInput(`${o.tmp}/peers-small.bin`, 5000 * 4096, "small");
  const mid = o.ceph && await makeInput(`${o.tmp}/peers-mid.bin`, 256 * MiB, "mid");
  for (let rep = 0; rep < o.repeat; rep++) {
    for (const store of o.stores) {
      for (const mode of o.modes) {
        for (const path of Object.keys(PATHS)) {
          await ours(o, runs, { store, mode, path, input: main, chunk: o.chunk });
        }
      }
    }
    if (small && mid) {
      await rclone(o, runs, main);
      for (const [input, chunk] of [[small, "4K"], [mid, "1M"]] as const) {
        for (const path of Object.keys(PATHS)) {
          await ours(o, runs, { store: "ceph", mode: "aes", path, input, chunk });
        }
      }
    }
  }
  for (const f of [main, small, mid]) if (f) await Deno.remove(f.path).catch(() => {});
  return report(o, runs);
}

interface Case {
  store: string;
  mode: string;
  path: string;
  input: Input;
  chunk: string;
}

function label(c: Case, op: string): string {
  return `${op} ${c.mode} ${c.store} ${
    c.input.size === 5000 * 4096 ? "20M" : c.input.size / MiB + "M"
  }` +
    `/${c.chunk} ${c.path}`;
}

async function ours(o: PeersBench, runs: Runs, c: Case): Promise<void> {
  const ceph = c.store === "ceph" ? o.ceph : undefined;
  const localRoot = `${o.tmp}/peers-store`;
  if (!ceph) await Deno.mkdir(`${localRoot}/bench`, { recursive: true });
  const name = `peers-${c.mode}-${c.chunk}-${c.path}`;
  const where = [
    "--endpoint-url",
    ceph ? ceph.target.endpoint : `file://${localRoot}`,
    "--bucket",
    ceph ? ceph.target.bucket : "bench",
    "--prefix",
    o.prefix,
    "--name",
    name,
  ];
  const quiet = ["-q", "--summary", "json", "--progress", "none"];
  const put = c.mode === "aes"
    ? ["--key", "env:S3DUCT_BENCH_KEY"]
    : c.mode === "age"
    ? ["--age-recipient", o.ageRecipient ?? "age1missing"]
    : ["--no-encrypt"];
  const get = c.mode === "aes"
    ? ["--key", "env:S3DUCT_BENCH_KEY"]
    : c.mode === "age"
    ? ["--age-identity", o.ageIdentity]
    : [];
  const env = { ...o.env, ...(c.path === "portable" ? { S3DUCT_NO_OPENSSL: "1" } : {}) };
  const deno = [o.deno, "run", ...PATHS[c.path], o.mainTs];
  const timeout = 120 + 300 * c.input.size / 1024 ** 3;
  const p = await measure({
    cmd: [...deno, "put", ...where, "--chunk-size", c.chunk, ...put, ...quiet],
    cwd: o.cliDir,
    stdinFile: c.input.path,
    timeoutSeconds: timeout,
    env,
    tmpDir: o.tmp,
    serverPids: ceph ? o.serverPids() : undefined,
  });
  const got = jsonSummary(p.stderr)?.stream_sha256;
  if (p.ok && got !== c.input.sha256) [p.ok, p.error] = [false, "put stream_sha256 differs"];
  record(runs, label(c, "put"), p);
  o.log(`${label(c, "put")}: ${brief(p)}`);
  if (p.ok) {
    const g = await measure({
      cmd: [...deno, "get", ...where, ...get, ...quiet],
      cwd: o.cliDir,
      hashStdout: true,
      timeoutSeconds: timeout,
      env,
      tmpDir: o.tmp,
      serverPids: ceph ? o.serverPids() : undefined,
    });
    if (g.ok && g.stdoutSha256 !== c.input.sha256) [g.ok, g.error] = [false, "output differs"];
    record(runs, label(c, "get"), g);
    o.log(`${label(c, "get")}: ${brief(g)}`);
  }
  if (ceph) await ceph.cleanup(`${o.prefix}/`).catch(() => {});
  else await Deno.remove(localRoot, { recursive: true }).catch(() => {});
}

/** rclone with an S3 remote on the test Ceph and a crypt remote over it, all from env. */
async function rclone(o: PeersBench, runs: Runs, input: Input): Promise<void> {
  const t = o.ceph!.target;
  const obscured = await new Deno.Command("rclone", {
    args: ["obscure", "s3duct-bench-password"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!obscured?.success) {
    o.log("rclone not found (apt-get install rclone): no rclone baseline");
    return;
  }
  const env = {
    ...o.env,
    RCLONE_CONFIG_CEPH_TYPE: "s3",
    RCLONE_CONFIG_CEPH_PROVIDER: "Ceph",
    RCLONE_CONFIG_CEPH_ENDPOINT: t.endpoint,
    RCLONE_CONFIG_CEPH_ACCESS_KEY_ID: t.accessKeyId,
    RCLONE_CONFIG_CEPH_SECRET_ACCESS_KEY: t.secretAccessKey,
    RCLONE_CONFIG_CEPH_REGION: t.region,
    RCLONE_CONFIG_SECRET_TYPE: "crypt",
    RCLONE_CONFIG_SECRET_REMOTE: `ceph:${t.bucket}/${o.prefix}/rclone`,
    RCLONE_CONFIG_SECRET_PASSWORD: new TextDecoder().decode(obscured.stdout).trim(),
  };
  // This machine's AWS_CA_BUNDLE makes rclone 1.60 refuse its own transport: unset it.
  const rc = ["env", "-u", "AWS_CA_BUNDLE", "rclone"];
  const p = await measure({
    cmd: [...rc, "rcat", "secret:stream"],
    stdinFile: input.path,
    timeoutSeconds: 600,
    env,
    tmpDir: o.tmp,
    serverPids: o.serverPids(),
  });
  record(runs, `put rclone crypt ceph ${input.size / MiB}M`, p);
  o.log(`rclone rcat: ${brief(p)}`);
  const g = await measure({
    cmd: [...rc, "cat", "secret:stream"],
    hashStdout: true,
    timeoutSeconds: 600,
    env,
    tmpDir: o.tmp,
    serverPids: o.serverPids(),
  });
  if (g.ok && g.stdoutSha256 !== input.sha256) [g.ok, g.error] = [false, "output differs"];
  record(runs, `get rclone crypt ceph ${input.size / MiB}M`, g);
  o.log(`rclone cat: ${brief(g)}`);
  await o.ceph!.cleanup(`${o.prefix}/`).catch(() => {});
}

function record(runs: Runs, key: string, m: Measured): void {
  runs.set(key, [...runs.get(key) ?? [], m]);
}

function brief(m: Measured): string {
  return m.ok
    ? `${m.wall.toFixed(2)} s, RSS ${(m.maxRssKiB / 1024).toFixed(0)} MiB`
    : `FAILED ${m.error}`;
}

/** Median wall seconds of the successful runs, undefined if any failed. */
function median(ms: Measured[] | undefined): number | undefined {
  if (!ms?.length || ms.some((m) => !m.ok)) return undefined;
  const w = ms.map((m) => m.wall).sort((a, b) => a - b);
  return w[Math.floor(w.length / 2)];
}

function cell(ms: Measured[] | undefined): string {
  if (!ms?.length) return "-";
  const bad = ms.find((m) => !m.ok);
  if (bad) return `FAILED (${bad.error})`;
  const w = ms.map((m) => m.wall).sort((a, b) => a - b);
  const rss = Math.max(...ms.map((m) => m.maxRssKiB)) / 1024;
  const cpu = ms.map((m) => m.user + m.sys).sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  const range = ms.length > 1 ? ` (${w[0].toFixed(2)}-${w.at(-1)!.toFixed(2)})` : "";
  const server = ms.map((m) => m.serverCpu).filter((v) => v !== undefined) as number[];
  const srv = server.length
    ? ` | ${server.sort((a, b) => a - b)[server.length >> 1].toFixed(1)}`
    : " | -";
  return `${median(ms)!.toFixed(2)}${range} | ${cpu.toFixed(1)}${srv} | ${rss.toFixed(0)}`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : "-";
}

function report(o: PeersBench, runs: Runs): string[] {
  const lines = [
    `### Least privilege beside OpenSSL, rclone crypt, small chunks (median of ${o.repeat})`,
    "",
    "| run | seconds (range) | client CPU s | server CPU s | peak RSS MiB |",
    "| --- | --- | --- | --- | --- |",
    ...[...runs.keys()].sort().map((k) => `| ${k} | ${cell(runs.get(k))} |`),
    "",
    "| target (issue 16) | measured | met |",
    "| --- | --- | --- |",
  ];
  const m = (k: string) => median(runs.get(k));
  const target = (what: string, value: number | undefined, ok: (v: number) => boolean) =>
    lines.push(
      `| ${what} | ${value === undefined ? "-" : value.toFixed(2) + "x"} | ${
        value === undefined ? "-" : ok(value) ? "yes" : "**no**"
      } |`,
    );
  const size = `${o.size / MiB}M`;
  for (const store of o.stores) {
    for (const mode of o.modes) {
      for (const op of ["put", "get"]) {
        const base = `${op} ${mode} ${store} ${size}/${o.chunk}`;
        target(
          `${base}: portable / OpenSSL time <= 1.25`,
          ratioOf(m(`${base} portable`), m(`${base} openssl`)),
          (v) => v <= 1.25,
        );
      }
    }
  }
  if (o.ceph && o.modes.includes("aes")) {
    const ours = (op: string, path: string) => m(`${op} aes ceph ${size}/${o.chunk} ${path}`);
    const rg = m(`get rclone crypt ceph ${size}`), rp = m(`put rclone crypt ceph ${size}`);
    target(
      "get AES (-A) / rclone cat <= 1.3",
      ratioOf(ours("get", "openssl"), rg),
      (v) => v <= 1.3,
    );
    target(
      "rclone rcat / put AES (-A) >= 1.3",
      ratioOf(rp, ours("put", "openssl")),
      (v) => v >= 1.3,
    );
    target(
      "get AES portable / rclone cat <= 1.3 x 1.25",
      ratioOf(ours("get", "portable"), rg),
      (v) => v <= 1.625,
    );
    target(
      "rclone rcat / put AES portable >= 1.3 / 1.25",
      ratioOf(rp, ours("put", "portable")),
      (v) => v >= 1.04,
    );
    for (const path of Object.keys(PATHS)) {
      target(
        `small chunks (5000 x 4K, ${path}): get / put time <= 1`,
        ratioOf(m(`get aes ceph 20M/4K ${path}`), m(`put aes ceph 20M/4K ${path}`)),
        (v) => v <= 1,
      );
    }
  }
  lines.push("", `Ratios of median wall times; ${ratio(1, 1)} = equal.`, "");
  return lines;
}

function ratioOf(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined ? a / b : undefined;
}
