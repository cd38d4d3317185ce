/**
 * Run one command under GNU time (wall, user, sys, max RSS of that process and its waited-for
 * children only: never the S3 server), with stdin from a file and/or stdout piped through a
 * SHA-256 (`openssl dgst`, else `sha256sum`), killed (whole process group) by coreutils `timeout` if it runs too long.
 */

export interface Measured {
  ok: boolean;
  /** Exit status of the measured command (124 = timed out). */
  code: number;
  wall: number;
  user: number;
  sys: number;
  /** Peak RSS in KiB (GNU time %M). */
  maxRssKiB: number;
  /** sha256 of the command's stdout, when `hashStdout`. */
  stdoutSha256?: string;
  /** The command's stderr (capped). */
  stderr: string;
  /** Why it failed, one line. */
  error?: string;
  /** CPU seconds the `serverPids` processes used meanwhile (the S3 server's share). */
  serverCpu?: number;
}

export interface RunSpec {
  cmd: string[];
  /** File fed as stdin (else /dev/null). */
  stdinFile?: string;
  /** Pipe stdout into the SHA-256 checker (else stdout goes to /dev/null). */
  hashStdout?: boolean;
  timeoutSeconds: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Scratch dir for the time report. */
  tmpDir: string;
  /** Processes whose CPU time is sampled around the run (Ceph's daemons). */
  serverPids?: number[];
}

/** user + system CPU seconds of these processes so far (Linux /proc; CLK_TCK 100). */
export function cpuSecondsOf(pids: number[]): number | undefined {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // Fields after the command name (which may contain spaces) start after ")".
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      return undefined;
    }
  }
  return ticks / 100;
}

export const GNU_TIME = "/usr/bin/time";

/**
 * What checks a get's output: `openssl dgst` (SHA-NI, ~0.8 CPU-s/GiB here) where it exists;
 * coreutils sha256sum took ~2.5 CPU-s/GiB on the same 2 cores as the run it checks.
 */
const HASHER = (() => {
  try {
    const ok = new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
    return ok ? "openssl dgst -sha256 -r" : "sha256sum";
  } catch {
    return "sha256sum";
  }
})();

// Exit status of the measured command survives the pipe (pipefail; the hasher does not fail).
// `timeout` puts itself and its children in their own process group and kills all of it.
const SCRIPT = `set -o pipefail
tcmd=(timeout -k 10 "$BENCH_TIMEOUT" ${GNU_TIME} -o "$BENCH_TIMEFILE" -f '%e %U %S %M' "$@")
if [ "$BENCH_HASH" = 1 ]; then "\${tcmd[@]}" <"$BENCH_STDIN" | $BENCH_HASHER
else "\${tcmd[@]}" <"$BENCH_STDIN" >/dev/null
fi`;

export async function measure(spec: RunSpec): Promise<Measured> {
  const timeFile = await Deno.makeTempFile({ dir: spec.tmpDir, prefix: "time-" });
  const server0 = spec.serverPids ? cpuSecondsOf(spec.serverPids) : undefined;
  try {
    const out = await new Deno.Command("bash", {
      args: ["-c", SCRIPT, "bench", ...spec.cmd],
      cwd: spec.cwd,
      env: {
        ...spec.env,
        BENCH_TIMEOUT: String(Math.ceil(spec.timeoutSeconds)),
        BENCH_TIMEFILE: timeFile,
        BENCH_STDIN: spec.stdinFile ?? "/dev/null",
        BENCH_HASH: spec.hashStdout ? "1" : "0",
        BENCH_HASHER: HASHER,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).slice(-20000);
    const report = (await Deno.readTextFile(timeFile).catch(() => "")).trim().split("\n");
    const nums = (report.at(-1) ?? "").trim().split(/\s+/).map(Number);
    const parsed = nums.length === 4 && nums.every(Number.isFinite);
    const m: Measured = {
      ok: out.code === 0 && parsed,
      code: out.code,
      wall: parsed ? nums[0] : NaN,
      user: parsed ? nums[1] : NaN,
      sys: parsed ? nums[2] : NaN,
      maxRssKiB: parsed ? nums[3] : NaN,
      stderr,
    };
    const server1 = spec.serverPids ? cpuSecondsOf(spec.serverPids) : undefined;
    if (server0 !== undefined && server1 !== undefined) m.serverCpu = server1 - server0;
    if (spec.hashStdout) {
      m.stdoutSha256 = new TextDecoder().decode(out.stdout).trim().split(/\s+/)[0];
    }
    if (out.code === 124 || out.code === 137) {
      m.error = `timed out after ${Math.ceil(spec.timeoutSeconds)} s`;
    } else if (out.code !== 0) {
      m.error = `exit ${out.code}: ${lastLine(stderr) || "(no stderr)"}`;
    } else if (!parsed) {
      m.error = `no GNU time report (${report.join(" | ")})`;
    }
    return m;
  } finally {
    await Deno.remove(timeFile).catch(() => {});
  }
}

/** Last meaningful stderr line (skips the JSON summary and blank lines), trimmed for a table. */
export function lastLine(s: string): string {
  const lines = s.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("{"));
  return (lines.at(-1) ?? "").slice(0, 160);
}

/** The last line of stderr that parses as a JSON object (s3duct's `--summary json`). */
export function jsonSummary(stderr: string): Record<string, unknown> | undefined {
  for (const line of stderr.split("\n").reverse()) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      return JSON.parse(t);
    } catch {
      // not the summary
    }
  }
  return undefined;
}
