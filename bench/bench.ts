/**
 * s3duct throughput benchmark (issue 4). Not a test: prints a Markdown table of put/get seconds,
 * MB/s, client CPU per GiB and peak RSS for the real CLI (child processes, stdin from a file of
 * random bytes, get verified by sha256), against Ceph RGW and the local-directory store, with
 * `aws s3 cp -` and the machine's pure hashing+encryption rate as baselines in the same run.
 *
 *   deno task bench [--quick] [--big] [selectors...]     (starts Ceph via tests/run.sh)
 *   . /tmp/s3duct-ceph/env && deno run -A bench/bench.ts --quick    (Ceph already running)
 *
 * Run with --help for the flags. The table also goes to bench/out/latest.md.
 */
import { type Input, makeInput } from "./input.ts";
import { parseSize as parseSizeText } from "../lib/format/size.ts";
import { GNU_TIME, jsonSummary, lastLine, measure, type Measured } from "./measure.ts";
import { measurePure, measurePureParallel, type PureTimes } from "./pure.ts";
import { listingCosts } from "./listing.ts";
import { compressBench } from "./compress.ts";
import { peersBench } from "./peers.ts";
import { networkBench } from "./network.ts";
import { deletePrefix, type S3Target } from "./s3_cleanup.ts";
import {
  addRatios,
  AWS_LABEL,
  GiB,
  medianRows,
  MiB,
  oldToolRows,
  pureTable,
  resultsTable,
  type Row,
  targetChecks,
} from "./report.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const DENO = Deno.execPath();

const HELP = `s3duct benchmark (issue 4): deno run -A bench/bench.ts [options]
  (or: deno task bench [options], which starts the throwaway Ceph first)

Matrix (default: the full matrix of issue 4):
  --quick              1G input, 64M chunks, plain+aes+age, Ceph + local store
  --big                include the 4G input (with --quick: 1G and 4G)
  --store LIST         ceph,local            (default ceph,local)
  --size LIST          1G,4G                 (default 1G,4G; --quick 1G)
  --chunk LIST         8M,64M,512M           (default 8M,64M,512M; --quick 64M)
  --mode LIST          plain,aes,age         (default plain,aes,age)
  --op LIST            put,get               (default put,get; get needs put)
  --compress           only the compression comparison (issue 17.3): --compress zstd vs
                       'zstd -T0 -3 |' vs none, on a SQL dump and on random bytes, format 2
                       AES; --size (default 1G, --quick 256M), --chunk (64M), --store;
                       needs Debian's zstd
  --peers              only the issue 16 comparison: least privilege (no --allow-ffi) beside
                       -A, put and get, per --store and --mode (--quick: aes), rclone crypt
                       rcat/cat on Ceph, 5000 x 4K and 256M/1M chunks; --repeat N (median)
  --network            only put/get through plain HTTP, TLS, a proxy, TLS via a proxy (Ceph;
                       --size, default 256M; --chunk 8M; --repeat N)
Baselines:
  --no-aws             skip the 'aws s3 cp -' transport baseline
  --no-pure            skip the in-process hashing/encryption rate
  --pure-size SIZE     bytes hashed/encrypted per algorithm (default 1G)
Passing options to s3duct (repeatable, one argument each):
  --put-arg ARG        e.g. --put-arg=--upload-workers --put-arg=4
  --get-arg ARG
Other:
  --repeat N           run every measurement N times, report the median run (default 1):
                       Ceph's own CPU per GiB varied 12-18 s between runs here
  --timeout-per-gib S  kill a run after 60 + S x GiB seconds (default 240)
  --main FILE          the s3duct main.ts to run (default: this checkout's), e.g. to bench a
                       clean 'git worktree' or an older commit with this benchmark
  --tmp DIR            scratch for inputs and the local store (default: a new dir in $TMPDIR)
  --out FILE           also write the report here (default bench/out/latest.md)
  --help

Ceph: needs S3DUCT_TEST_ENDPOINT, S3DUCT_TEST_BUCKET, S3DUCT_TEST_ACCESS_KEY,
S3DUCT_TEST_SECRET_KEY, S3DUCT_TEST_REGION (set by tests/run.sh, or '. /tmp/s3duct-ceph/env').
Needs GNU time (${GNU_TIME}, Debian package 'time'), coreutils timeout, and openssl or sha256sum; 'aws'
(Debian package awscli) for the baseline.`;

