/**
 * A store that holds more, or other, than the manifest says (issue 12), through the real CLI:
 *
 * - size before read: a chunk far bigger than its record allows fails `get` and `verify --deep`
 *   with exit 4 at once, with bounded memory (peak RSS from GNU time, and V8's heap capped with
 *   --max-old-space-size), on the local store (a 3 GiB sparse file) and on Ceph (a 256 MiB
 *   object: 3 GiB would take over a third of the shared memstore's 8 GiB);
 * - the manifest cap: a manifest object over manifestSizeLimit is refused unread;
 * - regular files only: a FIFO, socket or symlink where an object belongs is exit 4, never a
 *   hang, and `list`, `cleanup` and `delete` never act through a symlink.
 *
 * Each case checks the exit code and exactly how many bytes reached stdout: none, or exactly
 * the chunks verified before the bad one.
 */
import { OversizeObjectError } from "../../lib/errors.ts";
import assert from "node:assert/strict";
import { manifestSizeLimit } from "../../lib/pipeline/manifest_io.ts";
import {
  bytesEqual,
  cleanPrefix,
  cli,
  directStore,
  pseudoRandom,
  runPrefix,
  s3Args,
  s3Env,
  TEST_KEY_HEX,
} from "./harness.ts";
import { type CliResult, type Measured, measuredCli } from "../helpers.ts";

const MiB = 1024 * 1024;
const GiB3 = 3 * 1024 * MiB;
const CHUNK = MiB;
const data = pseudoRandom(CHUNK + CHUNK / 2, 12); // 2 chunks
/** Peak RSS allowed for a refused get: the CLI alone peaks at ~70 MiB here. */
const RSS_LIMIT_KIB = 128 * 1024;
/** V8's own heap, capped in the child: an accidental big JS allocation dies instead. */
const V8_HEAP_MIB = 64;
const env = { K: TEST_KEY_HEX };

/**
 * The CLI under GNU time and timeout(1), with V8's heap capped (see measuredCli): peak RSS
 * and a hang both show, which harness.ts's `cli` cannot.
 */
const measured = (args: string[], extraEnv: Record<string, string> = {}, timeoutS = 30) =>
  measuredCli(args, { ...env, ...extraEnv }, {
    timeoutS,
    denoFlags: [`--v8-flags=--max-old-space-size=${V8_HEAP_MIB}`],
  });

const hasGnuTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
const IGNORE_NO_TIME = !hasGnuTime;
if (IGNORE_NO_TIME) {
  console.error("hostile_store_test: /usr/bin/time (GNU time) missing: RSS cases ignored");
}

/** Exit code, exact stdout bytes, and one line (no stack) on stderr. */
function assertRefused(r: CliResult, stdout: Uint8Array, mention: RegExp): void {
  assert.equal(r.code, 4, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout.length, stdout.length, "stdout bytes");
  assert.ok(bytesEqual(r.stdout, stdout), "stdout holds exactly the verified chunks");
  assert.match(r.stderr, mention);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
}

function assertBounded(r: Measured, what: string): void {
  console.error(`  ${what}: exit ${r.code} in ${r.seconds} s, peak RSS ${r.peakKiB} KiB`);
  assert.ok(r.peakKiB > 0 && r.peakKiB < RSS_LIMIT_KIB, `${what}: peak RSS ${r.peakKiB} KiB`);
  // The CLI's own start-up is ~0.15 s; reading the object would take seconds (and its size
  // in memory). The refusal itself is timed in-process in tests/unit/store_limits_test.ts.
  assert.ok(r.seconds < 2, `${what}: ${r.seconds} s`);
}

// ------------------------------------------------------------------------- local store

interface Local {
  root: string;
  args: string[];
  name: string;
  /** Paths of the chunk objects and the manifest, from the manifest's records. */
  chunk: (i: number) => string;
  manifest: string;
  remove(): Promise<void>;
}

let streams = 0;

