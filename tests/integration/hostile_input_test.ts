/**
 * Hostile store, hostile input (issue 12.2, 12.3, 12.5, 12.6), through the real CLI. Each case
 * asserts the exit code, exactly how many bytes reached stdout, and that stderr is exactly one
 * line with no raw control character:
 *
 * - a table of hostile manifests (wrong types and ranges, duplicates, huge and deeply nested
 *   JSON, lies about encryption, control characters, wrong chains and counts) on the local
 *   store, and a 60 MB manifest under a real memory limit;
 * - key and identity files that are devices, FIFOs, directories, missing or half a key;
 * - store text that would drive the terminal (names, manifest fields, S3 error codes);
 * - one exit code per cause: garbage vs wrong key, damaged age manifests, format 2 wrong keys,
 *   names too long for the store, `list | head`, unwritable stdout, a directory on stdin, no
 *   command; a missing bucket for every command on the local store and on Ceph.
 */
import assert from "node:assert/strict";
import { serializeManifest } from "../../lib/format/manifest.ts";
import type { Manifest } from "../../lib/format/manifest.ts";
import {
  ceph,
  cli,
  type CliResult,
  pseudoRandom,
  runPrefix,
  s3Args,
  s3Env,
  TEST_KEY_HEX,
} from "./harness.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const dec = new TextDecoder();
const root = await Deno.makeTempDir({ prefix: "s3duct-hostile-" });
await Deno.mkdir(`${root}/b`);
const env = { ...s3Env(), K: TEST_KEY_HEX, WRONG: "a5".repeat(32) };
const local = ["--bucket", "b", "--endpoint-url", `file://${root}`];
const CHUNK = 4096;
const data = pseudoRandom(2 * CHUNK + 100, 3); // 3 chunks

/** A character a terminal acts on, or that reorders text (the final newline excepted). */
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

/** Exit code, exact stdout size, and stderr exactly one line without raw control characters. */
function assertOneLine(r: CliResult, code: number, stdoutBytes: number, mention?: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${JSON.stringify(r.stderr)}`);
  assert.equal(r.stdout.length, stdoutBytes, "bytes on stdout");
  assert.ok(r.stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  const line = r.stderr.slice(0, -1);
  assert.ok(!line.includes("\n"), `exactly one stderr line: ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(line, RAW_CONTROL, `raw control character: ${JSON.stringify(line)}`);
  assert.ok(line.length < 4200, `error line of ${line.length} characters`);
  if (mention) assert.match(line, mention);
}

async function put(name: string, extra: string[], stdin = data): Promise<void> {
  const r = await cli(["put", ...local, "--name", name, "--chunk-size", String(CHUNK), ...extra], {
    stdin,
    env,
  });
  assert.equal(r.code, 0, r.stderr);
}

const get = (name: string, extra: string[] = []) =>
  cli(["get", ...local, "--name", name, ...extra], { env });
const manifestPath = (name: string) => `${root}/b/${name}/.manifest.json`;

// ---- F: the hostile manifest table (local store, `get`) ----

await put("victim", ["--no-encrypt"]);
const good = await Deno.readTextFile(manifestPath("victim"));
// deno-lint-ignore no-explicit-any
type Json = any;
const m0 = (): Json => JSON.parse(good);
/** A manifest rewritten by `edit` (which may return a new object). */
const mutated = (edit: (m: Json) => Json | void) => {
  const m = m0();
  return JSON.stringify(edit(m) ?? m, null, 2);
};
/** The good manifest with raw JSON text added as one more top-level member. */
const extraField = (raw: string) => good.replace(/\}\s*$/, `, ${raw}}`);
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

interface HostileCase {
  name: string;
  body: () => string | Uint8Array;
  code: number;
  mention?: RegExp;
}