interface Options {
  stores: string[];
  sizes: string[];
  chunks: string[];
  modes: string[];
  ops: string[];
  aws: boolean;
  pure: boolean;
  pureSize: number;
  putArgs: string[];
  getArgs: string[];
  timeoutPerGiB: number;
  /** Runs of each measurement; the table shows the median run. */
  repeat: number;
  tmp?: string;
  out: string;
  main: string;
  /** --compress: the compression comparison instead of the matrix. */
  compress: boolean;
  /** --peers: least privilege vs OpenSSL, rclone crypt and small chunks (issue 16). */
  peers: boolean;
  /** --network: plain HTTP vs TLS vs a proxy (issue 14). */
  network: boolean;
}

/** A size flag's bytes, parsed as the CLI parses --chunk-size (lib/format/size.ts). */
function parseSize(s: string): number {
  const n = parseSizeText(s);
  if (n === undefined) throw new Error(`not a size: '${s}'`);
  return n;
}

function parseArgs(argv: string[]): Options | undefined {
  const o: Options = {
    stores: ["ceph", "local"],
    sizes: ["1G", "4G"],
    chunks: ["8M", "64M", "512M"],
    modes: ["plain", "aes", "age"],
    ops: ["put", "get"],
    aws: true,
    pure: true,
    pureSize: GiB,
    putArgs: [],
    getArgs: [],
    timeoutPerGiB: 240,
    repeat: 1,
    out: `${ROOT}/bench/out/latest.md`,
    main: `${ROOT}/main.ts`,
    compress: false,
    peers: false,
    network: false,
  };
  let quick = false, big = false;
  const set = new Set<string>();
  const list = (v: string, allowed?: string[]) => {
    const items = v.split(",").map((s) => s.trim()).filter(Boolean);
    for (const i of items) {
      if (allowed && !allowed.includes(i)) throw new Error(`'${i}' is not one of ${allowed}`);
    }
    return items;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) [a, val] = [a.slice(0, eq), a.slice(eq + 1)];
    const next = () => {
      if (val !== undefined) return val;
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--help":
      case "-h":
        console.log(HELP);
        return undefined;
      case "--quick":
        quick = true;
        break;
      case "--peers":
        o.peers = true;
        break;
      case "--network":
        o.network = true;
        break;
      case "--compress":
        o.compress = true;
        break;
      case "--big":
        big = true;
        break;
      case "--store":
        o.stores = list(next(), ["ceph", "local"]);
        set.add("store");
        break;
      case "--size":
        o.sizes = list(next());
        o.sizes.forEach(parseSize);
        set.add("size");
        break;
      case "--chunk":
        o.chunks = list(next());
        o.chunks.forEach(parseSize);
        set.add("chunk");
        break;
      case "--mode":
        o.modes = list(next(), ["plain", "aes", "age"]);
        break;
      case "--op":
        o.ops = list(next(), ["put", "get"]);
        break;
      case "--repeat":
        o.repeat = Number(next());
        if (!Number.isInteger(o.repeat) || o.repeat < 1) throw new Error("--repeat needs N >= 1");
        break;
      case "--no-aws":
        o.aws = false;
        break;
      case "--no-pure":
        o.pure = false;
        break;
      case "--pure-size":
        o.pureSize = parseSize(next());
        break;
      case "--put-arg":
        o.putArgs.push(next());
        break;
      case "--get-arg":
        o.getArgs.push(next());
        break;
      case "--timeout-per-gib":
        o.timeoutPerGiB = Number(next());
        break;
      case "--tmp":
        o.tmp = next();
        break;
      case "--main":
        o.main = next();
        break;
      case "--out":
        o.out = next();
        break;
      default:
        throw new Error(`unknown option '${argv[i]}' (see --help)`);
    }
  }
  if (quick) {
    if (!set.has("size")) o.sizes = ["1G"];
    if (!set.has("chunk")) o.chunks = ["64M"];
  }
  if (big && !o.sizes.includes("4G")) o.sizes.push("4G");
  if (o.compress && !set.has("size")) o.sizes = [quick ? "256M" : "1G"];
  if (o.compress && !set.has("chunk")) o.chunks = ["64M"];
  if (o.peers && quick && !set.has("mode")) o.modes = ["aes"];
  if (o.network && !set.has("size")) o.sizes = ["256M"];
  if (o.network && !set.has("chunk")) o.chunks = ["8M"];
  if (o.ops.includes("get") && !o.ops.includes("put")) {
    throw new Error("--op get needs put too (get reads the stream put just wrote)");
  }
  return o;
}

