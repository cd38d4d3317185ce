/** Result rows, the ratios between them, the issue-4 target checks and the Markdown rendering. */
import { modeSeconds, type PureTimes } from "./pure.ts";

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const OLD_LABEL = "s3duct 0.4 (quoted from issue 4, not re-measured)";
export const AWS_LABEL = "aws s3 cp -";

export interface Row {
  tool: string;
  store: string;
  /** Size label (1G, 4G) and bytes. */
  size: string;
  bytes: number;
  chunk: string;
  chunkBytes?: number;
  mode: string;
  op: "put" | "get";
  seconds?: number;
  /** user + sys seconds of the measured process. */
  cpu?: number;
  /** CPU seconds the S3 server (Ceph's daemons) used during the run. */
  serverCpu?: number;
  rssKiB?: number;
  /** upload_workers / download_workers from s3duct's JSON summary. */
  workers?: string;
  /** upload_workers_peak / download_workers_peak: the most in flight at once. */
  peakWorkers?: number;
  error?: string;
  vsAws?: number;
  vsPure1?: number;
  /** With --repeat: how many runs, and the range of their seconds. */
  runs?: { n: number; min: number; max: number };
  vsPureN?: number;
}

/** Issue 4's quoted numbers for the old Python tool: Ceph, 1 GiB, 64M chunks. */
export function oldToolRows(): Row[] {
  const base = { tool: OLD_LABEL, store: "ceph", size: "1G", bytes: GiB, chunk: "64M" };
  return [
    { ...base, mode: "plain", op: "put", seconds: 22.1, cpu: 21.6 },
    { ...base, mode: "aes", op: "put", seconds: 27.4, rssKiB: 294 * 1e6 / 1024 },
    { ...base, mode: "plain", op: "get", seconds: 17.4 },
    { ...base, mode: "aes", op: "get", seconds: 19.8, rssKiB: 766 * 1e6 / 1024 },
  ];
}

/** One row per measurement: the run with the median seconds (any failed run wins). */
export function medianRows(rows: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = [r.tool, r.store, r.size, r.chunk, r.mode, r.op].join("|");
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map((g) => {
    const failed = g.find((r) => r.error || r.seconds === undefined);
    if (failed || g.length === 1) return failed ?? g[0];
    const sorted = [...g].sort((a, b) => a.seconds! - b.seconds!);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)];
    return { ...mid, runs: { n: g.length, min: sorted[0].seconds!, max: sorted.at(-1)!.seconds! } };
  });
}

const mbps = (r: Row) => r.seconds ? r.bytes / r.seconds / 1e6 : undefined;

/** Fill the ratio columns of s3duct rows (all ratios are throughput ratios: > 1 = faster). */
export function addRatios(rows: Row[], pure1?: PureTimes, pureN?: PureTimes): void {
  for (const r of rows) {
    if (r.tool !== "s3duct" || r.error || !r.seconds) continue;
    if (r.store === "ceph") {
      const aws = rows.find((a) =>
        a.tool === AWS_LABEL && a.size === r.size && a.op === r.op && !a.error && a.seconds
      );
      if (aws) r.vsAws = mbps(r)! / mbps(aws)!;
    }
    if (r.store === "local") {
      const rate = (t: PureTimes) => GiB / modeSeconds(t, r.mode) / 1e6;
      if (pure1) r.vsPure1 = mbps(r)! / rate(pure1);
      if (pureN) r.vsPureN = mbps(r)! / rate(pureN);
    }
  }
}

const f = (n: number | undefined, d = 1) =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(d);
const x = (n: number | undefined) => n === undefined ? "–" : `${n.toFixed(2)}x`;

