/** Bad input and failing stores: one-line errors, documented exit codes, never a stack trace. */
import assert from "node:assert/strict";
import {
  bytesEqual,
  ceph,
  cleanPrefix,
  cli,
  pseudoRandom,
  s3Args,
  Suite,
  TEST_KEY_HEX,
} from "./harness.ts";

const t = new Suite("errors");
const { prefix, env } = t;
const base = () => [...s3Args(), "--prefix", prefix];

function assertOneLineError(r: { code: number; stderr: string }, code: number, mention: RegExp) {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("(run "));
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], mention);
  assert.doesNotMatch(r.stderr, /\n\s+at |Traceback|Uncaught/);
}

const put = (name: string, data: Uint8Array, extra: string[] = []) =>
  t.run("put", name, ["--chunk-size", "4K", "--no-encrypt", ...extra], data);

Deno.test("get of a stream that does not exist -> exit 3", async () => {
  const r = await t.run("get", "no-such-stream");
  assertOneLineError(r, 3, /stream 'no-such-stream' not found/);
  assert.equal(r.stdout.length, 0);
});

Deno.test("a bucket that does not exist -> exit 3 naming the bucket", async () => {
  const c = ceph();
  const r = await cli(
    [
      "put",
      "--bucket",
      "no-such-bucket-x",
      "--endpoint-url",
      c.endpoint,
      "--name",
      "a",
      "--no-encrypt",
    ],
    { stdin: new Uint8Array(10), env },
  );
  assertOneLineError(r, 3, /bucket 'no-such-bucket-x' does not exist/);
});

Deno.test("a wrong secret key -> exit 6 naming the signature problem, secret not echoed", async () => {
  const r = await cli(["list", ...base()], {
    env: { ...env, AWS_SECRET_ACCESS_KEY: "definitely-wrong-secret" },
  });
  assertOneLineError(r, 6, /signature/);
  assert.ok(!r.stderr.includes("definitely-wrong-secret"));
});

Deno.test("an unknown access key -> exit 6", async () => {
  const r = await cli(["list", ...base()], { env: { ...env, AWS_ACCESS_KEY_ID: "NOSUCHKEY" } });
  assertOneLineError(r, 6, /InvalidAccessKeyId|access key/);
});

