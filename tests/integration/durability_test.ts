/**
 * Durability across power loss in the local-directory store (issue 11.6), shown on the real
 * system calls: a `put` (and a `delete`) run under Debian's strace, and the trace must show
 *
 * - every chunk's data fsync'd before its rename into place;
 * - every rename or link into place followed by an fsync of its directory;
 * - every directory the put created fsync'd into its parent;
 * - all of that finished before the manifest is linked into place, so a manifest that
 *   survives a power loss never names a chunk (or a directory) the file system can still lose;
 * - on delete, the chunks' directory fsync'd after their unlinks and before the manifest goes.
 *
 * Skipped (ignore, with a message) only when strace is not installed.
 */
import assert from "node:assert/strict";
import { cli, pseudoRandom } from "./harness.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (!STRACE) {
  console.error("durability_test: strace not installed (apt-get install strace): ignored");
}

const TRACED = [
  "fsync",
  "fdatasync",
  "rename",
  "renameat",
  "renameat2",
  "link",
  "linkat",
  "mkdir",
  "mkdirat",
  "unlink",
  "unlinkat",
];

/** One system call from the trace; `start`/`end` order calls (entry and exit lines). */
interface Call {
  name: string;
  args: string;
  ok: boolean;
  start: number;
  end: number;
}

/**
 * Parse `strace -f -y -o FILE` output: "PID name(args) = ret", where a call interrupted by
 * another thread's is split into "PID name(args <unfinished ...>" and later
 * "PID <... name resumed>rest) = ret" (joined here per PID).
 */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, { name: string; args: string; start: number }>();
  text.split("\n").forEach((line, at) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const [, pid, rest] = m;
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(pid, { name: unfinished[1], args: unfinished[2], start: at });
      return;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\)\s+= (-?\d+)/.exec(rest);
    if (resumed) {
      const o = open.get(pid);
      if (!o || o.name !== resumed[1]) return;
      open.delete(pid);
      calls.push({
        name: o.name,
        args: o.args + resumed[2],
        ok: resumed[3] === "0",
        start: o.start,
        end: at,
      });
      return;
    }
    const whole = /^(\w+)\((.*)\)\s+= (-?\d+)/.exec(rest);
    if (whole) {
      calls.push({ name: whole[1], args: whole[2], ok: whole[3] === "0", start: at, end: at });
    }
  });
  return calls;
}

/** Paths in a call's arguments: quoted strings, and fds shown with their path by -y. */
function paths(c: Call): string[] {
  return [...c.args.matchAll(/"((?:[^"\\]|\\.)*)"|<([^>]*)>/g)].map((m) => m[1] ?? m[2]);
}

const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));

/** fsyncs (or fdatasyncs) of `path` that start after `after` and end before `before`. */
function syncsOf(calls: Call[], path: string, after: number, before = Infinity): Call[] {
  return calls.filter((c) =>
    (c.name === "fsync" || c.name === "fdatasync") && c.ok && paths(c)[0] === path &&
    c.start > after && c.end < before
  );
}

