/**
 * s3duct 0.4 streams served by a real S3 server: each fixture's objects are uploaded to Ceph
 * (under a run prefix; manifests hold logical keys, so a prefix moves a stream intact) and
 * restored byte-identical; `verify` passes against the ETags Ceph computes.
 */
import assert from "node:assert/strict";
import { type CaseJson, CASES, eachFixture } from "../helpers.ts";
import { bytesEqual, cli, s3Args, Suite } from "./harness.ts";

const t = new Suite("compat");
const { prefix, env, store } = t;

async function upload(dir: string, objects: { key: string }[]) {
  for (const o of objects) {
    await store.put(`${prefix}/${o.key}`, await Deno.readFile(`${dir}/objects/${o.key}`));
  }
}

function keyArgs(dir: string, c: CaseJson): string[] {
  if (c.crypto.method === "aes-256-gcm") return ["--key", `file:${dir}/aes-key.hex`];
  if (c.crypto.method === "age") return ["--age-identity", `${dir}/age-identity.txt`];
  return [];
}

eachFixture(CASES, "compat on Ceph: the fixtures", ({ id: name, dir, json: c }) => {
  Deno.test(`compat on Ceph: ${name}`, async () => {
    await upload(dir, c.objects);
    const p = c.prefix_arg ? `${prefix}/${c.prefix_arg}` : prefix;
    const args = [...s3Args(), "--prefix", p, "--name", c.stream_name, ...keyArgs(dir, c)];
    const got = await cli(["get", ...args], { env });
    if (c.objects.length === 0) {
      // The old tool stored nothing for empty stdin: there is no such stream.
      assert.equal(got.code, 3, got.stderr);
      assert.match(got.stderr, /not found/);
      assert.equal(got.stdout.length, 0);
      return;
    }
    assert.equal(got.code, 0, got.stderr);
    assert.ok(bytesEqual(got.stdout, await Deno.readFile(`${dir}/input.bin`)), "bytes differ");
    const verify = await cli(["verify", ...args], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });
});

Deno.test("compat on Ceph: clean up", () => t.clean());
