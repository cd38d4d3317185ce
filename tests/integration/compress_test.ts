/**
 * `put --compress zstd` on Ceph (issue 17.3): compressible and random data round-trip
 * byte-identical, compressible data is stored smaller and random data as it is, `verify` and
 * `verify --deep` and ranges read compressed streams, tampering with a compressed chunk or its
 * stored size is exit 4 (a zstd bomb sealed with the right key included: fast, bounded memory),
 * and `--compress` outside format 2 with AES is a usage error.
 */
import assert from "node:assert/strict";
import { aesCipher } from "../../lib/crypto/cipher.ts";
import { fromHex } from "../../lib/format/chain.ts";
import { serializeManifest } from "../../lib/format/manifest.ts";
import { bytesEqual, pseudoRandom, Suite, TEST_KEY_HEX } from "./harness.ts";
import { measuredCli } from "../helpers.ts";

const t = new Suite("zstd", undefined, { K: TEST_KEY_HEX });
const { prefix, env, store } = t;
const MiB = 1024 * 1024;
const CHUNK = MiB;

/** A synthetic SQL dump: repetitive INSERT lines, ~10x compressible. */
function sqlDump(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const enc = new TextEncoder();
  for (let off = 0, id = 1; off < n; id++) {
    const line = enc.encode(
      `INSERT INTO orders (id, customer, status, total) VALUES (${id}, 'cust${id % 211}', ` +
        `'${["new", "paid", "shipped"][id % 3]}', ${(id * 37) % 10000}.${id % 100});\n`,
    );
    out.set(line.subarray(0, n - off), off);
    off += line.length;
  }
  return out;
}

const where = (name: string) => t.at(name);
/** Format 2, zstd, AES, a plain manifest (so tests can read and edit it). */
const SEALING = ["--key", "env:K", "--format", "2", "--compress", "zstd", "--no-encrypt-manifest"];
const put = (name: string, data: Uint8Array, extra: string[] = []) =>
  t.put(name, data, "--chunk-size", String(CHUNK), ...SEALING, ...extra);
const get = (name: string, ...more: string[]) => t.run("get", name, ["--key", "env:K", ...more]);
const manifestKey = (name: string) => t.manifestKey(name);
const manifestOf = (name: string) => t.manifest(name);

/** Sizes of the stream's chunk objects, from a listing. */
async function objectSizes(name: string): Promise<number[]> {
  const sizes: number[] = [];
  for await (const e of store.list(`${prefix}/${name}/`)) {
    if (e.kind === "object" && /chunk-\d+$/.test(e.key)) sizes.push(e.size);
  }
  return sizes;
}

const sql = sqlDump(4 * CHUNK + 12345); // 5 chunks

Deno.test("compress: a SQL dump round-trips and is stored at a fraction of its size", async () => {
  const r = await put("sql", sql);
  assert.match(r.stderr, /zstd: 5 of 5 chunks compressed/);
  const m = await manifestOf("sql");
  assert.equal(m.version, 2);
  assert.equal(m.compression, "zstd");
  for (const c of m.chunks) assert.ok(c.stored_size > 0 && c.stored_size < c.size / 4, `${c}`);
  const sizes = await objectSizes("sql");
  assert.equal(sizes.length, 5);
  const stored = sizes.reduce((a, b) => a + b, 0);
  assert.ok(stored < sql.length / 4, `stored ${stored} of ${sql.length}`);
  // Each object is its frame, sealed: stored_size + 28.
  assert.deepEqual(
    sizes.sort(),
    m.chunks.map((c: { stored_size: number }) => c.stored_size + 28).sort(),
  );
  const g = await get("sql");
  assert.equal(g.code, 0, g.stderr);
  assert.ok(bytesEqual(g.stdout, sql));
  // Listing-based verify expects the stored sizes.
  const v = await t.run("verify", "sql", ["--key", "env:K"]);
  assert.equal(v.code, 0, v.stderr);
});

Deno.test("compress: random bytes are stored as they are (no stored_size), and round-trip", async () => {
  // 3 chunks of random bytes, then text: each chunk decides for itself.
  const data = new Uint8Array(4 * CHUNK);
  data.set(pseudoRandom(3 * CHUNK, 8));
  data.set(sql.subarray(0, CHUNK), 3 * CHUNK);
  const r = await put("mixed", data, ["--compress", "zstd:9"]);
  assert.match(r.stderr, /zstd: 1 of 4 chunks compressed/);
  const m = await manifestOf("mixed");
  assert.deepEqual(m.chunks.map((c: { stored_size?: number }) => c.stored_size !== undefined), [
    false,
    false,
    false,
    true,
  ]);
  const sizes = await objectSizes("mixed");
  assert.equal(sizes.filter((s) => s === CHUNK + 28).length, 3);
  const g = await get("mixed");
  assert.equal(g.code, 0, g.stderr);
  assert.ok(bytesEqual(g.stdout, data));
});