const CASES: HostileCase[] = [
  // Not a manifest at all.
  { name: "0 bytes", body: () => "", code: 4, mention: /not valid JSON/ },
  { name: "whitespace only", body: () => " \n\t ", code: 4, mention: /not valid JSON/ },
  { name: "JSON null", body: () => "null", code: 4, mention: /not a JSON object/ },
  { name: "a JSON array", body: () => "[1, 2, 3]", code: 4, mention: /not a JSON object/ },
  { name: "a JSON string", body: () => '"manifest"', code: 4, mention: /not a JSON object/ },
  { name: "a number", body: () => "42", code: 4, mention: /not a JSON object/ },
  { name: "plain text", body: () => "hello, I am a manifest", code: 4, mention: /not valid JSON/ },
  {
    name: "truncated JSON",
    body: () => good.slice(0, good.length / 2),
    code: 4,
    mention: /not valid JSON/,
  },
  { name: "trailing garbage", body: () => good + "}{", code: 4, mention: /not valid JSON/ },
  {
    name: "one byte of JSON text that is not UTF-8",
    body: () => {
      const b = new TextEncoder().encode(good);
      b[good.indexOf('"created"') + 2] = 0xff;
      return b;
    },
    code: 4,
    mention: /JSON text that is not valid UTF-8/,
  },
  {
    name: "4 KiB of zero bytes",
    body: () => new Uint8Array(4096),
    code: 4,
    mention: /not valid JSON/,
  },
  {
    name: "100 random bytes: too short to be AES",
    body: () => pseudoRandom(100, 9),
    code: 4,
    mention: /neither JSON text nor an AES-256-GCM manifest/,
  },
  {
    name: "2000 random bytes look AES-sealed: a key problem without --key (documented)",
    body: () => pseudoRandom(2000, 9),
    code: 5,
    mention: /encrypted \(AES-256-GCM\): pass the --key/,
  },
  {
    name: "Python's NaN",
    body: () => good.replace(/"chunk_size": \d+/, '"chunk_size": NaN'),
    code: 4,
  },
  {
    name: "a number too big for a double (1e400)",
    body: () => good.replace(/"total_bytes": \d+/, '"total_bytes": 1e400'),
    code: 4,
    mention: /'total_bytes' is not integer/,
  },
  // Huge and deep.
  {
    name: "100,000 nested arrays in an unknown field",
    body: () => extraField(`"deep": ${"[".repeat(100_000)}${"]".repeat(100_000)}`),
    code: 4,
    mention: /nested deeper than 16 levels/,
  },
  {
    name: "a million {} in an unknown field",
    body: () => extraField(`"junk": [${Array(1_000_000).fill("{}").join(",")}]`),
    code: 4,
    mention: /more than 10000 values in fields/,
  },
  {
    name: "2000 tags",
    body: () =>
      mutated((m) =>
        void (m.tags = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`t${i}`, "v"])))
      ),
    code: 4,
    mention: /more than 1024 tags/,
  },
  {
    name: "a 5 MB stream name (error line clipped)",
    body: () => mutated((m) => void (m.name = "n".repeat(5_000_000))),
    code: 4,
    mention: /'name' is 'n+\.\.\.\(4999800 more characters\)', not the stream asked for/,
  },
  // Duplicates and shape.
  {
    name: "name given twice",
    body: () => extraField('"name": "victim"'),
    code: 4,
    mention: /'name' appears twice/,
  },
  {
    name: "a record field given twice",
    body: () => good.replace(/"index": 1,/, '"index": 1, "index": 1,'),
    code: 4,
    mention: /'index' appears twice/,
  },
  {
    name: "an unknown record field",
    body: () => good.replace(/"index": 1,/, '"index": 1, "evil": true,'),
    code: 4,
    mention: /'chunks\[1\]\.evil' is not a chunk record field/,
  },
  {
    name: "a record without sha256",
    body: () => mutated((m) => void delete m.chunks[2].sha256),
    code: 4,
    mention: /'chunks\[2\]\.sha256' is missing/,
  },
  {
    name: "a record that is an array",
    body: () => mutated((m) => void (m.chunks[0] = [0])),
    code: 4,
    mention: /'chunks\[0\]' is not an object/,
  },
  {
    name: "chunks is an object",
    body: () => mutated((m) => void (m.chunks = {})),
    code: 4,
    mention: /'chunks' is not array/,
  },
  {
    name: "chunks is a string",
    body: () => mutated((m) => void (m.chunks = "all")),
    code: 4,
    mention: /'chunks' is not array/,
  },
  {
    name: "tags is an array",
    body: () => mutated((m) => void (m.tags = ["a"])),
    code: 4,
    mention: /'tags' is not object/,
  },
  {
    name: "a tag value is a number",
    body: () => mutated((m) => void (m.tags = { a: 1 })),
    code: 4,
    mention: /'tags\.a' is not a string/,
  },
  // Wrong types and ranges.
  {
    name: "version is a string",
    body: () => mutated((m) => void (m.version = "1")),
    code: 4,
    mention: /'version' is not integer/,
  },
  {
    name: "version 3",
    body: () => mutated((m) => void (m.version = 3)),
    code: 4,
    mention: /'version' is 3/,
  },
  {
    name: "chunk_size 0",
    body: () => mutated((m) => void (m.chunk_size = 0)),
    code: 4,
    mention: /'chunk_size' is 0/,
  },
  {
    name: "chunk_size negative",
    body: () => mutated((m) => void (m.chunk_size = -4096)),
    code: 4,
    mention: /'chunk_size' is -4096/,
  },
  {
    name: "chunk_size 6 GiB, over what put accepts (was exit 2 with --chunk-size advice)",
    body: () => mutated((m) => void (m.chunk_size = 6 * 1024 ** 3)),
    code: 4,
    mention: /'chunk_size' is 6442450944, outside 1 to 5368709120/,
  },
  {
    name: "chunk_size fractional",
    body: () => mutated((m) => void (m.chunk_size = 4096.5)),
    code: 4,
    mention: /'chunk_size' is not integer/,
  },
  {
    name: "chunk_size beyond 2^53",
    body: () => good.replace(/"chunk_size": \d+/, '"chunk_size": 18014398509481984'),
    code: 4,
    mention: /not integer/,
  },
  {
    name: "total_bytes negative",
    body: () => mutated((m) => void (m.total_bytes = -1)),
    code: 4,
    mention: /'total_bytes' is -1/,
  },
  {
    name: "total_bytes off by one",
    body: () => mutated((m) => void (m.total_bytes += 1)),
    code: 4,
    mention: /'total_bytes'/,
  },
  {
    name: "chunk_count one more",
    body: () => mutated((m) => void (m.chunk_count += 1)),
    code: 4,
    mention: /'chunk_count' is 4 but 3/,
  },
  {
    name: "chunk_count 10^15",
    body: () => mutated((m) => void (m.chunk_count = 1e15)),
    code: 4,
    mention: /'chunk_count'/,
  },
  {
    name: "records out of order",
    body: () => mutated((m) => void ([m.chunks[0], m.chunks[1]] = [m.chunks[1], m.chunks[0]])),
    code: 4,
    mention: /'chunks\[0\]\.index' is 1, expected 0/,
  },
  {
    name: "a negative index",
    body: () => mutated((m) => void (m.chunks[0].index = -1)),
    code: 4,
    mention: /'chunks\[0\]\.index' is -1/,
  },
  {
    name: "a negative size",
    body: () => mutated((m) => void (m.chunks[2].size = -100)),
    code: 4,
    mention: /'chunks\[2\]\.size' is -100/,
  },
  {
    name: "an empty last chunk",
    body: () => mutated((m) => void (m.chunks[2].size = 0)),
    code: 4,
    mention: /'chunks\[2\]\.size' is 0/,
  },
  {
    name: "sha256 not hex",
    body: () => mutated((m) => void (m.chunks[1].sha256 = "zz".repeat(32))),
    code: 4,
    mention: /'chunks\[1\]\.sha256' is not a SHA-256/,
  },
  {
    name: "s3_key outside the stream",
    body: () => mutated((m) => void (m.chunks[0].s3_key = "../../etc/passwd")),
    code: 4,
    mention: /'chunks\[0\]\.s3_key' is '\.\.\/\.\.\/etc\/passwd'/,
  },
  {
    name: "s3_key of another stream",
    body: () => mutated((m) => void (m.chunks[0].s3_key = "other/chunk-000000")),
    code: 4,
    mention: /'chunks\[0\]\.s3_key'/,
  },
  {
    name: "another stream's name",
    body: () => mutated((m) => void (m.name = "other")),
    code: 4,
    mention: /'name' is 'other', not the stream asked for/,
  },
  // Wrong chain and hashes.
  {
    name: "final_chain altered",
    body: () => mutated((m) => void (m.final_chain = "0".repeat(64))),
    code: 4,
    mention: /'final_chain' does not match/,
  },
  {
    name: "a chunk hash altered (the chain no longer matches)",
    body: () => mutated((m) => void (m.chunks[1].sha3_256 = "0".repeat(64))),
    code: 4,
    mention: /'final_chain' does not match/,
  },
  {
    name: "an empty stream claiming another stream hash",
    body: () =>
      mutated((m) => ({
        ...m,
        chunks: [],
        chunk_count: 0,
        total_bytes: 0,
        final_chain: "",
        stream_sha256: "1".repeat(64),
      })),
    code: 4,
    mention: /'stream_sha256' does not match the empty chunk/,
  },
  // Lies about encryption.
  {
    name: "encrypted true without a method",
    body: () => mutated((m) => void (m.encrypted = true)),
    code: 4,
    mention: /'encrypted' is true but encryption_method is null/,
  },
  {
    name: "an AES method with encrypted false",
    body: () => mutated((m) => void (m.encryption_method = "aes-256-gcm")),
    code: 4,
    mention: /'encrypted' is false/,
  },
  {
    name: "an unknown method",
    body: () => mutated((m) => void (m.encryption_method = "rot13")),
    code: 4,
    mention: /unknown value 'rot13'/,
  },
  {
    name: "encrypted_manifest true on a plain object (a downgrade)",
    body: () => mutated((m) => void (m.encrypted_manifest = true)),
    code: 4,
    mention: /'encrypted_manifest' is true but the manifest object is plain JSON/,
  },
  {
    name: "claims age chunks: the identity is asked for (a key problem, as for a real one)",
    body: () => mutated((m) => ({ ...m, encrypted: true, encryption_method: "age" })),
    code: 5,
    mention: /encrypted with age: pass --age-identity/,
  },
  {
    name: "version 2 without its fields",
    body: () => mutated((m) => void (m.version = 2)),
    code: 4,
    mention: /'format_salt' is missing/,
  },
  // Control characters: every message quoting them shows them escaped, on one line.
  {
    name: "ESC, CR and LF in the name",
    body: () => mutated((m) => void (m.name = "x\x1b[2J\r\nforged line")),
    code: 4,
    mention: /'name' is 'x\\x1b\[2J\\r\\nforged line'/,
  },
  {
    name: "a bidi override in the name",
    body: () => mutated((m) => void (m.name = "vic\u202etim")),
    code: 4,
    mention: /'vic\\u202etim'/,
  },
  {
    name: "ESC in an s3_key",
    body: () => mutated((m) => void (m.chunks[1].s3_key = "victim/\x1b]0;pwned\x07")),
    code: 4,
    mention: /'victim\/\\x1b\]0;pwned\\x07'/,
  },
  {
    name: "ESC in a tag name with a bad value",
    body: () => mutated((m) => void (m.tags = { "t\x1b[31m": 5 })),
    code: 4,
    mention: /'tags\.t\\x1b\[31m' is not a string/,
  },
  {
    name: "C1 CSI in the encryption method",
    body: () => mutated((m) => void (m.encryption_method = "a\u009b2J")),
    code: 4,
    mention: /unknown value 'a\\u009b2J'/,
  },
  {
    name: "NUL and DEL in an unknown record field name",
    body: () => good.replace(/"index": 1,/, '"\\u0000x\\u007f": 1, "index": 1,'),
    code: 4,
    mention: /'chunks\[1\]\.\\x00x\\u007f' is not a chunk record field/,
  },
];

