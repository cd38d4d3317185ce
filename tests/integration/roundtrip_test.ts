/** put | get round trips on Ceph RGW: sizes, chunk sizes, encryption, prefixes. */
import assert from "node:assert/strict";
import {
  cleanPrefix,
  cli,
  equalBytes,
  runPrefix,
  s3Args,
  s3Env,
  TEST_KEY_HEX,
  testBytes,
} from "./harness.ts";

const prefix = runPrefix("roundtrip");
const env = { ...s3Env(), S3DUCT_TEST_KEY: TEST_KEY_HEX };

async function roundTrip(
  name: string,
  data: Uint8Array,
  chunkSize: string,
  key: string[],
): Promise<{ put: string; get: string }> {
  const common = [...s3Args(), "--prefix", prefix, "--name", name];
  const getKey = key[0] === "--key" ? key : [];
  const put = await cli(
    ["put", ...common, ...key, "--chunk-size", chunkSize, "--summary", "json"],
    {
      stdin: data,
      env,
    },
  );
  assert.equal(put.code, 0, `put ${name} failed: ${put.stderr}`);
  const summary = JSON.parse(put.stderr.trim().split("\n").at(-1)!);
  assert.equal(summary.total_bytes, data.length);
  const get = await cli(["get", ...common, ...getKey], { env });
  assert.equal(get.code, 0, `get ${name} failed: ${get.stderr}`);
  assert.ok(equalBytes(get.stdout, data), `${name}: restored bytes differ`);
  return { put: put.stderr, get: get.stderr };
}

const K = 1024;
const M = 1024 * 1024;
const cases: [string, number, string][] = [
  ["empty", 0, "1K"],
  ["one-byte", 1, "1K"],
  ["exact-multiple", 4 * K, "1K"],
  ["five-plus-tail", 5 * 4 * K + 123, "4K"],
  ["below-one-chunk", 3000, "64K"],
  ["one-mib-chunks", 3 * M + 7, "1M"],
  ["chunk-64m", 70 * M, "64M"],
];

for (const [label, size, chunk] of cases) {
  for (const encrypted of [false, true]) {
    Deno.test(`round trip on Ceph: ${label} (${size} bytes, ${chunk}, ${encrypted ? "AES" : "plain"})`, async () => {
      const data = testBytes(size, size + (encrypted ? 7 : 3));
      const key = encrypted ? ["--key", "env:S3DUCT_TEST_KEY"] : ["--no-encrypt"];
      await roundTrip(`${label}-${encrypted ? "aes" : "plain"}`, data, chunk, key);
    });
  }
}

Deno.test("round trip on Ceph: AES chunks with a plain manifest, and no --prefix", async () => {
  const name = `${prefix}-noprefix/aes-plain-manifest`;
  const data = testBytes(50_000, 11);
  const args = [...s3Args(), "--name", name];
  const put = await cli(
    ["put", ...args, "--chunk-size", "8K", "--key", "env:S3DUCT_TEST_KEY", "--no-encrypt-manifest"],
    { stdin: data, env },
  );
  assert.equal(put.code, 0, put.stderr);
  const get = await cli(["get", ...args, "--key", "env:S3DUCT_TEST_KEY"], { env });
  assert.equal(get.code, 0, get.stderr);
  assert.ok(equalBytes(get.stdout, data));
  await cleanPrefix(`${prefix}-noprefix`);
});

Deno.test("round trip on Ceph: 200 MiB with 8M chunks restores identical", async () => {
  const data = testBytes(200 * M, 99);
  await roundTrip("big-200m", data, "8M", ["--key", "env:S3DUCT_TEST_KEY"]);
});

Deno.test({
  name: "round trip on Ceph: clean up",
  fn: () => cleanPrefix(prefix),
});
