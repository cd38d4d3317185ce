/**
 * Compatibility with s3duct 0.4: every stream the old tool stored (the shared fixture set) is
 * read back through the real CLI, as a subprocess, from a local-directory store rooted at the
 * case directory (bucket `objects`). The fixture folder is read-only: nothing writes into it.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  aesCases,
  aesKeyOf,
  CASES,
  cli,
  type CliResult,
  eachFixture,
  type FixtureCase,
  fixtureCase,
  FIXTURES,
  lazy,
  leaksSecret,
  refHex,
} from "../helpers.ts";

interface IndexJson {
  list_output_whole_bucket: { stdout: string };
  list_output_with_prefix: { argv: string[]; stdout: string };
}
const INDEX: IndexJson = lazy(() => JSON.parse(Deno.readTextFileSync(`${FIXTURES}/index.json`)));

// age support lands with issue 3: the age cases switch on by themselves once `get` has it.
const GET_HELP = new TextDecoder().decode((await cli(["get", "--help"])).stdout);
const AGE_SUPPORTED = GET_HELP.includes("--age-identity");

const isAge = (c: FixtureCase) => c.json.crypto.method === "age";
/** Case f: empty stdin, so the old tool stored nothing at all. */
const storedNothing = (c: FixtureCase) => c.json.objects.length === 0;

function storeArgs(c: FixtureCase, withName = true): string[] {
  const args = ["--bucket", "objects", "--endpoint-url", `file://${c.dir}`];
  if (withName) args.push("--name", c.json.stream_name);
  if (c.json.prefix_arg) args.push("--prefix", c.json.prefix_arg);
  return args;
}

function keyArgs(c: FixtureCase): string[] {
  if (c.json.crypto.method === "aes-256-gcm") return ["--key", `file:${c.dir}/aes-key.hex`];
  if (isAge(c)) return ["--age-identity", `${c.dir}/${c.json.crypto.age_identity_file}`];
  return [];
}

function stdoutText(r: CliResult): string {
  return new TextDecoder().decode(r.stdout);
}

/** Exit code first, with stderr in the failure message. */
function assertExit(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}; stderr:\n${r.stderr}`);
}

/** The bytes on stdout are exactly input.bin (compared by length and SHA-256 for a short diff). */
function assertStdoutIsInput(r: CliResult, c: FixtureCase): void {
  const input = Deno.readFileSync(`${c.dir}/input.bin`);
  assert.equal(r.stdout.length, input.length, `${c.id}: stdout length`);
  assert.equal(refHex("sha256", r.stdout), refHex("sha256", input), `${c.id}: stdout SHA-256`);
  assert.equal(Buffer.compare(r.stdout, input), 0);
}

/** Exit `code`, nothing on stdout, one line on stderr. */
function assertFailed(r: CliResult, code: number, what: string): void {
  assertExit(r, code, what);
  assert.equal(r.stdout.length, 0);
  assertOneLineError(r, what);
}

/** A failure is one line on stderr, with no Python traceback or JS stack frames. */
function assertOneLineError(r: CliResult, what: string): void {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `${what}: expected one stderr line, got:\n${r.stderr}`);
  assert.ok(!r.stderr.includes("Traceback"), r.stderr);
  assert.ok(!/^\s+at /m.test(r.stderr), `${what}: stack frames on stderr:\n${r.stderr}`);
  assert.ok(r.stderr.endsWith("\n"), "error line is newline-terminated");
}

Deno.test("fixtures: the nine cases of s3duct 0.4 are present", () => {
  const ids = CASES.map((c) => c.id.split("-")[0]);
  assert.deepEqual(ids, ["a", "b", "c", "d", "d2", "e", "e2", "f", "g"]);
});

eachFixture(CASES, "get, verify and list of every case: the fixtures", (c) => {
  if (storedNothing(c)) return;
  const ignore = isAge(c) && !AGE_SUPPORTED;

  Deno.test({
    name: `get ${c.id}: stdout is byte-identical to input.bin`,
    ignore,
    async fn() {
      const r = await cli(["get", ...storeArgs(c), ...keyArgs(c)]);
      assertExit(r, 0, "get");
      assertStdoutIsInput(r, c);
    },
  });

  Deno.test({
    name: `verify ${c.id}: exit 0, every chunk's ETag matches`,
    ignore,
    async fn() {
      const r = await cli(["verify", ...storeArgs(c), ...keyArgs(c), "--summary", "json"]);
      assertExit(r, 0, "verify");
      assert.equal(r.stdout.length, 0, "verify prints nothing on stdout");
      // The last stderr line is the JSON summary; compare with what 0.4 reported.
      const last = r.stderr.trimEnd().split("\n").at(-1) ?? "";
      const ours = JSON.parse(last);
      const old = (c.json as unknown as { verify: { summary_json: Record<string, unknown> } })
        .verify.summary_json;
      for (const k of ["status", "stream", "chunks_total", "chunks_ok", "errors"]) {
        assert.deepEqual(ours[k], old[k], `summary field ${k}`);
      }
    },
  });

  Deno.test(`list ${c.id}: the line s3duct 0.4 printed`, async () => {
    const r = await cli(["list", ...storeArgs(c, false)]);
    assertExit(r, 0, "list");
    const want = c.json.list.stdout_line_for_this_stream;
    assert.ok(want, "case.json has the list line");
    if (c.json.crypto.manifest_encrypted) {
      // 0.4 printed `(manifest encrypted)`; we also say how, so only the gist must match.
      const lines = stdoutText(r).split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, stdoutText(r));
      assert.ok(lines[0].startsWith(`${c.json.stream_name}  `), lines[0]);
      assert.ok(lines[0].includes("encrypted"), lines[0]);
    } else {
      assert.equal(stdoutText(r), want + "\n");
    }
  });
});

