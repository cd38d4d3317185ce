/**
 * `deno task bench --network` (issue 14): put and get of one input through plain HTTP, TLS
 * (socat in front of Ceph, our own CA), tinyproxy (CONNECT) and TLS through tinyproxy, side by
 * side in one run, median of `--repeat`. The lab is tests/servers/net_lab.ts's. Every get is
 * checked against the input's SHA-256.
 */
import { startNetLab } from "../tests/servers/net_lab.ts";
import type { Input } from "./input.ts";
import { makeInput } from "./input.ts";
import { measure, type Measured } from "./measure.ts";
import { MiB } from "./report.ts";
import type { S3Target } from "./s3_cleanup.ts";

/** What the comparison needs from bench.ts. */
export interface NetworkBench {
  size: number;
  chunk: string;
  repeat: number;
  target: S3Target;
  env: Record<string, string>;
  deno: string;
  mainTs: string;
  tmp: string;
  prefix: string;
  cleanup(prefix: string): Promise<void>;
  log(s: string): void;
}

/** Run the comparison; returns the report's Markdown lines. */
export async function networkBench(o: NetworkBench): Promise<string[]> {
  const t = o.target;
  const lab = await startNetLab({
    endpoint: t.endpoint,
    bucket: t.bucket,
    accessKey: t.accessKeyId,
    secretKey: t.secretAccessKey,
    region: t.region,
  }, "bench-password");
  const input = await makeInput(`${o.tmp}/network.bin`, o.size, "network");
  const cephPort = new URL(t.endpoint).port;
  // Clear inherited CA and proxy settings: each path names exactly what it uses.
  const clean = {
    AWS_CA_BUNDLE: "",
    HTTPS_PROXY: "",
    https_proxy: "",
    HTTP_PROXY: "",
    http_proxy: "",
    NO_PROXY: "",
    no_proxy: "",
  };
  const proxy = `http://127.0.0.1:${lab.proxy.port}`;
  const paths: [string, string, Record<string, string>][] = [
    ["plain HTTP", `http://127.0.0.1:${cephPort}`, {}],
    ["TLS", `https://localhost:${lab.tls.port}`, { AWS_CA_BUNDLE: lab.certs.ca }],
    ["HTTP via proxy", `http://127.0.0.1:${cephPort}`, {
      HTTP_PROXY: proxy,
      NO_PROXY: "<-loopback>",
    }],
    ["TLS via proxy", `https://localhost:${lab.tls.port}`, {
      AWS_CA_BUNDLE: lab.certs.ca,
      HTTPS_PROXY: proxy,
      NO_PROXY: "<-loopback>",
    }],
  ];
  const runs = new Map<string, Measured[]>();
  try {
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const [label, endpoint, extra] of paths) {
        await oneRun(o, input, label, endpoint, { ...o.env, ...clean, ...extra }, runs);
      }
    }
  } finally {
    await lab.stopAll();
    await Deno.remove(input.path).catch(() => {});
  }
  return report(o, runs, paths.map((p) => p[0]));
}

async function oneRun(
  o: NetworkBench,
  input: Input,
  label: string,
  endpoint: string,
  env: Record<string, string>,
  runs: Map<string, Measured[]>,
): Promise<void> {
  const where = ["--endpoint-url", endpoint, "--bucket", o.target.bucket, "--prefix", o.prefix];
  const common = [...where, "--name", "net", "--key", "env:S3DUCT_BENCH_KEY", "-q"];
  const deno = [o.deno, "run", "-A", o.mainTs];
  const p = await measure({
    cmd: [...deno, "put", ...common, "--chunk-size", o.chunk],
    stdinFile: input.path,
    timeoutSeconds: 600,
    env,
    tmpDir: o.tmp,
  });
  runs.set(`put ${label}`, [...runs.get(`put ${label}`) ?? [], p]);
  o.log(`network put ${label}: ${p.ok ? p.wall.toFixed(2) + " s" : p.error}`);
  if (p.ok) {
    const g = await measure({
      cmd: [...deno, "get", ...common],
      hashStdout: true,
      timeoutSeconds: 600,
      env,
      tmpDir: o.tmp,
    });
    if (g.ok && g.stdoutSha256 !== input.sha256) [g.ok, g.error] = [false, "output differs"];
    runs.set(`get ${label}`, [...runs.get(`get ${label}`) ?? [], g]);
    o.log(`network get ${label}: ${g.ok ? g.wall.toFixed(2) + " s" : g.error}`);
  }
  await o.cleanup(`${o.prefix}/`).catch(() => {});
}

function report(o: NetworkBench, runs: Map<string, Measured[]>, labels: string[]): string[] {
  const cell = (ms: Measured[] | undefined) => {
    if (!ms?.length) return "- | -";
    const bad = ms.find((m) => !m.ok);
    if (bad) return `FAILED (${bad.error}) | -`;
    const w = ms.map((m) => m.wall).sort((a, b) => a - b);
    const med = w[Math.floor(w.length / 2)];
    const range = w.length > 1 ? ` (${w[0].toFixed(2)}-${w.at(-1)!.toFixed(2)})` : "";
    return `${med.toFixed(2)}${range} | ${(o.size / MiB / med).toFixed(0)}`;
  };
  return [
    `### Through TLS and a proxy (${
      o.size / MiB
    } MiB, ${o.chunk} chunks, AES, median of ${o.repeat})`,
    "",
    "| path | put s (range) | put MiB/s | get s (range) | get MiB/s |",
    "| --- | --- | --- | --- | --- |",
    ...labels.map((l) =>
      `| ${l} | ${cell(runs.get(`put ${l}`))} | ${cell(runs.get(`get ${l}`))} |`
    ),
    "",
  ];
}