Deno.test("hostile manifests: the table holds at least 40 cases", () => {
  assert.ok(CASES.length >= 40, `${CASES.length} cases`);
});

for (const c of CASES) {
  Deno.test(`hostile manifest: ${c.name} -> exit ${c.code}, nothing on stdout, one line`, async () => {
    const body = c.body();
    await Deno.writeFile(
      manifestPath("victim"),
      typeof body === "string" ? new TextEncoder().encode(body) : body,
    );
    assertOneLine(await get("victim"), c.code, 0, c.mention);
  });
}

Deno.test("hostile manifests: the untouched manifest still restores (the table's base is sound)", async () => {
  await Deno.writeTextFile(manifestPath("victim"), good);
  const r = await get("victim");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, data.length);
});

// ---- A: a 60 MB manifest under a real memory limit ----

Deno.test("12.2: a 60 MB manifest of 20 million {} -> exit 4 within a 256 MB V8 heap and 400 MB RSS", async () => {
  const text = extraField(`"junk": [${"{},".repeat(20_000_000 - 1)}{}]`);
  assert.ok(text.length > 60_000_000);
  await Deno.writeTextFile(manifestPath("victim"), text);
  // GNU time reports the child's peak RSS (from wait4); V8's heap is capped so that building the
  // 20 million objects (2.1 GB before the fix) kills the child instead of passing slowly.
  const rss = await Deno.makeTempFile();
  const out = await new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "%M",
      "-o",
      rss,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "--v8-flags=--max-old-space-size=256",
      MAIN,
      "get",
      ...local,
      "--name",
      "victim",
    ],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const peakKiB = Number((await Deno.readTextFile(rss)).trim().split("\n").pop());
  await Deno.remove(rss);
  await Deno.writeTextFile(manifestPath("victim"), good);
  assertOneLine(
    { code: out.code, stdout: out.stdout, stderr: dec.decode(out.stderr) },
    4,
    0,
    /manifest holds more than 10000 values in fields this s3duct does not know/,
  );
  assert.ok(peakKiB > 0 && peakKiB < 400 * 1024, `peak RSS ${peakKiB} KiB for a 60 MB manifest`);
});

