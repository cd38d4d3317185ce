/**
 * Shared pieces of the integration tests: the real S3 servers started by tests/run.sh (Ceph RGW,
 * and Swift's s3api for the server matrix; no mock: tests fail loudly when Ceph is absent), the
 * CLI as a subprocess, and deterministic data.
 */
import assert from "node:assert/strict";
import { S3Store } from "../../lib/store/s3_store.ts";
import type { Store } from "../../lib/store/store.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Where one test server listens, and as whom the tests sign. */
export interface Ceph {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** A server of the matrix: its name (in test names) and how to reach it. */
export interface Server extends Ceph {
  name: "ceph" | "swift";
}

function serverFromEnv(name: Server["name"], prefix: string, hint: string): Server {
  const get = (k: string) => {
    const v = Deno.env.get(`${prefix}_${k}`);
    if (!v) throw new Error(`${prefix}_${k} is not set: ${hint}`);
    return v;
  };
  return {
    name,
    endpoint: get("ENDPOINT"),
    bucket: get("BUCKET"),
    accessKey: get("ACCESS_KEY"),
    secretKey: get("SECRET_KEY"),
    region: get("REGION"),
  };
}

/** The Ceph RGW every integration test needs. */
export function ceph(): Server {
  return serverFromEnv(
    "ceph",
    "S3DUCT_TEST",
    "integration tests need the Ceph RGW that 'deno task test' starts",
  );
}

/**
 * The servers the data-moving tests run on, each from one test body: Ceph always; Swift's
 * s3api when tests/servers/swift.sh's env is loaded (tests/run.sh does, and sets
 * S3DUCT_REQUIRE_SWIFT=1 so a missing Swift fails instead of silently shrinking the matrix).
 */
export function servers(): Server[] {
  const list = [ceph()];
  if (Deno.env.get("S3DUCT_SWIFT_ENDPOINT") || Deno.env.get("S3DUCT_REQUIRE_SWIFT") === "1") {
    list.push(serverFromEnv(
      "swift",
      "S3DUCT_SWIFT",
      "the server matrix needs the Swift that tests/servers/swift.sh starts (tests/run.sh does)",
    ));
  }
  return list;
}

/** Environment for CLI runs against a server (Ceph by default): credentials only, no profiles. */
export function s3Env(c: Ceph = ceph()): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: c.accessKey,
    AWS_SECRET_ACCESS_KEY: c.secretKey,
    AWS_REGION: c.region,
    // Only 127.0.0.1 may be contacted: no instance-metadata probing.
    AWS_EC2_METADATA_DISABLED: "true",
    HOME: Deno.makeTempDirSync({ prefix: "s3duct-home-" }),
  };
}

/** `--bucket B --endpoint-url E` for a server (Ceph by default). */
export function s3Args(c: Ceph = ceph()): string[] {
  return ["--bucket", c.bucket, "--endpoint-url", c.endpoint];
}

/** A direct store handle, for tampering with objects behind the CLI's back. */
export function directStore(c: Ceph = ceph()): S3Store {
  return new S3Store({
    bucket: c.bucket,
    region: c.region,
    endpoint: c.endpoint,
    credentials: { accessKeyId: c.accessKey, secretAccessKey: c.secretKey },
    keepAlive: false,
  });
}

export interface CliResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Run `main.ts` as a user would; stdin is the given bytes (or empty). */
export async function cli(
  args: string[],
  opts: { stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
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

/** Deterministic pseudo-random bytes (xorshift), fast enough for hundreds of MiB. */
export function testBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, Math.floor(n / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A fresh prefix per test file, so runs never see each other's streams. */
export function runPrefix(label: string): string {
  return `it-${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Remove everything under a prefix (memstore keeps data in RAM until deleted). */
export async function cleanPrefix(prefix: string, c: Ceph = ceph()): Promise<void> {
  const store = directStore(c);
  const keys: string[] = [];
  for await (const e of store.list(`${prefix}/`)) if (e.kind === "object") keys.push(e.key);
  if (keys.length) await store.delete(keys);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const TEST_KEY_HEX = "8f".repeat(16) + "1c".repeat(16);
export const OTHER_KEY_HEX = "a5".repeat(32);

/** Lines in the (single) resume log under a state dir: header + one per stored chunk. */
export function logLines(dir: string): number {
  for (const f of Deno.readDirSync(dir)) {
    if (f.name.endsWith(".jsonl")) {
      return Deno.readTextFileSync(`${dir}/${f.name}`).split("\n").length - 1;
    }
  }
  return 0;
}

/**
 * A put interrupted for sure: feed half the input, wait until `stored` chunks are logged as
 * stored, SIGKILL. Stdin is still open, so the put cannot have published anything.
 */
export async function putInterrupted(
  args: string[],
  data: Uint8Array,
  env: Record<string, string>,
  stored = 3,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
    env: { ...env, NO_COLOR: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(data.subarray(0, data.length >> 1));
  const deadline = Date.now() + 60_000;
  while (logLines(env.S3DUCT_STATE_DIR) < 1 + stored && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await child.status;
  await w.close().catch(() => {});
  assert.ok(logLines(env.S3DUCT_STATE_DIR) >= 1 + stored, "put never stored the first chunks");
}

/**
 * The full key of chunk `index` of the stream at `base` (`prefix/name`), wherever its put
 * wrote it: every put writes its chunks into a generation folder of its own.
 */
export async function findChunkKey(
  base: string,
  index: number,
  store: Store = directStore(),
): Promise<string> {
  const tail = `chunk-${String(index).padStart(6, "0")}`;
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/(g[0-9a-z]{8}/)?${tail}$`);
  for await (const e of store.list(`${base}/`)) {
    if (e.kind === "object" && re.test(e.key)) return e.key;
  }
  throw new Error(`no chunk ${index} of '${base}' in ${store.location}`);
}