async function traced(args: string[], stdin?: Uint8Array): Promise<Call[]> {
  const out = await Deno.makeTempFile({ prefix: "s3duct-strace-" });
  try {
    const child = new Deno.Command(STRACE!, {
      args: [
        "-f",
        "-y",
        "-qq",
        "-o",
        out,
        "-e",
        `trace=${TRACED.join(",")}`,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        MAIN,
        ...args,
      ],
      stdin: stdin ? "piped" : "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    if (stdin) {
      const w = child.stdin.getWriter();
      await w.write(stdin);
      await w.close();
    }
    const r = await child.output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    return parseTrace(await Deno.readTextFile(out));
  } finally {
    await Deno.remove(out);
  }
}

/**
 * Every rename or link into the bucket: its temporary file fsync'd before, its directory after,
 * and for chunks before the manifest is published. Returns the manifest's call.
 */
function assertPlacedDurably(calls: Call[], inBucket: (p: string) => boolean): Call {
  const placed = calls.filter((c) =>
    c.ok && /^(rename|renameat|renameat2|link|linkat)$/.test(c.name) &&
    inBucket(paths(c).at(-1)!)
  );
  const manifest = placed.find((c) => paths(c).at(-1)!.endsWith("/.manifest.json"));
  assert.ok(manifest, `the manifest was linked or renamed into place:\n${placed}`);
  const chunks = placed.filter((c) => /\/chunk-\d{6}$/.test(paths(c).at(-1)!));
  assert.equal(chunks.length, 4, "four chunks renamed into place");

  for (const c of placed) {
    const [from, to] = [paths(c).find((p) => p.includes(".s3duct-tmp-"))!, paths(c).at(-1)!];
    // The data: the temporary file fsync'd before it took its name.
    assert.equal(syncsOf(calls, from, -1, c.start).length, 1, `${from} fsync'd before ${c.name}`);
    // The name: its directory fsync'd after the rename/link finished.
    const after = syncsOf(calls, dirOf(to), c.end);
    assert.ok(after.length >= 1, `${c.name} to ${to} not followed by an fsync of its directory`);
    // ...and, for chunks, before the manifest is published.
    if (c !== manifest) {
      assert.ok(
        syncsOf(calls, dirOf(to), c.end, manifest.start).length >= 1,
        `${to}: its directory fsync must finish before the manifest is linked`,
      );
    }
  }
  return manifest;
}

/** a/, a/b/, a/b/db/ and the chunk generation folder are new: each fsync'd into its parent. */
function assertNewDirsSynced(calls: Call[], inBucket: (p: string) => boolean, manifest: Call) {
  const made = calls.filter((c) =>
    c.ok && (c.name === "mkdir" || c.name === "mkdirat") && inBucket(paths(c).at(-1)!)
  );
  assert.ok(made.length >= 3, `directories created: ${made.map((c) => paths(c).at(-1))}`);
  for (const d of made) {
    const dir = paths(d).at(-1)!;
    assert.ok(
      syncsOf(calls, dirOf(dir), d.end, manifest.start).length >= 1,
      `new directory ${dir} not fsync'd into its parent before the manifest`,
    );
  }
}

/** delete: chunks go, their directory is synced, and only then the manifest goes. */
function assertDeleteOrder(del: Call[]) {
  const unlinks = del.filter((c) => c.ok && /^unlink(at)?$/.test(c.name));
  const gone = unlinks.find((c) => paths(c).at(-1)!.endsWith("/.manifest.json"));
  assert.ok(gone, "the manifest was unlinked");
  const chunkUnlinks = unlinks.filter((c) => /\/chunk-\d{6}$/.test(paths(c).at(-1)!));
  assert.equal(chunkUnlinks.length, 4);
  for (const c of chunkUnlinks) {
    assert.ok(c.end < gone.start, "chunks are unlinked before the manifest");
    assert.ok(
      syncsOf(del, dirOf(paths(c).at(-1)!), c.end, gone.start).length >= 1,
      `${paths(c).at(-1)}: directory not fsync'd before the manifest was unlinked`,
    );
  }
}

Deno.test({
  name: "durability (local): renames, links and new directories are fsync'd before the manifest",
  ignore: !STRACE,
  fn: async () => {
    // strace -y prints real paths: resolve the temp dir's (it may sit behind a symlink).
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "s3duct-durable-" }));
    try {
      await Deno.mkdir(`${root}/bkt`);
      const bucket = `${root}/bkt`;
      const store = ["--bucket", "bkt", "--endpoint-url", `file://${root}`];
      const args = [...store, "--prefix", "a/b", "--name", "db", "--chunk-size", "64K"];
      const data = pseudoRandom(3 * 65536 + 1000, 11); // 4 chunks
      const calls = await traced(["put", ...args, "--no-encrypt"], data);
      const inBucket = (p: string) => p.startsWith(`${bucket}/`);
      const manifest = assertPlacedDurably(calls, inBucket);
      assertNewDirsSynced(calls, inBucket, manifest);
      const del = await traced(["delete", ...store, "--prefix", "a/b", "--name", "db", "--force"]);
      assertDeleteOrder(del);
      const after = await cli(["get", ...store, "--prefix", "a/b", "--name", "db"]);
      assert.equal(after.code, 3, "the stream is gone");
      assert.equal(after.stdout.length, 0);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