eachFixture(aesCases, "get with the --key forms of 0.4: the fixtures", (c) => {
  Deno.test(`get ${c.id} with the --key form 0.4 was given (${c.json.crypto.key_spec?.split(":")[0]}:)`, async () => {
    const spec = c.json.crypto.key_spec!;
    // Relative file: paths were relative to the case directory.
    const abs = spec.startsWith("file:") && !spec.startsWith("file:/")
      ? `file:${c.dir}/${spec.slice(5)}`
      : spec;
    const r = await cli(["get", ...storeArgs(c), "--key", abs], { env: c.json.env_extra });
    assertExit(r, 0, "get");
    assertStdoutIsInput(r, c);
    const keyHex = Buffer.from(aesKeyOf(c)).toString("hex");
    assert.ok(!leaksSecret(r.stderr, keyHex), `stderr leaks the key:\n${r.stderr}`);
  });
});

Deno.test("get c-aes-plain-manifest with --key env:S3DUCT_FIXTURE_KEY", async () => {
  const c = fixtureCase("c");
  const value = c.json.env_extra.S3DUCT_FIXTURE_KEY;
  assert.match(value, /^[0-9a-f]{64}$/);
  const r = await cli(["get", ...storeArgs(c), "--key", "env:S3DUCT_FIXTURE_KEY"], {
    env: { S3DUCT_FIXTURE_KEY: value },
  });
  assertExit(r, 0, "get");
  assertStdoutIsInput(r, c);
});

Deno.test("get c-aes-plain-manifest with the env variable unset: key error, nothing written", async () => {
  const c = fixtureCase("c");
  const r = await cli(["get", ...storeArgs(c), "--key", "env:S3DUCT_FIXTURE_KEY_UNSET"]);
  assertFailed(r, 5, "get");
});

Deno.test("get c-aes-plain-manifest with another case's key: exit 5, nothing written", async () => {
  const c = fixtureCase("c");
  const b = fixtureCase("b");
  // hex: form, so no key-file permission warning joins the error line.
  const wrong = Buffer.from(aesKeyOf(b)).toString("hex");
  const r = await cli(["get", ...storeArgs(c), "--key", `hex:${wrong}`]);
  assertFailed(r, 5, "get");
});

Deno.test("get b-aes-encrypted-manifest without --key: exit 5, one line", async () => {
  const b = fixtureCase("b");
  const r = await cli(["get", ...storeArgs(b)]);
  assertFailed(r, 5, "get");
});