// ---- B: key and identity files ----

const keyDir = await Deno.makeTempDir({ prefix: "s3duct-hostile-keys-" });
const fifo = `${keyDir}/fifo`;
assert.equal((await new Deno.Command("mkfifo", { args: [fifo] }).output()).code, 0);

/** The CLI, killed after `ms` (a FIFO that is opened would block it forever). */
async function bounded(args: string[], ms = 20_000): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stdout: out.stdout, stderr: dec.decode(out.stderr) };
}

const KEY_OPTIONS: { option: string; what: RegExp; args: (path: string) => string[] }[] = [
  {
    option: "--key file:",
    what: /key file/,
    args: (p) => ["get", ...local, "--name", "victim", "--key", `file:${p}`],
  },
  {
    option: "--age-identity",
    what: /age identity file/,
    args: (p) => ["get", ...local, "--name", "victim", "--age-identity", p],
  },
  {
    option: "--age-recipients-file",
    what: /recipients file/,
    args: (p) => ["put", ...local, "--name", "never", "--age-recipients-file", p],
  },
  {
    option: "--sign-key",
    what: /signing key file/,
    args: (p) => ["put", ...local, "--name", "never", "--no-encrypt", "--sign-key", p],
  },
  {
    option: "--verify-key",
    what: /--verify-key file/,
    args: (p) => ["get", ...local, "--name", "victim", "--verify-key", p],
  },
];