const log = (s: string) => console.error(`bench: ${s}`);

/** stdout + stderr of a short command; "" if it cannot start or (with onlyOk) fails. */
async function text(cmd: string, args: string[], onlyOk = false): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stderr: "piped" }).output();
    if (onlyOk && !out.success) return "";
    return (new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr)).trim();
  } catch {
    return "";
  }
}

async function machineInfo(mainTs: string, cliDir: string): Promise<string[]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "?";
  const memKiB = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const head = await text("git", ["-C", cliDir, "rev-parse", "--short", "HEAD"], true);
  const dirty = head &&
      await text("git", ["-C", cliDir, "status", "--porcelain", "--", "lib", "main.ts"], true)
    ? " + uncommitted changes in lib/ or main.ts"
    : "";
  return [
    `- date: ${new Date().toISOString()}`,
    `- nproc: ${await text("nproc", []) || navigator.hardwareConcurrency}; CPU: ${model}; ` +
    `RAM: ${(memKiB / 1024 / 1024).toFixed(1)} GiB; kernel ${Deno.osRelease()}`,
    `- deno ${Deno.version.deno} (v8 ${Deno.version.v8}); s3duct ${mainTs}, commit ${
      head || "?"
    }${dirty}`,
  ];
}

/** `aws` without the pyenv shim in front (the shim's bash+pyenv would be timed too). */
const loadavg = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3).join(" ");

/** `openssl speed` AES-256-GCM rate in MB/s (16 KiB blocks): a reference, not in-process. */
async function opensslAesRate(): Promise<number | undefined> {
  const out = await text("openssl", [
    "speed",
    "-evp",
    "aes-256-gcm",
    "-seconds",
    "1",
    "-bytes",
    "16384",
  ]);
  const k = /^AES-256-GCM\s+([\d.]+)k\s*$/im.exec(out)?.[1];
  return k ? Number(k) / 1000 : undefined;
}

async function awsPath(): Promise<string | undefined> {
  const viaPyenv = (await text("pyenv", ["which", "aws"], true)).split("\n")[0];
  if (viaPyenv.startsWith("/")) return viaPyenv;
  const p = (await text("bash", ["-c", "command -v aws"], true)).split("\n")[0];
  return p.startsWith("/") ? p : undefined;
}

interface Ceph {
  endpoint: string;
  bucket: string;
  region: string;
  env: Record<string, string>;
  target: S3Target;
}