export function resultsTable(rows: Row[]): string {
  const head = [
    "tool",
    "store",
    "size",
    "chunk",
    "mode",
    "op",
    "seconds",
    "MB/s (10^6 B)",
    "CPU s/GiB",
    "server CPU s/GiB",
    "peak RSS MiB",
    "workers",
    "vs aws s3 cp",
    "vs pure 1 core / all cores",
    "note",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const gib = r.bytes / GiB;
    const pure = r.vsPure1 === undefined && r.vsPureN === undefined
      ? "–"
      : `${x(r.vsPure1)} / ${x(r.vsPureN)}`;
    lines.push(
      `| ${
        [
          r.tool,
          r.store,
          r.size,
          r.chunk,
          r.mode,
          r.op,
          f(r.seconds, 2),
          f(mbps(r)),
          f(r.cpu === undefined ? undefined : r.cpu / gib, 2),
          f(r.serverCpu === undefined ? undefined : r.serverCpu / gib, 2),
          f(r.rssKiB === undefined ? undefined : r.rssKiB / 1024, 0),
          r.workers === undefined
            ? "–"
            : r.peakWorkers !== undefined && r.workers !== String(r.peakWorkers) &&
                !r.workers.includes(`(${r.peakWorkers})`)
            ? `${r.workers}, peak ${r.peakWorkers}`
            : r.workers,
          x(r.vsAws),
          pure,
          r.error
            ? `**FAILED**: ${r.error.replaceAll("|", "\\|")}`
            : r.runs
            ? `median of ${r.runs.n} (${f(r.runs.min, 2)}-${f(r.runs.max, 2)} s)`
            : "",
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

export function pureTable(pure1?: PureTimes, pureN?: PureTimes, threads = 1): string {
  if (!pure1 && !pureN) return "_(pure rates not measured)_";
  const rate = (t: PureTimes | undefined, s: (t: PureTimes) => number) =>
    t ? f(GiB / s(t) / 1e6) : "–";
  const lines = [
    `| in-process, no I/O | MB/s 1 core | MB/s ${threads} threads | s/GiB 1 core |`,
    "|---|---|---|---|",
  ];
  const add = (label: string, s: (t: PureTimes) => number) =>
    lines.push(
      `| ${label} | ${rate(pure1, s)} | ${rate(pureN, s)} | ${pure1 ? f(s(pure1), 2) : "–"} |`,
    );
  add("SHA-256 (node:crypto)", (t) => t["sha256"]);
  add("SHA3-256 (hash-wasm)", (t) => t["sha3-256"]);
  add("AES-256-GCM (WebCrypto, 64 MiB calls)", (t) => t["aes-256-gcm"]);
  add("AES-256-GCM (node:crypto, 64 MiB calls)", (t) => t["aes-256-gcm-node"]);
  add("ChaCha20-Poly1305 (node:crypto, 64 KiB segments)", (t) => t["chacha20-poly1305"]);
  add("SHA-256 (OpenSSL libcrypto, FFI)", (t) => t["sha256-openssl"]);
  add("SHA3-256 (OpenSSL libcrypto, FFI)", (t) => t["sha3-256-openssl"]);
  add("AES-256-GCM (OpenSSL libcrypto, FFI, 64 MiB calls)", (t) => t["aes-256-gcm-openssl"]);
  add("**plain** = SHA-256 + SHA3-256 (fastest of each)", (t) => modeSeconds(t, "plain"));
  add(
    "**aes** = SHA-256 + SHA3-256 + AES-256-GCM (fastest of each)",
    (t) => modeSeconds(t, "aes"),
  );
  add("**age** = SHA-256 + SHA3-256 + ChaCha20-Poly1305", (t) => modeSeconds(t, "age"));
  return lines.join("\n");
}

/** The issue-4 targets that this run's rows can decide, one line each. */
export function targetChecks(rows: Row[]): string[] {
  const out: string[] = [];
  const ok = (c: boolean) => c ? "PASS" : "**FAIL**";
  const s3 = (mode: string, op: string) =>
    rows.find((r) =>
      r.tool === "s3duct" && r.store === "ceph" && r.size === "1G" && r.chunk === "64M" &&
      r.mode === mode && r.op === op
    );
  // The old tool's figures were measured on another machine (issue 4): they stay in the table
  // as history, never as a ratio. Only same-run baselines make a target here.
  for (const [mode, op] of [["aes", "put"], ["plain", "put"]] as const) {
    const r = s3(mode, op);
    const what = `${op} ${mode} Ceph 1G/64M >= 0.75x aws s3 cp (same run)`;
    if (!r || r.error || !r.seconds || r.vsAws === undefined) {
      out.push(`- ${what}: not measured${r?.error ? " (run failed)" : ""}`);
      continue;
    }
    out.push(`- ${what}: ${ok(r.vsAws >= 0.75)} — ${r.seconds.toFixed(2)} s, ${x(r.vsAws)} aws`);
  }
  for (const r of rows.filter((r) => r.tool === "s3duct" && r.store === "local" && !r.error)) {
    if (r.vsPure1 === undefined) continue;
    out.push(
      `- local ${r.size}/${r.chunk} ${r.mode} ${r.op} >= 70% of pure hashing+encryption rate: ` +
        `${ok(r.vsPure1 >= 0.7)} — ${x(r.vsPure1)} of 1 core` +
        (r.vsPureN !== undefined ? ` (${x(r.vsPureN)} of all cores)` : ""),
    );
  }
  for (
    const r of rows.filter((r) =>
      r.tool === "s3duct" && r.mode === "aes" && r.op === "put" && !r.error && r.cpu !== undefined
    )
  ) {
    const per = r.cpu! / (r.bytes / GiB);
    out.push(
      `- client CPU <= 9 s/GiB, put aes ${r.store} ${r.size}/${r.chunk}: ${ok(per <= 9)} — ` +
        `${per.toFixed(2)} s/GiB`,
    );
  }
  for (const r of rows.filter((r) => r.tool === "s3duct" && !r.error && r.rssKiB)) {
    // The most chunks in flight at once; "8" or "auto (6)" (the count it ended with) otherwise.
    const w = r.peakWorkers ?? Number(/\d+/.exec(r.workers ?? "")?.[0]);
    if (!Number.isFinite(w) || !r.chunkBytes) continue;
    const limit = (w + 2) * r.chunkBytes + 80e6;
    out.push(
      `- peak RSS <= (${w} in flight + 2) x chunk + 80 MB, ${r.store} ${r.size}/${r.chunk} ` +
        `${r.mode} ${r.op}: ${ok(r.rssKiB! * 1024 <= limit)} — ${
          f(r.rssKiB! * 1024 / 1e6, 0)
        } MB <= ${f(limit / 1e6, 0)} MB`,
    );
  }
  for (const big of rows.filter((r) => r.tool === "s3duct" && r.size === "4G" && !r.error)) {
    const small = rows.find((r) =>
      r.tool === "s3duct" && r.size === "1G" && !r.error && r.store === big.store &&
      r.chunk === big.chunk && r.mode === big.mode && r.op === big.op
    );
    if (!small?.rssKiB || !big.rssKiB) continue;
    const ratio = big.rssKiB / small.rssKiB;
    out.push(
      `- peak RSS 4G within 10% of 1G, ${big.store} ${big.chunk} ${big.mode} ${big.op}: ` +
        `${ok(ratio <= 1.1)} — ${x(ratio)}`,
    );
  }
  return out;
}