Deno.test("no credentials at all -> exit 6 saying how to provide them", async () => {
  const r = await cli(["list", ...base()], {
    env: { HOME: env.HOME, AWS_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true" },
  });
  assertOneLineError(r, 6, /no AWS credentials found/);
});

Deno.test("unreachable endpoint with --retries 0 -> exit 7 quickly", async () => {
  const t0 = performance.now();
  const r = await cli(
    ["list", "--bucket", "b", "--endpoint-url", "http://127.0.0.1:9", "--retries", "0"],
    { env },
  );
  assertOneLineError(r, 7, /cannot reach/);
  assert.ok(performance.now() - t0 < 15_000);
});

Deno.test("existing stream -> exit 8; --clobber replaces it and drops the old extra chunks", async () => {
  const long = pseudoRandom(10 * 4096, 5);
  const short = pseudoRandom(2 * 4096 + 10, 6);
  assert.equal((await put("clobber-me", long)).code, 0);
  assertOneLineError(await put("clobber-me", short), 8, /already exists.*--clobber/);
  const r = await put("clobber-me", short, ["--clobber"]);
  assert.equal(r.code, 0, r.stderr);
  const got = await t.run("get", "clobber-me");
  assert.equal(got.code, 0, got.stderr);
  assert.ok(bytesEqual(got.stdout, short));
  const left: string[] = [];
  for await (const e of t.store.list(`${prefix}/clobber-me/`)) {
    if (e.kind === "object") left.push(e.key.slice(prefix.length + 1));
  }
  // The new chunks live in a fresh generation folder; the old chunks are all gone.
  left.sort();
  assert.equal(left.length, 4, left.join(" "));
  assert.equal(left[0], "clobber-me/.manifest.json");
  const gen = /^clobber-me\/(g[0-9a-z]{8})\/chunk-000000$/.exec(left[1])?.[1];
  assert.ok(gen, left[1]);
  assert.deepEqual(left.slice(1), [0, 1, 2].map((i) => `clobber-me/${gen}/chunk-00000${i}`));
});

for (const bad of ["0", "-1", "abc", "1.3K", "10X", "6G"]) {
  Deno.test(`--chunk-size ${bad} -> usage error, exit 2`, async () => {
    assertOneLineError(
      await put("never", new Uint8Array(1), ["--chunk-size", bad]),
      2,
      /--chunk-size/,
    );
  });
}

for (const bad of ["", "/abs", ".hidden", "a//b", "trailing/", "a/../b"]) {
  Deno.test(`--name '${bad}' -> usage error, exit 2`, async () => {
    assertOneLineError(await put(bad, new Uint8Array(1)), 2, /--name/);
  });
}

Deno.test("--tag without '=' -> exit 2; missing --bucket -> exit 2", async () => {
  assertOneLineError(await put("t", new Uint8Array(1), ["--tag", "novalue"]), 2, /--tag/);
  const r = await cli(["put", "--name", "x"], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--bucket/);
});

Deno.test("malformed --key specs -> exit 5 without echoing the key", async () => {
  const secretish = "c0ffee".repeat(5);
  for (
    const spec of [
      `hex:${secretish}`,
      `raw:${secretish}`,
      "env:S3DUCT_UNSET_VAR",
      "file:/nonexistent/k",
    ]
  ) {
    const r = await cli(["put", ...base(), "--name", "k", "--key", spec], {
      stdin: new Uint8Array(1),
      env,
    });
    assertOneLineError(r, 5, /key/i);
    assert.ok(!r.stderr.includes(secretish), `key material echoed for ${spec}`);
  }
});

Deno.test("get | head -c 10: exit 141, quietly", async () => {
  const data = pseudoRandom(3 * 1024 * 1024, 8);
  assert.equal((await put("for-head", data, ["--chunk-size", "256K"])).code, 0);
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const args = [...base(), "--name", "for-head"].map((a) => `'${a}'`).join(" ");
  const sh = new Deno.Command("bash", {
    args: [
      "-c",
      `set -o pipefail; '${Deno.execPath()}' run -A --quiet '${main}' get ${args} | head -c 10 >/dev/null`,
    ],
    env: { ...env, NO_COLOR: "1" },
    stderr: "piped",
  });
  const out = await sh.output();
  assert.equal(out.code, 141);
  assert.equal(new TextDecoder().decode(out.stderr).trim(), "");
});

Deno.test("verify: ok -> 0; a deleted chunk -> exit 4 with a MISSING line", async () => {
  const data = pseudoRandom(5 * 4096, 9);
  assert.equal((await put("verify-me", data)).code, 0);
  const ok = await t.run("verify", "verify-me");
  assert.equal(ok.code, 0, ok.stderr);
  await t.removeChunk("verify-me", 3);
  const bad = await t.run("verify", "verify-me");
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /MISSING chunk 3/);
});

Deno.test("list: one line per stream; encrypted manifests shown as such without a key", async () => {
  const p = `${prefix}-list`;
  const args = [...s3Args(), "--prefix", p, "--chunk-size", "4K"];
  await cli(["put", ...args, "--name", "plain/one", "--no-encrypt"], {
    stdin: pseudoRandom(5000),
    env,
  });
  await cli(["put", ...args, "--name", "secret", "--key", "env:K"], {
    stdin: pseudoRandom(5000),
    env: { ...env, K: TEST_KEY_HEX },
  });
  const r = await cli(["list", ...s3Args(), "--prefix", p], { env });
  assert.equal(r.code, 0, r.stderr);
  const lines = new TextDecoder().decode(r.stdout).trim().split("\n");
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^plain\/one {2}2 chunks {2}5,000 bytes {2}\d{4}-\d\d-\d\dT.*\+00:00 {2}v/,
  );
  assert.match(lines[1], /^secret {2}\(manifest encrypted/);
  const withKey = await cli(["list", ...s3Args(), "--prefix", p, "--key", "env:K"], {
    env: { ...env, K: TEST_KEY_HEX },
  });
  assert.match(
    new TextDecoder().decode(withKey.stdout),
    /secret {2}2 chunks {2}5,000 bytes .* \[encrypted\]/,
  );
  await cleanPrefix(p);
});

Deno.test("errors: clean up", () => t.clean());