Deno.test("get g with --prefix lacking the trailing slash (normalised as 0.4 does)", async () => {
  const g = fixtureCase("g");
  assert.equal(g.json.prefix_arg, "backups/2026/");
  const r = await cli([
    "get",
    "--bucket",
    "objects",
    "--endpoint-url",
    `file://${g.dir}`,
    "--name",
    g.json.stream_name,
    "--prefix",
    "backups/2026",
  ]);
  assertExit(r, 0, "get");
  assertStdoutIsInput(r, g);
});

Deno.test("list g with --prefix matches index.json list_output_with_prefix", async () => {
  const g = fixtureCase("g");
  const prefix =
    INDEX.list_output_with_prefix.argv[INDEX.list_output_with_prefix.argv.indexOf("--prefix") + 1];
  const r = await cli([
    "list",
    "--bucket",
    "objects",
    "--endpoint-url",
    `file://${g.dir}`,
    "--prefix",
    prefix,
  ]);
  assertExit(r, 0, "list");
  assert.equal(stdoutText(r), INDEX.list_output_with_prefix.stdout);
});

/** The line index.json's whole-bucket listing has for a stream (full key path as name). */
function wholeBucketLine(name: string): string {
  const line = INDEX.list_output_whole_bucket.stdout.split("\n").find((l) =>
    l.startsWith(name + "  ")
  );
  assert.ok(line, `no line for ${name} in index.json`);
  return line;
}

Deno.test("list g without --prefix shows the stream as prefix/name with its details (spec 2.3)", async () => {
  const g = fixtureCase("g");
  const r = await cli(["list", "--bucket", "objects", "--endpoint-url", `file://${g.dir}`]);
  assertExit(r, 0, "list");
  assert.equal(stdoutText(r), wholeBucketLine("backups/2026/db/nightly.dump") + "\n");
});

Deno.test("list of one bucket holding every case matches index.json list_output_whole_bucket", async () => {
  const root = await Deno.makeTempDir({ prefix: "s3duct-compat-" });
  try {
    for (const c of CASES) {
      for (const o of c.json.objects) {
        const dest = `${root}/objects/${o.key}`;
        await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
        await Deno.copyFile(`${c.dir}/objects/${o.key}`, dest);
        await Deno.chmod(dest, 0o644);
      }
    }
    const r = await cli(["list", "--bucket", "objects", "--endpoint-url", `file://${root}`]);
    assertExit(r, 0, "list");
    const ours = stdoutText(r).split("\n").filter((l) => l !== "");
    const old = INDEX.list_output_whole_bucket.stdout.split("\n").filter((l) => l !== "");
    assert.equal(ours.length, old.length, stdoutText(r));
    for (const [i, line] of old.entries()) {
      if (line.endsWith("  (manifest encrypted)")) {
        const name = line.slice(0, -"  (manifest encrypted)".length);
        assert.ok(ours[i].startsWith(`${name}  `), `line ${i}: ${ours[i]}`);
        assert.ok(ours[i].includes("encrypted"), `line ${i}: ${ours[i]}`);
      } else {
        assert.equal(ours[i], line, `line ${i}`);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("f-empty-stdin: get of a stream never stored exits 3 with one line, no stdout", async () => {
  const f = fixtureCase("f");
  assert.equal(f.json.objects.length, 0);
  const r = await cli(["get", ...storeArgs(f)]);
  assertFailed(r, 3, "get");
  assert.ok(r.stderr.includes(f.json.stream_name), r.stderr);
});

Deno.test("f-empty-stdin: verify exits 3 with one line", async () => {
  const f = fixtureCase("f");
  const r = await cli(["verify", ...storeArgs(f)]);
  assertFailed(r, 3, "verify");
});

Deno.test("get of a name below an existing chunk object is 'not found' (exit 3), not a store failure", async () => {
  const a = fixtureCase("a");
  const r = await cli([
    "get",
    "--bucket",
    "objects",
    "--endpoint-url",
    `file://${a.dir}`,
    "--name",
    `${a.json.stream_name}/chunk-000000`,
  ]);
  assertFailed(r, 3, "get");
});