for (const k of KEY_OPTIONS) {
  Deno.test(`12.3: ${k.option} /dev/zero, a FIFO, a directory, a missing file -> exit 5 each, one line`, async () => {
    for (
      const [path, why] of [
        ["/dev/zero", /is a device, not a regular file/],
        [fifo, /is a FIFO \(named pipe\), not a regular file/],
        [keyDir, /is a directory, not a regular file/],
        [`${keyDir}/missing`, /does not exist/],
      ] as const
    ) {
      const t0 = performance.now();
      const r = await bounded(k.args(path));
      assertOneLine(r, 5, 0, why);
      assert.match(r.stderr, k.what);
      assert.ok(performance.now() - t0 < 15_000, `${path} took ${performance.now() - t0} ms`);
    }
  });
}

Deno.test("12.3: a key file of exactly 32 hex digits -> exit 5 saying it looks cut short", async () => {
  const path = `${keyDir}/half.key`;
  await Deno.writeTextFile(path, TEST_KEY_HEX.slice(0, 32), { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  const r = await get("victim", ["--key", `file:${path}`]);
  assertOneLine(r, 5, 0, /holds 32 hex digits \(16 bytes\): a 64-digit hex key cut short\?/);
  assert.ok(!r.stderr.includes(TEST_KEY_HEX.slice(0, 16)), "key material in the message");
});

// ---- C: store text never drives the terminal ----

/** An empty stream's manifest with these free-text fields, written straight into the store. */
async function plantStream(name: string, fields: Partial<Manifest>): Promise<void> {
  const m: Manifest = {
    version: 1,
    name,
    description: "",
    created: "2026-01-01T00:00:00+00:00",
    tool_version: "0.5.0",
    chunk_count: 0,
    chunk_size: CHUNK,
    total_bytes: 0,
    encrypted: false,
    encrypted_manifest: false,
    encryption_method: null,
    encryption_recipient: null,
    storage_class: "STANDARD",
    tags: {},
    chunks: [],
    final_chain: "",
    stream_sha256: EMPTY_SHA256,
    stream_sha3_256: "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
    ...fields,
  };
  await Deno.mkdir(`${root}/evil/${name}`, { recursive: true });
  await Deno.writeFile(`${root}/evil/${name}/.manifest.json`, serializeManifest(m));
}

const EVIL = ["bidi\u202etxt", "cr\rlf\nname", "esc\x1b[2Jname"];
await plantStream(EVIL[0], { created: "2026\x1b[31m" });
await plantStream(EVIL[1], { tool_version: "0.5\r\n", description: "\x1b]0;title\x07" });
await plantStream(EVIL[2], { storage_class: "X\x1b[8m", tags: { "k\x1b": "v\x1b" } });
const evil = ["--bucket", "evil", "--endpoint-url", `file://${root}`];

Deno.test("12.5: list prints exactly one line per stream, every control character escaped", async () => {
  const r = await cli(["list", ...evil], { env });
  assert.equal(r.code, 0, r.stderr);
  const expected = [
    "bidi\\u202etxt  0 chunks  0 bytes  2026\\x1b[31m  v0.5.0",
    "cr\\rlf\\nname  0 chunks  0 bytes  2026-01-01T00:00:00+00:00  v0.5\\r\\n",
    "esc\\x1b[2Jname  0 chunks  0 bytes  2026-01-01T00:00:00+00:00 [X\\x1b[8m]  v0.5.0",
  ].join("\n") + "\n";
  assert.equal(dec.decode(r.stdout), expected);
  assert.equal(r.stdout.length, new TextEncoder().encode(expected).length);
  assert.equal(r.stderr, "");
});

Deno.test("12.5: list --json stays valid JSON, one object per line, with the exact names", async () => {
  const r = await cli(["list", ...evil, "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  const text = dec.decode(r.stdout);
  assert.doesNotMatch(text.replace(/\n/g, ""), RAW_CONTROL);
  const lines = text.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => JSON.parse(l).stream), EVIL);
  assert.equal(JSON.parse(lines[0]).created, "2026\x1b[31m");
});

Deno.test("12.5: an S3 error code carrying ESC, CR and LF is shown escaped on one line", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<Error><Code>Evil\x1b[2J\r\nforged: fine</Code></Error>", {
        status: 400,
        headers: { "content-type": "application/xml" },
      }),
  );
  try {
    const r = await cli([
      "list",
      "--bucket",
      "b",
      "--endpoint-url",
      `http://127.0.0.1:${server.addr.port}`,
      "--retries",
      "0",
    ], { env });
    assertOneLine(r, 7, 0, /Evil\\x1b\[2J\\r\\nforged: fine 400/);
  } finally {
    await server.shutdown();
  }
});

