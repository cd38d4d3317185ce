/**
 * get --offset/--length on Ceph: exact bytes for ranges inside a chunk, across borders, the
 * first and last byte, empty and whole, in every sealing (plain, AES, age, format 2); only the
 * covering chunks are fetched; a killed get resumes with `--offset $(stat -c %s part) >> part`;
 * damage outside the range does not matter, inside it fails with nothing of it written.
 * verify --deep and restore take the same range.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { serializeManifest } from "../../lib/format/manifest.ts";
import { FaultProxy } from "../servers/fault_proxy.ts";
import { GlacierStandin } from "../servers/glacier_standin.ts";
import { filesUnder, MAIN_TS, tempDir } from "../helpers.ts";
import { bytesEqual, ceph, cli, pseudoRandom, Suite, TEST_KEY_HEX } from "./harness.ts";

const t = new Suite("range", undefined, { K: TEST_KEY_HEX });
const { prefix, env, store } = t;
const tmp = tempDir("s3duct-range-");
const CHUNK = 4096;
const data = pseudoRandom(5 * CHUNK + 777, 17); // 6 chunks, the last 777 bytes
const TOTAL = data.length;

type Mode = "plain" | "aes" | "aes-plain-manifest" | "age" | "v2" | "v2-sealed-manifest";
let n = 0;
let ageId = "";

/** The key options a reader of this mode passes. */
function readKeys(mode: Mode): string[] {
  if (mode === "plain") return [];
  return mode === "age" ? ["--age-identity", ageId] : ["--key", "env:K"];
}

async function ageRecipient(): Promise<string> {
  if (ageId) return new TextDecoder().decode(await Deno.readFile(`${ageId}.pub`)).trim();
  ageId = `${tmp}/id.txt`;
  const r = await cli(["keygen", "-o", ageId], { env });
  assert.equal(r.code, 0, r.stderr);
  await Deno.writeFile(`${ageId}.pub`, r.stdout);
  return new TextDecoder().decode(r.stdout).trim();
}

/** A fresh stream of `data` in this mode; returns its name. */
async function put(mode: Mode, bytes = data, chunk = CHUNK): Promise<string> {
  const name = `${mode}-${n++}`;
  const keys = mode === "plain"
    ? ["--no-encrypt"]
    : mode === "age"
    ? ["--age-recipient", await ageRecipient()]
    : ["--key", "env:K"];
  const extra = {
    "plain": [],
    "aes": [],
    "aes-plain-manifest": ["--no-encrypt-manifest"],
    "age": [],
    "v2": ["--format", "2", "--no-encrypt-manifest"],
    "v2-sealed-manifest": ["--format", "2"],
  }[mode];
  await t.put(name, bytes, "--chunk-size", String(chunk), ...keys, ...extra);
  return name;
}

const base = (name: string) => t.at(name);
const get = (mode: Mode, name: string, range: string[], more: string[] = []) =>
  t.run("get", name, [...readKeys(mode), ...range, ...more]);

/** [--offset, --length] pairs and the bytes each must write; chunks it must fetch. */
const RANGES: { args: string[]; want: [number, number]; chunks: number }[] = [
  { args: ["--offset", "4100", "--length", "100"], want: [4100, 4200], chunks: 1 },
  { args: ["--offset", "4000", "--length", "9000"], want: [4000, 13000], chunks: 4 },
  { args: ["--offset", "4K", "--length", "4K"], want: [4096, 8192], chunks: 1 },
  { args: ["--offset", "0", "--length", "1"], want: [0, 1], chunks: 1 },
  { args: ["--offset", String(TOTAL - 1)], want: [TOTAL - 1, TOTAL], chunks: 1 },
  { args: ["--offset", String(TOTAL - 1), "--length", "1"], want: [TOTAL - 1, TOTAL], chunks: 1 },
  { args: ["--offset", "5000", "--length", "0"], want: [5000, 5000], chunks: 0 },
  { args: ["--offset", String(TOTAL)], want: [TOTAL, TOTAL], chunks: 0 },
  { args: ["--offset", "0"], want: [0, TOTAL], chunks: 6 },
  { args: ["--offset", "0", "--length", String(TOTAL)], want: [0, TOTAL], chunks: 6 },
  { args: ["--length", "10000"], want: [0, 10000], chunks: 3 },
  { args: ["--offset", "20000", "--length", "1G"], want: [20000, TOTAL], chunks: 2 },
];