async function localStream(mode: "plain" | "aes", opts: { root?: string } = {}): Promise<Local> {
  const root = opts.root ?? await Deno.makeTempDir({ prefix: "s3duct-hostile-" });
  await Deno.mkdir(`${root}/bkt`, { recursive: true });
  const name = `s${streams++}`;
  const args = ["--bucket", "bkt", "--endpoint-url", `file://${root}`, "--name", name];
  const put = await cli([
    "put",
    ...args,
    "--chunk-size",
    String(CHUNK),
    ...(mode === "plain" ? ["--no-encrypt"] : ["--key", "env:K"]),
    ...(mode === "aes" ? ["--no-encrypt-manifest"] : []),
  ], { stdin: data, env });
  assert.equal(put.code, 0, put.stderr);
  const manifest = `${root}/bkt/${name}/.manifest.json`;
  const keys = (JSON.parse(await Deno.readTextFile(manifest)).chunks as { s3_key: string }[])
    .map((c) => c.s3_key);
  return {
    root,
    args,
    name,
    chunk: (i) => `${root}/bkt/${keys[i]}`,
    manifest,
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

async function sparse(path: string, size: number): Promise<void> {
  await Deno.remove(path).catch(() => {});
  using f = await Deno.open(path, { write: true, createNew: true });
  await f.truncate(size);
}

async function mkfifo(path: string): Promise<void> {
  await Deno.remove(path);
  const r = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(r.code, 0, "mkfifo");
}

Deno.test({
  name: "size before read (local): chunk 0 a 3 GiB sparse file, 1 MiB recorded: exit 4, 0 bytes",
  ignore: IGNORE_NO_TIME,
  fn: async () => {
    const s = await localStream("plain");
    try {
      const healthy = await measured(["get", ...s.args]);
      assert.equal(healthy.code, 0, healthy.stderr);
      assert.ok(bytesEqual(healthy.stdout, data));
      console.error(`  healthy get: ${healthy.seconds} s, peak RSS ${healthy.peakKiB} KiB`);
      await sparse(s.chunk(0), GiB3);
      const get = await measured(["get", ...s.args]);
      assertRefused(
        get,
        new Uint8Array(0),
        /chunk 0 of 's\d+'.* is 3221225472 bytes, over the 1048576/,
      );
      assertBounded(get, "get");
      const deep = await measured(["verify", "--deep", ...s.args]);
      assert.equal(deep.code, 4, deep.stderr);
      assert.equal(deep.stdout.length, 0);
      assert.match(deep.stderr, /CORRUPT chunk 0: .* is 3221225472 bytes/);
      assertBounded(deep, "verify --deep");
    } finally {
      await s.remove();
    }
  },
});

Deno.test("size before read (local, AES): one byte over size + 28 in chunk 1: exit 4 after chunk 0", async () => {
  const s = await localStream("aes");
  try {
    const sealed = await Deno.readFile(s.chunk(1));
    assert.equal(sealed.length, CHUNK / 2 + 28, "the AES object is exactly size + 28");
    await Deno.writeFile(s.chunk(1), new Uint8Array([...sealed, 0]));
    const r = await cli(["get", ...s.args, "--key", "env:K"], { env });
    assertRefused(r, data.subarray(0, CHUNK), /chunk 1 of .* is 524317 bytes, over the 524316/);
  } finally {
    await s.remove();
  }
});

Deno.test("manifest cap (local): a 3 GiB manifest object is refused unread: exit 4, 0 bytes", async () => {
  const s = await localStream("plain");
  try {
    await sparse(s.manifest, GiB3);
    const cap = manifestSizeLimit(s.name);
    for (const cmd of [["get"], ["verify"], ["verify", "--deep"]]) {
      const t0 = performance.now();
      const r = await cli([...cmd, ...s.args], { env });
      const ms = performance.now() - t0;
      assertRefused(
        r,
        new Uint8Array(0),
        new RegExp(`manifest of '${s.name}' .* is ${GiB3} bytes, over the ${cap} allowed`),
      );
      assert.ok(ms < 5000, `${cmd.join(" ")}: ${ms.toFixed(0)} ms`);
    }
  } finally {
    await s.remove();
  }
});

Deno.test("regular files only (local): FIFOs and sockets as chunk or manifest: exit 4, no hang", async () => {
  const s = await localStream("plain");
  try {
    await mkfifo(s.chunk(0));
    const chunkFifo = await measured(["get", ...s.args], {}, 20);
    assertRefused(chunkFifo, new Uint8Array(0), /chunk-000000' .* is a FIFO/);
    const deep = await measured(["verify", "--deep", ...s.args], {}, 20);
    assert.equal(deep.code, 4, deep.stderr);
    assert.equal(deep.stdout.length, 0);
    await mkfifo(s.manifest);
    const manifestFifo = await measured(["get", ...s.args], {}, 20);
    assertRefused(manifestFifo, new Uint8Array(0), /\.manifest\.json' .* is a FIFO/);
    await Deno.remove(s.manifest);
    const listener = Deno.listen({ transport: "unix", path: s.manifest });
    try {
      const r = await measured(["get", ...s.args], {}, 20);
      assertRefused(r, new Uint8Array(0), /\.manifest\.json' .* is a socket/);
    } finally {
      listener.close();
    }
  } finally {
    await s.remove();
  }
});

Deno.test("regular files only (local): a symlinked chunk 1 is exit 4 after exactly chunk 0", async () => {
  const s = await localStream("plain");
  try {
    // Even pointing at the right bytes: the store follows no symlink below the bucket.
    await Deno.rename(s.chunk(1), `${s.root}/elsewhere`);
    await Deno.symlink(`${s.root}/elsewhere`, s.chunk(1));
    const r = await cli(["get", ...s.args], { env });
    assertRefused(r, data.subarray(0, CHUNK), /chunk-000001' .* is a symbolic link/);
  } finally {
    await s.remove();
  }
});

Deno.test("symlinks (local): list, cleanup and delete never act through a symlinked directory", async () => {
  const root = await Deno.makeTempDir({ prefix: "s3duct-hostile-" });
  const outside = await Deno.makeTempDir({ prefix: "s3duct-outside-" });
  try {
    // A whole stream outside the bucket, and a half-uploaded one (chunks, no manifest),
    // both reachable only through symlinked directories inside it.
    const far = await localStream("plain", { root: outside });
    const orphan = far.chunk(0);
    await Deno.remove(far.manifest);
    await Deno.mkdir(`${root}/bkt`);
    await Deno.symlink(`${outside}/bkt/${far.name}`, `${root}/bkt/linked`);
    const mine = await localStream("plain", { root });
    await Deno.symlink(`${root}/bkt/${mine.name}`, `${root}/bkt/alias`);
    const store = ["--bucket", "bkt", "--endpoint-url", `file://${root}`];

    const list = await cli(["list", ...store], { env });
    assert.equal(list.code, 0, list.stderr);
    const listed = new TextDecoder().decode(list.stdout);
    assert.match(listed, new RegExp(`\\b${mine.name}\\b`));
    assert.doesNotMatch(listed, /alias|linked/, listed);

    const cleanup = await cli(["cleanup", ...store, "--force"], { env });
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.equal(cleanup.stdout.length, 0, "no orphan visible, none deleted");
    assert.ok((await Deno.lstat(orphan)).isFile, "the orphan behind the symlink is untouched");

    // `alias` names a stream only through the symlink: refused, nothing deleted.
    const del = await cli(["delete", ...store, "--name", "alias", "--force"], { env });
    assert.equal(del.code, 4, del.stderr);
    assert.equal(del.stdout.length, 0);
    assert.match(del.stderr, /symbolic link/);
    assert.ok((await Deno.lstat(mine.manifest)).isFile);
    assert.ok((await Deno.lstat(mine.chunk(0))).isFile);
    const get = await cli(["get", ...mine.args], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, data), "the real stream is whole");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

// -------------------------------------------------------------------------------- Ceph

const prefix = runPrefix("hostile");
const s3 = directStore();
const cephEnv = { ...s3Env(), ...env };

async function cephStream(name: string, mode: "plain" | "aes"): Promise<string[]> {
  const args = [...s3Args(), "--prefix", prefix, "--name", name];
  const put = await cli([
    "put",
    ...args,
    "--chunk-size",
    String(CHUNK),
    ...(mode === "plain" ? ["--no-encrypt"] : ["--key", "env:K", "--no-encrypt-manifest"]),
  ], { stdin: data, env: cephEnv });
  assert.equal(put.code, 0, put.stderr);
  return args;
}

async function cephChunkKey(name: string, i: number): Promise<string> {
  const m = JSON.parse(new TextDecoder().decode(await s3.get(`${prefix}/${name}/.manifest.json`)));
  return `${prefix}/${m.chunks[i].s3_key}`;
}

Deno.test({
  name: "size before read (Ceph): chunk 0 a 256 MiB object, 1 MiB recorded: exit 4, 0 bytes",
  ignore: IGNORE_NO_TIME,
  fn: async () => {
    const args = await cephStream("big", "plain");
    const healthy = await measured(["get", ...args], s3Env());
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.ok(bytesEqual(healthy.stdout, data));
    console.error(`  healthy get (Ceph): ${healthy.seconds} s, peak RSS ${healthy.peakKiB} KiB`);
    const key = await cephChunkKey("big", 0);
    const big = new Uint8Array(256 * MiB);
    const t0 = performance.now();
    await s3.put(key, big); // multipart: 16 parts
    console.error(`  256 MiB uploaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal((await s3.head(key))?.size, 256 * MiB);
    // The refusal itself, in-process against Ceph: the first range's head is enough.
    const t1 = performance.now();
    await assert.rejects(s3.get(key, undefined, { maxBytes: CHUNK }), OversizeObjectError);
    const ms = performance.now() - t1;
    console.error(`  store.get refused the 256 MiB object in ${ms.toFixed(1)} ms`);
    assert.ok(ms < 1000, `${ms} ms`);
    const get = await measured(["get", ...args], s3Env());
    assertRefused(
      get,
      new Uint8Array(0),
      /chunk 0 of 'big'.* is 268435456 bytes, over the 1048576/,
    );
    assertBounded(get, "get (Ceph)");
    const deep = await measured(["verify", "--deep", ...args], s3Env());
    assert.equal(deep.code, 4, deep.stderr);
    assert.equal(deep.stdout.length, 0);
    assert.match(deep.stderr, /CORRUPT chunk 0: .* is 268435456 bytes/);
    assertBounded(deep, "verify --deep (Ceph)");
  },
});

Deno.test("size before read (Ceph, AES): one byte over size + 28 in chunk 1: exit 4 after chunk 0", async () => {
  const args = await cephStream("aes", "aes");
  const key = await cephChunkKey("aes", 1);
  const sealed = await s3.get(key);
  assert.equal(sealed.length, CHUNK / 2 + 28);
  await s3.put(key, new Uint8Array([...sealed, 0]));
  const r = await cli(["get", ...args, "--key", "env:K"], { env: cephEnv });
  assertRefused(r, data.subarray(0, CHUNK), /chunk 1 of 'aes'.* is 524317 bytes, over the 524316/);
});

Deno.test("hostile store: clean up Ceph", () => cleanPrefix(prefix));