// ---- D: one exit code per cause ----

Deno.test("12.6: a damaged age manifest whose identity matched -> 4; another identity -> 5", async () => {
  const id = `${keyDir}/id.txt`;
  const kg = await cli(["keygen", "-o", id], { env });
  assert.equal(kg.code, 0, kg.stderr);
  await put("aged", ["--age-recipient", dec.decode(kg.stdout).trim()]);
  const bytes = await Deno.readFile(manifestPath("aged"));
  const ok = await get("aged", ["--age-identity", id]);
  assert.equal(ok.stdout.length, data.length, ok.stderr);
  bytes[bytes.length - 5] ^= 1; // in the payload, past the header
  await Deno.writeFile(manifestPath("aged"), bytes);
  assertOneLine(
    await get("aged", ["--age-identity", id]),
    4,
    0,
    /age-encrypted manifest of 'aged' is damaged/,
  );
  const other = `${keyDir}/other.txt`;
  assert.equal((await cli(["keygen", "-o", other], { env })).code, 0);
  bytes[bytes.length - 5] ^= 1;
  await Deno.writeFile(manifestPath("aged"), bytes);
  assertOneLine(
    await get("aged", ["--age-identity", other]),
    5,
    0,
    /no --age-identity given matches/,
  );
});

Deno.test("12.6: a wrong key on a format 2 stream (plain manifest) -> 5, not 4; the right key restores", async () => {
  await put("v2", ["--key", "env:K", "--format", "2", "--no-encrypt-manifest"]);
  assertOneLine(
    await get("v2", ["--key", "env:WRONG"]),
    5,
    0,
    /does not decrypt the chunks of format 2 stream 'v2': wrong key/,
  );
  const r = await get("v2", ["--key", "env:K"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, data.length);
});

Deno.test("12.6: names too long for S3 or a local store -> exit 2 before any request", async () => {
  // Port 9 refuses connections: a request would be exit 7, not 2.
  const s3 = ["--bucket", "b", "--endpoint-url", "http://127.0.0.1:9", "--retries", "0"];
  for (
    const args of [
      ["get", ...s3, "--name", "n".repeat(998)],
      ["get", ...s3, "--prefix", "p".repeat(500), "--name", "n".repeat(500)],
      ["list", ...s3, "--prefix", "p".repeat(1000)],
      ["verify", ...s3, "--name", "é".repeat(499)],
    ]
  ) {
    assertOneLine(await cli(args, { env }), 2, 0, /S3 keys are at most 1024 bytes/);
  }
  assertOneLine(
    await cli(["put", ...s3, "--name", "n".repeat(998), "--no-encrypt"], { env, stdin: data }),
    2,
    0,
    /--name is 998 bytes long/,
  );
  assertOneLine(await get(`ok/${"a".repeat(256)}`), 2, 0, /path segment of 256 bytes/);
  assertOneLine(
    await cli(["cleanup", ...local, "--prefix", "p".repeat(300), "--dry-run"], { env }),
    2,
    0,
    /--prefix has a path segment of 300 bytes/,
  );
});

/** Run a shell pipeline with pipefail; its status and stderr. */
async function shell(script: string): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `set -o pipefail; ${script}`],
    env: { ...env, NO_COLOR: "1", S3DUCT: `${Deno.execPath()} run -A --quiet ${MAIN}` },
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: dec.decode(out.stderr) };
}

