/**
 * Shared test helpers, for unit, compat and integration tests alike: independent reference
 * hashes (node:crypto, never the code under test), deterministic bytes, temp dirs removed when
 * the test module ends, and the CLI as a subprocess; the 0.4 fixtures (tests/fixtures.ts) are
 * re-exported. Server things (endpoints, stores, prefixes) live in tests/integration/harness.ts.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { UsageError } from "../lib/errors.ts";

export * from "./fixtures.ts";

/** Repository root (the directory holding main.ts). */
export const ROOT: string = decodeURIComponent(new URL("..", import.meta.url).pathname)
  .replace(/\/$/, "");
/** The CLI's entry point. */
export const MAIN_TS = `${ROOT}/main.ts`;

/** Assert that `fn` throws a UsageError whose message matches `mention`. */
export function throwsUsage(fn: () => unknown, mention: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert.match(e.message, mention);
    return true;
  });
}

/** Reference digests from node:crypto, independent of lib/. */
export function refHex(algorithm: "sha256" | "sha3-256" | "md5", bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest("hex");
}

/** Raw reference digest bytes from node:crypto. */
export function refBytes(algorithm: "sha256" | "sha3-256", bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(bytes).digest());
}

/**
 * Deterministic pseudo-random bytes (xorshift32), fast enough for hundreds of MiB, so failures
 * reproduce. A string seed is hashed (FNV-1a) to the starting state.
 */
export function pseudoRandom(length: number, seed: number | string = 1): Uint8Array {
  let s = typeof seed === "number" ? seed : 0x811c9dc5;
  if (typeof seed === "string") {
    for (let i = 0; i < seed.length; i++) s = Math.imul(s ^ seed.charCodeAt(i), 16777619) >>> 0;
  }
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, Math.floor(length / 4));
  let x = (typeof seed === "number" ? (s * 2654435761) >>> 0 : s) || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) out[i] = (i * 31 + s) & 0xff;
  return out;
}

/** Byte-wise equality (Buffer.compare: fast on hundreds of MiB). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Temp dirs and files this module made, removed when it unloads (the test file ended). */
const temps = new Set<string>();
globalThis.addEventListener("unload", () => {
  for (const path of temps) {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // already removed by the test, or never fully made
    }
  }
});

/** A fresh temp dir, removed when the test module ends (tests may remove it sooner). */
export function tempDir(prefix = "s3duct-test-"): string {
  const dir = Deno.makeTempDirSync({ prefix });
  temps.add(dir);
  return dir;
}

/** A fresh temp file, removed when the test module ends. */
export function tempFile(prefix = "s3duct-test-"): string {
  const file = Deno.makeTempFileSync({ prefix });
  temps.add(file);
  return file;
}

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Run `main.ts` as a user would (from the repository root); stdin is the given bytes or empty. */
export async function cli(
  args: string[],
  opts: { stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN_TS, ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  const writer = child.stdin.getWriter();
  const feeding = (async () => {
    try {
      if (opts.stdin) await writer.write(opts.stdin);
      await writer.close();
    } catch {
      // the child may exit before reading everything (e.g. a usage error)
    }
  })();
  const out = await child.output();
  await feeding;
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** A CLI run under GNU time: its result, peak RSS (KiB, from wait4) and wall seconds. */
export interface Measured extends CliResult {
  peakKiB: number;
  seconds: number;
}

/**
 * Run `main.ts` under /usr/bin/time (stdin null), optionally under timeout(1) (a hang is killed
 * and shows as exit 137 instead of stalling the suite) and with extra `deno run` flags.
 */
export async function measuredCli(
  args: string[],
  env: Record<string, string>,
  opts: { timeoutS?: number; denoFlags?: string[] } = {},
): Promise<Measured> {
  const out = tempFile("s3duct-time-");
  try {
    const killer = opts.timeoutS ? ["timeout", "-s", "KILL", String(opts.timeoutS)] : [];
    const deno = [Deno.execPath(), "run", "-A", "--quiet", ...(opts.denoFlags ?? []), MAIN_TS];
    const r = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M %e", "-o", out, ...killer, ...deno, ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).output();
    // The -o file ends with our format line (after "Command exited with non-zero status N").
    const [peak, secs] = (await Deno.readTextFile(out)).trim().split("\n").at(-1)!.split(" ");
    return {
      code: r.code,
      stdout: r.stdout,
      stderr: new TextDecoder().decode(r.stderr),
      peakKiB: Number(peak),
      seconds: Number(secs),
    };
  } finally {
    await Deno.remove(out);
  }
}

/** `main.ts` as a child with stdin piped and its output discarded: for puts a test kills. */
export function spawnCli(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN_TS, ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
    env: { ...env, NO_COLOR: "1" },
  }).spawn();
}

/** Fails if `message` contains any 8-character run of `secret` (key material must not leak). */
export function leaksSecret(message: string, secret: string): boolean {
  if (secret.length < 8) return message.includes(secret);
  for (let i = 0; i + 8 <= secret.length; i++) {
    if (message.includes(secret.slice(i, i + 8))) return true;
  }
  return false;
}