function cephFromEnv(): Ceph | undefined {
  const g = (k: string) => Deno.env.get(k);
  const [endpoint, bucket, access, secret] = [
    g("S3DUCT_TEST_ENDPOINT"),
    g("S3DUCT_TEST_BUCKET"),
    g("S3DUCT_TEST_ACCESS_KEY"),
    g("S3DUCT_TEST_SECRET_KEY"),
  ];
  if (!endpoint || !bucket || !access || !secret) return undefined;
  const region = g("S3DUCT_TEST_REGION") || "us-east-1";
  return {
    endpoint,
    bucket,
    region,
    env: {
      AWS_ACCESS_KEY_ID: access,
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_DEFAULT_REGION: region,
      AWS_REGION: region,
    },
    target: { endpoint, bucket, region, accessKeyId: access, secretAccessKey: secret },
  };
}

/** Delete every object under `prefix`, then ask RGW to garbage-collect now (memstore = RAM). */
async function cephDelete(ceph: Ceph, prefix: string): Promise<void> {
  await deletePrefix(ceph.target, prefix);
  const conf = `${Deno.env.get("S3DUCT_CEPH_DIR") ?? "/tmp/s3duct-ceph"}/ceph.conf`;
  try {
    await Deno.stat(conf);
  } catch {
    return;
  }
  // Best effort: without this, deleted tails stay in RAM for ~30-60 s (rgw gc min wait).
  await text("timeout", [
    "60",
    "radosgw-admin",
    "-c",
    conf,
    "-n",
    "client.rgw.s3duct",
    "gc",
    "process",
    "--include-all",
  ]);
}

/** PIDs of the throwaway Ceph's daemons (tests/servers/ceph.sh keeps pid files), if any. */
function cephPids(): number[] | undefined {
  const dir = `${Deno.env.get("S3DUCT_CEPH_DIR") ?? "/tmp/s3duct-ceph"}/run`;
  try {
    const pids = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".pid"))
      .map((e) => Number(Deno.readTextFileSync(`${dir}/${e.name}`).trim()));
    return pids.length && pids.every(Number.isInteger) ? pids : undefined;
  } catch {
    return undefined;
  }
}

function fromMeasured(row: Row, m: Measured): Row {
  row.seconds = Number.isFinite(m.wall) ? m.wall : undefined;
  row.cpu = Number.isFinite(m.user + m.sys) ? m.user + m.sys : undefined;
  row.rssKiB = Number.isFinite(m.maxRssKiB) ? m.maxRssKiB : undefined;
  row.serverCpu = m.serverCpu;
  if (!m.ok) row.error = m.error ?? "failed";
  return row;
}

function fmtRow(r: Row): string {
  if (r.error) return `FAILED ${r.error}`;
  return `${r.seconds?.toFixed(2)} s, ${(r.bytes / r.seconds! / 1e6).toFixed(1)} MB/s, ` +
    `CPU ${((r.cpu ?? NaN) / (r.bytes / GiB)).toFixed(2)} s/GiB, ` +
    `RSS ${((r.rssKiB ?? NaN) / 1024).toFixed(0)} MiB`;
}