for (
  const mode of ["plain", "aes", "aes-plain-manifest", "age", "v2", "v2-sealed-manifest"] as const
) {
  Deno.test(`range (${mode}): every range writes exactly its bytes, fetching only its chunks`, async () => {
    const name = await put(mode);
    for (const { args, want, chunks } of RANGES) {
      const r = await get(mode, name, args, ["--summary", "json"]);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(bytesEqual(r.stdout, data.subarray(...want)), `${args.join(" ")}: wrong bytes`);
      const summary = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
      assert.equal(summary.chunks_downloaded, chunks, args.join(" "));
      assert.equal(summary.length, want[1] - want[0]);
      assert.equal(summary.stream_sha256_checked, want[0] === 0 && want[1] === TOTAL);
    }
    const past = await get(mode, name, ["--offset", String(TOTAL + 1)]);
    assert.equal(past.code, 2, past.stderr);
    assert.equal(past.stdout.length, 0);
    assert.match(past.stderr, /past the end of stream '[^']+', which is 21,257 bytes/);
  });
}

Deno.test("range: only the covering chunks are downloaded (GETs counted at a proxy)", async () => {
  const name = await put("aes");
  const proxy = new FaultProxy({ upstream: ceph().endpoint });
  try {
    const via = ["--bucket", ceph().bucket, "--endpoint-url", proxy.endpoint];
    const gets = async (range: string[]) => {
      const before = proxy.methods.GET ?? 0;
      const r = await cli(
        ["get", ...via, "--prefix", prefix, "--name", name, "--key", "env:K", ...range],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      return (proxy.methods.GET ?? 0) - before;
    };
    // An empty range reads the manifest (and looks for a signature) but no chunk.
    const overhead = await gets(["--offset", "100", "--length", "0"]);
    assert.equal(await gets(["--offset", "4100", "--length", "100"]) - overhead, 1);
    assert.equal(await gets(["--offset", "4000", "--length", "5000"]) - overhead, 3);
    assert.equal(await gets([]) - overhead, 6);
  } finally {
    await proxy.close();
  }
});

Deno.test("range: a get killed half-way resumes with --offset $(stat -c %s part) >> part", async () => {
  const big = pseudoRandom(1024 * 1024 + 333, 99);
  const name = await put("aes", big, 64 * 1024);
  const part = `${tmp}/part`;
  const argv = (extra: string) =>
    [Deno.execPath(), "run", "-A", "--quiet", MAIN_TS, "get", ...base(name), "--key", "env:K"]
      .map((a) => `'${a}'`).join(" ") + extra;
  // Slowed to ~256 KiB/s so the kill lands mid-stream; exec: the pid is deno's.
  const child = new Deno.Command("sh", {
    args: ["-c", `exec ${argv(` --bandwidth-limit 256K > '${part}'`)}`],
    env: { ...env, NO_COLOR: "1" },
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const size = (await Deno.stat(part).catch(() => ({ size: 0 }))).size;
    if (size >= 300 * 1024) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await child.status;
  const cut = (await Deno.stat(part)).size;
  assert.ok(cut > 0 && cut < big.length, `killed at ${cut} of ${big.length} bytes`);
  assert.ok(bytesEqual(await Deno.readFile(part), big.subarray(0, cut)), "a clean prefix");
  const resume = await new Deno.Command("sh", {
    args: ["-c", argv(` --offset $(stat -c %s '${part}') >> '${part}'`)],
    env: { ...env, NO_COLOR: "1" },
  }).output();
  assert.equal(resume.code, 0, new TextDecoder().decode(resume.stderr));
  assert.ok(bytesEqual(await Deno.readFile(part), big), "byte-identical after the resume");
});

/** Flip one byte of chunk `i` of a stream in the store. */
async function damage(name: string, i: number): Promise<void> {
  const key = await t.chunkKey(name, i);
  const bytes = await store.get(key);
  bytes[bytes.length >> 1] ^= 0x40;
  await store.put(key, bytes);
}

for (const mode of ["plain", "aes-plain-manifest", "age", "v2"] as const) {
  Deno.test(`range (${mode}): damage outside the range does not matter; inside: exit 4, none of it written`, async () => {
    const name = await put(mode);
    await damage(name, 4);
    // Chunks 1-2 only: chunk 4 (damaged) is never fetched.
    const ok = () => get(mode, name, ["--offset", "4096", "--length", "8192"]);
    const good = await ok();
    assert.equal(good.code, 0, good.stderr);
    assert.ok(bytesEqual(good.stdout, data.subarray(4096, 12288)));
    // Bytes 3.5-4.5 chunks: chunk 3's part is written, nothing of chunk 4.
    const bad = await get(mode, name, ["--offset", String(3 * CHUNK + 2048), "--length", "4096"]);
    assert.equal(bad.code, 4, bad.stderr);
    assert.match(bad.stderr, /chunk 4/);
    assert.ok(bytesEqual(bad.stdout, data.subarray(3 * CHUNK + 2048, 4 * CHUNK)), "chunk 3 only");
    // The damaged chunk first in the range: still damage (4), not a wrong key (5).
    const first = await get(mode, name, ["--offset", String(4 * CHUNK + 10), "--length", "10"]);
    assert.equal(first.code, 4, first.stderr);
    assert.equal(first.stdout.length, 0);
    assert.match(first.stderr, /chunk 4/);
    // A deleted chunk outside the range does not matter either; inside it is named.
    await store.delete([await t.chunkKey(name, 5)]);
    assert.equal((await ok()).code, 0);
    const gone = await get(mode, name, ["--offset", String(5 * CHUNK)]);
    assert.equal(gone.code, 4, gone.stderr);
    assert.match(gone.stderr, /chunk 5 .*missing/);
  });
}

Deno.test("range (v2): a consistently rewritten plain manifest is refused for a range too", async () => {
  const name = await put("v2");
  const key = t.manifestKey(name);
  const m = JSON.parse(new TextDecoder().decode(await store.get(key)));
  // Drop the tail and fix up what can be recomputed without the key; the range avoids it.
  m.chunks.pop();
  m.chunk_count = m.chunks.length;
  m.total_bytes = 5 * CHUNK;
  const kept = data.subarray(0, 5 * CHUNK);
  m.stream_sha256 = createHash("sha256").update(kept).digest("hex");
  m.stream_sha3_256 = createHash("sha3-256").update(kept).digest("hex");
  await store.put(key, serializeManifest(m));
  const r = await get("v2", name, ["--offset", "0", "--length", "100"]);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /final_chain/);
});

Deno.test("range: a wrong key on a range past chunk 0 is a key problem (5), not damage", async () => {
  for (const mode of ["v2", "aes-plain-manifest"] as const) {
    const name = await put(mode);
    // Nothing before the range was opened to prove the key: another chunk is asked.
    for (const at of ["9000", String(TOTAL - 5)]) {
      const r = await cli(
        ["get", ...base(name), "--key", `hex:${"a5".repeat(32)}`, "--offset", at, "--length", "3"],
        { env },
      );
      assert.equal(r.code, 5, `${mode} at ${at}: ${r.stderr}`);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, /wrong key/);
    }
  }
});

Deno.test("range: verify --deep checks only the range; plain verify refuses one", async () => {
  const name = await put("aes");
  await damage(name, 4);
  const deep = (range: string[]) =>
    t.run("verify", name, ["--deep", "--key", "env:K", ...range, "--summary", "json"]);
  const ok = await deep(["--offset", "0", "--length", String(4 * CHUNK)]);
  assert.equal(ok.code, 0, ok.stderr);
  const json = JSON.parse(ok.stderr.trim().split("\n").at(-1)!);
  assert.equal(json.status, "ok");
  assert.equal(json.chunks_ok, 4);
  assert.equal(json.chunks_in_range, 4);
  const bad = await deep(["--offset", String(4 * CHUNK - 1), "--length", "2"]);
  assert.equal(bad.code, 4, bad.stderr);
  assert.deepEqual(JSON.parse(bad.stderr.trim().split("\n").at(-2)!).chunks_mismatched, [4]);
  const plainVerify = await t.run("verify", name, ["--key", "env:K", "--offset", "1"]);
  assert.equal(plainVerify.code, 2, plainVerify.stderr);
  assert.match(plainVerify.stderr, /--deep/);
});

Deno.test("range: restore --offset/--length thaws only the chunks the range needs", async () => {
  const root = tempDir("s3duct-range-glacier-");
  await Deno.mkdir(`${root}/b`);
  const local = ["--bucket", "b", "--endpoint-url", `file://${root}`, "--name", "cold"];
  const p = await cli(
    [
      "put",
      ...local,
      "--chunk-size",
      String(CHUNK),
      "--key",
      "env:K",
      "--storage-class",
      "GLACIER",
    ],
    { stdin: data, env },
  );
  assert.equal(p.code, 0, p.stderr);
  const s = new GlacierStandin("bkt");
  try {
    for (const rel of filesUnder(`${root}/b`)) {
      const cls = /\/chunk-\d+$/.test(rel) ? "GLACIER" : "STANDARD";
      s.put(rel, await Deno.readFile(`${root}/b/${rel}`), cls);
    }
    const args = [
      "--bucket",
      "bkt",
      "--endpoint-url",
      s.endpoint,
      "--name",
      "cold",
      "--key",
      "env:K",
    ];
    const range = ["--offset", String(CHUNK + 5), "--length", String(CHUNK)]; // chunks 1 and 2
    const r = await cli(["restore", ...args, ...range], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.count("POST", (q) => q.query.has("restore")), 2);
    assert.match(r.stderr, /2 initiated/);
    // get of the range checks only its chunks: waiting (9), then readable once thawed.
    assert.equal((await cli(["get", ...args, ...range], { env })).code, 9);
    s.finishRestores();
    const g = await cli(["get", ...args, ...range], { env });
    assert.equal(g.code, 0, g.stderr);
    assert.ok(bytesEqual(g.stdout, data.subarray(CHUNK + 5, 2 * CHUNK + 5)));
    assert.equal(s.count("GET", (q) => q.key.includes("/chunk-")), 2, "two chunks downloaded");
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("range: clean up", async () => {
  await t.clean();
  await Deno.remove(tmp, { recursive: true });
});