Deno.test("12.6: list | head -1 ends quietly with 141", async () => {
  // Enough listing to overflow the pipe (64 KiB) after head has gone: 300 lines of ~330 bytes.
  for (let i = 0; i < 300; i++) {
    await plantStream(`many/${String(i).padStart(3, "0")}-${"x".repeat(240)}`, {});
  }
  const r = await shell(`$S3DUCT list ${evil.join(" ")} --prefix many | head -1`);
  assert.equal(r.code, 141, r.stderr);
  assert.equal(r.stderr, "");
});

Deno.test("12.6: stdout that cannot be written -> exit 12, one line (get, list, keygen)", async () => {
  for (
    const [cmd, mention] of [
      [`get ${local.join(" ")} --name victim > /dev/full`, /cannot write to stdout: no space left/],
      [`list ${local.join(" ")} > /dev/full`, /cannot write to stdout: no space left/],
      [`keygen --aes > /dev/full`, /cannot write to stdout: no space left/],
      [`get ${local.join(" ")} --name victim >&-`, /stdout is closed/],
      [`keygen >&-`, /stdout is closed/],
    ] as const
  ) {
    const r = await shell(`$S3DUCT ${cmd}`);
    assertOneLine({ ...r, stdout: new Uint8Array(0) }, 12, 0, mention);
  }
});