async function main(): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseArgs(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    return 2;
  }
  if (!opts) return 0;
  const mainTs = opts.main.startsWith("/") ? opts.main : `${Deno.cwd()}/${opts.main}`;
  const cliDir = mainTs.replace(/\/[^/]*$/, "");
  for (const tool of [GNU_TIME]) {
    try {
      await Deno.stat(tool);
    } catch {
      console.error(`bench: ${tool} missing: apt-get install time (tests/run.sh does, as root)`);
      return 3;
    }
  }
  const ceph = opts.stores.includes("ceph") ? cephFromEnv() : undefined;
  if (opts.stores.includes("ceph") && !ceph) {
    console.error(
      "bench: S3DUCT_TEST_* not set: use 'deno task bench', or '. /tmp/s3duct-ceph/env' " +
        "with Ceph running, or --store local",
    );
    return 3;
  }
  const aws = opts.aws && ceph ? await awsPath() : undefined;
  if (opts.aws && ceph && !aws) log("aws CLI not found: no transport baseline (apt-get awscli)");

  const tmp = opts.tmp ?? await Deno.makeTempDir({ prefix: "s3duct-bench-" });
  await Deno.mkdir(tmp, { recursive: true });
  const runId = `${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${Deno.pid}`;
  const prefix = `s3duct-bench/${runId}`;
  const rows: Row[] = [];
  let pure1: PureTimes | undefined, pureN: PureTimes | undefined;
  const threads = navigator.hardwareConcurrency || 1;
  const info = await machineInfo(mainTs, cliDir);
  const loadStart = await loadavg();
  if (Number(loadStart.split(" ")[0]) > threads / 2) {
    log(
      `load average ${loadStart} on ${threads} CPUs: something else is running, numbers will be noisy`,
    );
  }
  let opensslAes: number | undefined;
  const started = performance.now();
  let listing: string[] = [];

  const aesKey = Array.from(crypto.getRandomValues(new Uint8Array(32)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const baseEnv: Record<string, string> = {
    NO_COLOR: "1",
    S3DUCT_BENCH_KEY: aesKey,
    ...(ceph?.env ?? {}),
  };
  const localRoot = `${tmp}/store`;

  if (opts.compress) {
    const ran = await compressBench({
      size: parseSize(opts.sizes[0]),
      sizeLabel: opts.sizes[0],
      chunk: opts.chunks[0],
      stores: opts.stores,
      ceph: ceph && { ...ceph, cleanup: (p: string) => cephDelete(ceph, p) },
      deno: DENO,
      mainTs,
      cliDir,
      tmp,
      prefix,
      env: baseEnv,
      timeoutPerGiB: opts.timeoutPerGiB,
      log,
    }).finally(() => opts.tmp ? undefined : Deno.remove(tmp, { recursive: true }).catch(() => {}));
    return await sideReport(opts.out, "## s3duct compression benchmark", info, ran);
  }

  if (opts.network) return await runNetwork(opts, { info, ceph, mainTs, tmp, prefix, baseEnv });
  if (opts.peers) return await runPeers(opts, { info, ceph, mainTs, cliDir, tmp, prefix, baseEnv });

  try {
    // Warm Deno's module cache, and make the age identity used by the age rows.
    await text(DENO, ["run", "-A", mainTs, "--version"]);
    const identity = `${tmp}/age-identity.txt`;
    let recipient: string | undefined;
    if (opts.modes.includes("age")) {
      await Deno.remove(identity).catch(() => {});
      const out = await text(DENO, ["run", "-A", mainTs, "keygen", "-o", identity]);
      recipient = /\bage1[0-9a-z]+\b/.exec(out)?.[0];
      if (!recipient) log(`keygen failed, age rows will fail: ${lastLine(out)}`);
    }

    if (opts.pure) {
      log(`pure hashing/encryption rate over ${opts.pureSize / MiB} MiB, 1 thread...`);
      pure1 = await measurePure(opts.pureSize);
      if (threads > 1) {
        log(`... and on ${threads} threads`);
        pureN = await measurePureParallel(opts.pureSize, threads).catch((e) => {
          log(`parallel pure rate failed: ${e}`);
          return undefined;
        });
      }
      opensslAes = await opensslAesRate();
    }

    for (const sizeLabel of opts.sizes) {
      const size = parseSize(sizeLabel);
      log(`generating ${sizeLabel} input...`);
      const input: Input = await makeInput(`${tmp}/input-${sizeLabel}.bin`, size);
      const timeout = 60 + opts.timeoutPerGiB * size / GiB;

      for (let rep = 0; rep < opts.repeat; rep++) {
        if (aws && ceph) {
          const key = `${prefix}/aws-${sizeLabel}`;
          const url = `s3://${ceph.bucket}/${key}`;
          const common = ["--endpoint-url", ceph.endpoint, "--only-show-errors"];
          for (const op of ["put", "get"] as const) {
            if (!opts.ops.includes(op)) continue;
            const row: Row = {
              tool: AWS_LABEL,
              store: "ceph",
              size: sizeLabel,
              bytes: size,
              chunk: "–",
              mode: "–",
              op,
            };
            try {
              const m = await measure({
                cmd: op === "put" ? [aws, "s3", "cp", "-", url, ...common] : [
                  aws,
                  "s3",
                  "cp",
                  url,
                  "-",
                  ...common,
                ],
                stdinFile: op === "put" ? input.path : undefined,
                hashStdout: op === "get",
                timeoutSeconds: timeout,
                env: ceph.env,
                tmpDir: tmp,
                serverPids: cephPids(),
              });
              fromMeasured(row, m);
              if (m.ok && op === "get" && m.stdoutSha256 !== input.sha256) {
                row.error = `output sha256 ${m.stdoutSha256?.slice(0, 12)}… != input`;
              }
            } catch (e) {
              row.error = String(e);
            }
            rows.push(row);
            log(`aws s3 cp ${sizeLabel} ${op}: ${fmtRow(row)}`);
          }
          await cephDelete(ceph, `${key}`).catch((e) => log(`cleanup: ${e}`));
        }

        for (const storeName of opts.stores) {
          for (const chunk of opts.chunks) {
            for (const mode of opts.modes) {
              const name = `${storeName}-${sizeLabel}-${chunk}-${mode}`;
              const endpoint = storeName === "ceph" ? ceph!.endpoint : `file://${localRoot}`;
              const bucket = storeName === "ceph" ? ceph!.bucket : "bench";
              if (storeName === "local") {
                await Deno.mkdir(`${localRoot}/bench`, { recursive: true });
              }
              const where = [
                "--endpoint-url",
                endpoint,
                "--bucket",
                bucket,
                "--prefix",
                prefix,
                "--name",
                name,
              ];
              const quiet = ["-q", "--summary", "json", "--progress", "none"];
              const putCrypto = mode === "aes"
                ? ["--key", "env:S3DUCT_BENCH_KEY"]
                : mode === "age"
                ? ["--age-recipient", recipient ?? "age1missing"]
                : ["--no-encrypt"];
              const getCrypto = mode === "aes"
                ? ["--key", "env:S3DUCT_BENCH_KEY"]
                : mode === "age"
                ? ["--age-identity", identity]
                : [];
              let putOk = false;
              for (const op of ["put", "get"] as const) {
                if (!opts.ops.includes(op)) continue;
                const row: Row = {
                  tool: "s3duct",
                  store: storeName,
                  size: sizeLabel,
                  bytes: size,
                  chunk,
                  chunkBytes: parseSize(chunk),
                  mode,
                  op,
                };
                if (op === "get" && !putOk) {
                  row.error = "skipped: put failed";
                  rows.push(row);
                  continue;
                }
                try {
                  const args = op === "put"
                    ? [
                      "put",
                      ...where,
                      "--chunk-size",
                      chunk,
                      ...putCrypto,
                      ...quiet,
                      ...opts.putArgs,
                    ]
                    : ["get", ...where, ...getCrypto, ...quiet, ...opts.getArgs];
                  const m = await measure({
                    cmd: [DENO, "run", "-A", mainTs, ...args],
                    cwd: cliDir,
                    stdinFile: op === "put" ? input.path : undefined,
                    hashStdout: op === "get",
                    timeoutSeconds: timeout,
                    env: baseEnv,
                    tmpDir: tmp,
                    serverPids: storeName === "ceph" ? cephPids() : undefined,
                  });
                  fromMeasured(row, m);
                  const summary = jsonSummary(m.stderr);
                  const w = summary?.[op === "put" ? "upload_workers" : "download_workers"];
                  if (w !== undefined) row.workers = String(w);
                  const peak = summary?.[`${op === "put" ? "upload" : "download"}_workers_peak`];
                  if (typeof peak === "number") row.peakWorkers = peak;
                  if (m.ok && op === "put") {
                    const got = summary?.stream_sha256;
                    if (typeof got === "string" && got !== input.sha256) {
                      row.error = `put summary stream_sha256 ${got.slice(0, 12)}… != input`;
                    } else putOk = true;
                  }
                  if (m.ok && op === "get" && m.stdoutSha256 !== input.sha256) {
                    row.error = `get output sha256 ${m.stdoutSha256?.slice(0, 12)}… != input`;
                  }
                } catch (e) {
                  row.error = String(e);
                }
                rows.push(row);
                log(`${name} ${op}: ${fmtRow(row)}`);
              }
              try {
                if (storeName === "ceph") await cephDelete(ceph!, `${prefix}/`);
                else await Deno.remove(`${localRoot}/bench`, { recursive: true });
              } catch (e) {
                if (!(e instanceof Deno.errors.NotFound)) log(`cleanup of ${name}: ${e}`);
              }
            }
          }
        }
      }
      await Deno.remove(input.path).catch(() => {});
    }
    // Issue 11: what the publish check and listing-based verify cost on 5000 small chunks.
    listing = ceph
      ? await listingCosts({
        endpoint: ceph.endpoint,
        bucket: ceph.bucket,
        region: ceph.region,
        accessKey: ceph.target.accessKeyId,
        secretKey: ceph.target.secretAccessKey,
        env: { ...baseEnv, S3DUCT_STATE_DIR: `${tmp}/state` },
        mainTs,
        prefix: `${prefix}-listing`,
        tmp,
        chunks: 5000,
      }).catch((e) => [`listing costs failed: ${e}`, ""]).finally(() =>
        cephDelete(ceph, `${prefix}-listing/`).catch(() => {})
      )
      : [];
  } finally {
    if (ceph) await cephDelete(ceph, `${prefix}/`).catch(() => {});
    if (!opts.tmp) await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }

  const measured = medianRows(rows);
  addRatios(measured, pure1, pureN);
  const elapsed = (performance.now() - started) / 1000;
  const checks = targetChecks(measured);
  const report = [
    "## s3duct benchmark",
    "",
    ...info,
    `- matrix: store ${opts.stores} · size ${opts.sizes} · chunk ${opts.chunks} · ` +
    `mode ${opts.modes}${opts.repeat > 1 ? ` · median of ${opts.repeat} runs each` : ""}${
      opts.putArgs.length ? ` · put args ${opts.putArgs.join(" ")}` : ""
    }` +
    `${opts.getArgs.length ? ` · get args ${opts.getArgs.join(" ")}` : ""}; ` +
    `benchmark took ${elapsed.toFixed(0)} s`,
    `- load average (1/5/15 min) at start ${loadStart}, at end ${await loadavg()}` +
    (Number(loadStart.split(" ")[0]) > threads / 2
      ? " — **the machine was busy with something else: treat the numbers as noisy**"
      : ""),
    "",
    resultsTable([...measured, ...oldToolRows()]),
    "",
    ...listing,
    "Seconds, CPU (user+sys) and peak RSS are GNU time's for the measured client process only " +
    "(never Ceph); server CPU is what Ceph's daemons (mon, osd, radosgw) used meanwhile, read " +
    "from /proc: client + server CPU over 2 cores bounds the wall time from below. " +
    "MB/s = 10^6 bytes/s of plaintext. put reads stdin from a file of random " +
    "bytes; get writes to a SHA-256 (`openssl dgst`, else `sha256sum`) and every get is checked against the input's sha256. " +
    "vs aws s3 cp: throughput ratio (>1 = faster) against `aws s3 cp -` in this run " +
    "(same size, same op); the s3duct 0.4 rows are history quoted from issue 4 (another machine, " +
    "never a ratio); " +
    "vs pure: local-store throughput over the in-process hashing+encryption rate below.",
    "",
    "### Pure hashing + encryption rate of this machine (same run)",
    "",
    pureTable(pure1, pureN, threads),
    "",
    ...(opensslAes
      ? [
        `For comparison, \`openssl speed -evp aes-256-gcm\` (16 KiB blocks, 1 core, not ` +
        `in-process): ${opensslAes.toFixed(0)} MB/s.`,
        "",
      ]
      : []),
    "### Issue 4 targets",
    "",
    ...(checks.length ? checks : ["- (no row of this run decides a target)"]),
    "",
  ].join("\n");
  console.log(report);
  try {
    await Deno.mkdir(opts.out.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(opts.out, report);
    log(`report written to ${opts.out}`);
  } catch (e) {
    log(`could not write ${opts.out}: ${e}`);
  }
  return measured.some((r) => r.error) ? 1 : 0;
}

/** Print and save a side comparison's report; exit status 1 if any of its runs failed. */
async function sideReport(out: string, title: string, info: string[], ran: string[]) {
  const report = [title, "", ...info, "", ...ran].join("\n");
  console.log(report);
  await Deno.mkdir(out.replace(/\/[^/]*$/, ""), { recursive: true });
  await Deno.writeTextFile(out, report);
  return ran.some((l) => l.includes("FAILED")) ? 1 : 0;
}

/** `--peers`: the issue 16 comparison (bench/peers.ts), its report written like the matrix's. */
async function runPeers(
  opts: Options,
  c: {
    info: string[];
    ceph?: Ceph;
    mainTs: string;
    cliDir: string;
    tmp: string;
    prefix: string;
    baseEnv: Record<string, string>;
  },
): Promise<number> {
  const ageIdentity = `${c.tmp}/age-identity.txt`;
  await text(DENO, ["run", "-A", c.mainTs, "--version"]);
  const out = await text(DENO, ["run", "-A", c.mainTs, "keygen", "-o", ageIdentity]);
  const ran = await peersBench({
    size: parseSize(opts.sizes[0]),
    sizeLabel: opts.sizes[0],
    chunk: opts.chunks[0],
    modes: opts.modes,
    stores: opts.stores,
    repeat: opts.repeat,
    ceph: c.ceph && { ...c.ceph, cleanup: (p: string) => cephDelete(c.ceph!, p) },
    serverPids: cephPids,
    deno: DENO,
    mainTs: c.mainTs,
    cliDir: c.cliDir,
    tmp: c.tmp,
    prefix: c.prefix,
    env: c.baseEnv,
    ageRecipient: /\bage1[0-9a-z]+\b/.exec(out)?.[0],
    ageIdentity,
    log,
  }).finally(() => opts.tmp ? undefined : Deno.remove(c.tmp, { recursive: true }).catch(() => {}));
  return await sideReport(opts.out, "## s3duct issue 16 benchmark", c.info, ran);
}

/** `--network`: the issue 14 comparison (bench/network.ts). */
async function runNetwork(
  opts: Options,
  c: {
    info: string[];
    ceph?: Ceph;
    mainTs: string;
    tmp: string;
    prefix: string;
    baseEnv: Record<string, string>;
  },
): Promise<number> {
  if (!c.ceph) {
    console.error("bench: --network needs Ceph (deno task bench --network)");
    return 3;
  }
  const ceph = c.ceph;
  const ran = await networkBench({
    size: parseSize(opts.sizes[0]),
    chunk: opts.chunks[0],
    repeat: opts.repeat,
    target: ceph.target,
    env: c.baseEnv,
    deno: DENO,
    mainTs: c.mainTs,
    tmp: c.tmp,
    prefix: c.prefix,
    cleanup: (p) => cephDelete(ceph, p),
    log,
  }).finally(() => opts.tmp ? undefined : Deno.remove(c.tmp, { recursive: true }).catch(() => {}));
  return await sideReport(opts.out, "## s3duct network benchmark", c.info, ran);
}

if (import.meta.main) Deno.exit(await main());
