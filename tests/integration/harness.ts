/**
 * Server things of the integration tests: the real S3 servers started by tests/run.sh (Ceph RGW,
 * and Swift's s3api for the server matrix; no mock: tests fail loudly when Ceph is absent), a
 * Suite per test file (its prefix, environment and argv builder), direct store handles and
 * interrupted puts. The CLI runner, bytes and temp dirs come from tests/helpers.ts.
 */
import assert from "node:assert/strict";
import { S3Store } from "../../lib/store/s3_store.ts";
import type { Store } from "../../lib/store/store.ts";
import { cli, type CliResult, spawnCli, tempDir } from "../helpers.ts";

// One runner, comparer and byte maker for every test: re-exported so a test file imports from one place.
export { bytesEqual, cli, type CliResult, pseudoRandom } from "../helpers.ts";

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
    HOME: tempDir("s3duct-home-"),
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

/**
 * One test file's streams on one server: a fresh prefix, the CLI's environment (credentials plus
 * `env`), a direct store handle, and the argv every command on a stream starts with. Replaces
 * the put/get helpers each file used to copy.
 */
export class Suite {
  /** e.g. `it-v2-1a2b3c4d`: no two runs share it. */
  readonly prefix: string;
  /** Credentials for `server`, a fresh HOME, then the given extras (keys in env vars...). */
  readonly env: Record<string, string>;
  /** For tampering with objects behind the CLI's back. */
  readonly store: S3Store;

  constructor(label: string, readonly server: Server = ceph(), env: Record<string, string> = {}) {
    this.prefix = runPrefix(label);
    this.env = { ...s3Env(server), ...env };
    this.store = directStore(server);
  }

  /** This suite's environment with a resume-state dir of its own (removed when the file ends). */
  stateEnv(): Record<string, string> {
    return { ...this.env, S3DUCT_STATE_DIR: tempDir("s3duct-state-") };
  }

  /** `--bucket B --endpoint-url E --prefix P --name N`, then `more`. */
  at(name: string, ...more: string[]): string[] {
    return [...s3Args(this.server), "--prefix", this.prefix, "--name", name, ...more];
  }

  /** `cmd` on the stream `name` (see `at`), with this suite's environment unless given. */
  run(cmd: string, name: string, more: string[] = [], stdin?: Uint8Array, env = this.env) {
    return cli([cmd, ...this.at(name, ...more)], { stdin, env });
  }

  /** `put` of `data` as `name`, asserted to succeed (its stderr is the failure message). */
  async put(name: string, data: Uint8Array, ...more: string[]): Promise<CliResult> {
    const r = await this.run("put", name, more, data);
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

  /** The full key of chunk `index` of the stream `name` (see findChunkKey). */
  chunkKey(name: string, index: number): Promise<string> {
    return findChunkKey(`${this.prefix}/${name}`, index, this.store);
  }

  /** Delete chunk `index` of the stream `name` behind the CLI's back; its key, checked gone. */
  async removeChunk(name: string, index: number): Promise<string> {
    const key = await this.chunkKey(name, index);
    await this.store.delete([key]);
    assert.equal(await this.store.head(key), undefined, `${key} still there`);
    return key;
  }

  /** The key of the stream `name`'s manifest. */
  manifestKey(name: string): string {
    return `${this.prefix}/${name}/.manifest.json`;
  }

  /** The stream `name`'s stored plain manifest, parsed as JSON.parse does (untyped: tests edit it). */
  async manifest(name: string): Promise<ReturnType<typeof JSON.parse>> {
    return JSON.parse(new TextDecoder().decode(await this.store.get(this.manifestKey(name))));
  }

  /** Remove every object under the prefix (memstore keeps data in RAM until deleted). */
  clean(): Promise<void> {
    return cleanPrefix(this.prefix, this.server);
  }
}

/** A failed run: exit `code`, nothing on stdout (no unverified bytes), stderr naming `mention`. */
export function assertFailed(r: CliResult, code: number, mention?: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout.length, 0, "nothing on stdout");
  if (mention) assert.match(r.stderr, mention);
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
  const child = spawnCli(args, env);
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