Deno.test("12.6: a directory as stdin of put -> exit 13, one line, nothing stored", async () => {
  const r = await shell(`$S3DUCT put ${local.join(" ")} --name from-dir --no-encrypt < /tmp`);
  assertOneLine({ ...r, stdout: new Uint8Array(0) }, 13, 0, /stdin is a directory/);
  await assert.rejects(Deno.stat(`${root}/b/from-dir`), Deno.errors.NotFound);
});

Deno.test("12.6: s3duct with no command prints the usage on stderr and exits 2", async () => {
  const r = await cli([], { env });
  assert.equal(r.code, 2);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /^Usage: s3duct \[options\] \[command\]/);
  assert.match(r.stderr, /12 stdout cannot be written/);
  // Asked for, help is no error.
  const help = await cli(["--help"], { env });
  assert.equal(help.code, 0);
  assert.match(dec.decode(help.stdout), /^Usage: s3duct/);
});

// ---- E: a missing bucket, by every command ----

const READERS: string[][] = [
  ["get", "--name", "s"],
  ["verify", "--name", "s"],
  ["verify", "--deep", "--name", "s"],
  ["list"],
  ["delete", "--name", "s", "--force"],
  ["cleanup", "--force"],
  ["restore", "--name", "s"],
];

Deno.test("12.6 E: every command reports a missing bucket as such on the local store (exit 3)", async () => {
  for (const [cmd, ...rest] of READERS) {
    const r = await cli(
      [cmd, "--bucket", "nobucket", "--endpoint-url", `file://${root}`, ...rest],
      { env },
    );
    assertOneLine(r, 3, 0, /bucket '.*\/nobucket' does not exist/);
  }
});

Deno.test("12.6 E: every command reports a missing bucket as such on Ceph (NoSuchBucket, exit 3)", async () => {
  const bucket = runPrefix("nobucket");
  for (const [cmd, ...rest] of READERS) {
    const r = await cli([cmd, "--bucket", bucket, "--endpoint-url", ceph().endpoint, ...rest], {
      env,
    });
    assertOneLine(r, 3, 0, new RegExp(`bucket '${bucket}' does not exist`));
  }
  // The bucket that does exist still says "stream not found" for a missing stream.
  const r = await cli(["get", ...s3Args(), "--prefix", bucket, "--name", "s"], { env });
  assertOneLine(r, 3, 0, /stream 's' not found/);
});

Deno.test("hostile input: clean up", async () => {
  await Deno.remove(root, { recursive: true });
  await Deno.remove(keyDir, { recursive: true });
});