Deno.test("compress: encrypted manifest, tail chunk, ranges across compressed chunks", async () => {
  const data = sqlDump(2 * CHUNK + 999);
  const name = "sealed";
  await t.put(name, data, "--chunk-size", String(CHUNK), ...SEALING.slice(0, 5), "zstd:1");
  const g = await get(name);
  assert.equal(g.code, 0, g.stderr);
  assert.ok(bytesEqual(g.stdout, data));
  const from = CHUNK - 10;
  const part = await get(name, "--offset", String(from), "--length", String(CHUNK + 20));
  assert.equal(part.code, 0, part.stderr);
  assert.ok(bytesEqual(part.stdout, data.subarray(from, from + CHUNK + 20)));
});

Deno.test("compress: verify --deep decompresses and checks every chunk", async () => {
  const r = await t.run("verify", "sql", ["--key", "env:K", "--deep"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /All 5 chunks of 'sql' downloaded and verified/);
});

/**
 * A zstd frame of `total` bytes of 'A' (RLE blocks of 128 KiB, 4 bytes each; the header
 * declares the size): 1 GiB in 32 KiB.
 */
function zstdBomb(total: number): Uint8Array {
  const blocks = total / 131072;
  const out = new Uint8Array(10 + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x38]);
  new DataView(out.buffer).setUint32(6, total, true);
  for (let i = 0; i < blocks; i++) {
    const h = (131072 << 3) | 2 | (i === blocks - 1 ? 1 : 0);
    out.set([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x41], 10 + i * 4);
  }
  return out;
}

/** The CLI under GNU time: exit code, stdout, stderr, peak RSS (KiB) and seconds. */
const measured = (args: string[]) => measuredCli(args, env);

Deno.test("compress: a chunk replaced by a 1 GiB zstd bomb sealed with the key -> exit 4, fast, small", async () => {
  const name = "bomb";
  await put(name, sql);
  const m = await manifestOf(name);
  // Sealed exactly as put seals chunk 1: the stream's subkey, its position in the AAD.
  const chunks = (await aesCipher(fromHex(TEST_KEY_HEX))).formatV2!({
    salt: fromHex(m.format_salt),
    streamId: fromHex(m.stream_id),
  }).chunks;
  const bomb = zstdBomb(1024 ** 3);
  assert.ok(bomb.length <= m.chunks[1].stored_size, "fits the chunk's read limit");
  const sealed = await chunks.seal(bomb, undefined, { index: 1, last: false });
  await store.put(await t.chunkKey(name, 1), sealed);
  const r = await measured(["get", ...where(name), "--key", "env:K"]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /chunk 1 of 'bomb' decompresses to more than its recorded 1048576 bytes/);
  assert.equal(r.stdout.length, CHUNK, "chunk 0 only: nothing of chunk 1");
  assert.ok(bytesEqual(r.stdout, sql.subarray(0, CHUNK)));
  assert.ok(r.seconds < 20, `${r.seconds} s`);
  assert.ok(r.peakKiB < 400 * 1024, `peak RSS ${r.peakKiB} KiB: the GiB was never allocated`);
  const v = await t.run("verify", name, ["--key", "env:K", "--deep"]);
  assert.equal(v.code, 4, v.stderr);
  assert.match(v.stderr, /CORRUPT chunk 1: .*decompresses to more than/);
});

Deno.test("compress: stored_size edited in a plain manifest -> exit 4, nothing of the chunk written", async () => {
  const name = "edited";
  await put(name, sql);
  const m = await manifestOf(name);
  const original = structuredClone(m);
  // Smaller than the object: refused before its body is read.
  m.chunks[0].stored_size = 100;
  await store.put(manifestKey(name), serializeManifest(m));
  let r = await get(name);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /chunk 0/);
  // Dropped: the frame is taken for the chunk itself and fails its size and hashes.
  delete original.chunks[0].stored_size;
  await store.put(manifestKey(name), serializeManifest(original));
  r = await get(name);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /chunk 0 of 'edited' is corrupt: size \d+ != 1048576/);
});

Deno.test("compress: outside format 2 with an AES key -> usage error (exit 2), nothing stored", async () => {
  const cases: [string[], RegExp][] = [
    [["--key", "env:K", "--compress", "zstd"], /--compress needs --format 2 and an AES --key/],
    [["--key", "env:K", "--format", "1", "--compress", "zstd"], /--compress needs --format 2/],
    [
      ["--no-encrypt", "--format", "2", "--compress", "zstd"],
      /--compress needs --format 2 and an AES/,
    ],
    [["--format", "2", "--compress", "zstd"], /--format 2 needs --key/],
    [["--key", "env:K", "--format", "2", "--compress", "gzip"], /expected zstd or zstd:LEVEL/],
    [["--key", "env:K", "--format", "2", "--compress", "zstd:22"], /level from 1 to 19/],
  ];
  for (const [i, [extra, mention]] of cases.entries()) {
    const name = `usage-${i}`;
    const r = await t.run("put", name, extra, sql.subarray(0, 1000));
    assert.equal(r.code, 2, `${extra.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, mention);
    assert.equal(r.stderr.trim().split("\n").filter((l) => l.includes("error")).length, 1);
    assert.equal(await store.head(manifestKey(name)), undefined);
  }
});

Deno.test("compress: clean up", () => t.clean());
