/**
 * verify --deep on the server matrix: passes on a good AES stream; catches a flipped byte whose
 * ETag was patched into a plain manifest (so plain verify, which compares listed ETags,
 * passes); reports a missing chunk.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../lib/errors.ts";
import { serializeManifest } from "../../lib/format/manifest.ts";
import { pseudoRandom, servers, Suite, TEST_KEY_HEX } from "./harness.ts";

for (const server of servers()) {
  const t = new Suite(`deep-${server.name}`, server, { K: TEST_KEY_HEX });
  const { prefix, store } = t;
  const CHUNK = 4096;
  const data = pseudoRandom(3 * CHUNK + 100, 9); // 4 chunks

  const put = (name: string, extra: string[] = []) =>
    t.put(name, data, "--chunk-size", String(CHUNK), "--key", "env:K", ...extra);
  const verify = (name: string, ...more: string[]) =>
    t.run("verify", name, ["--key", "env:K", ...more]);

  const lastJson = (stderr: string) => JSON.parse(stderr.trim().split("\n").at(-1)!);

  Deno.test(`verify --deep: a good AES stream passes, nothing on stdout [${server.name}]`, async () => {
    await put("good");
    const r = await verify("good", "--deep");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /All 4 chunks of 'good' downloaded and verified/);
    const j = await verify("good", "--deep", "--summary", "json");
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(lastJson(j.stderr), {
      status: "ok",
      stream: "good",
      deep: true,
      chunks_total: 4,
      chunks_ok: 4,
      chunks_mismatched: [],
      chunks_missing: [],
      errors: 0,
      problems: [],
    });
  });

  Deno.test(`verify --deep: flipped byte behind a patched ETag fails (exit 4) where plain verify passes [${server.name}]`, async () => {
    await put("flip", ["--no-encrypt-manifest"]);
    const mkey = t.manifestKey("flip");
    const m = await t.manifest("flip");
    // The plain manifest names chunk 1's real key (in put's generation folder).
    const key = `${prefix}/${m.chunks[1].s3_key}`;
    assert.match(key, new RegExp(`^${prefix}/flip/g[0-9a-z]{8}/chunk-000001$`));
    assert.equal(key, await t.chunkKey("flip", 1));
    const bytes = await store.get(key);
    bytes[100] ^= 0x01;
    const { etag } = await store.put(key, bytes);
    assert.notEqual(m.chunks[1].etag, etag, "a rewritten object has a new ETag");
    m.chunks[1].etag = etag;
    await store.put(mkey, serializeManifest(m));

    const plain = await verify("flip", "--summary", "json");
    assert.equal(plain.code, 0, `plain (listing) verify cannot see it: ${plain.stderr}`);
    assert.equal(lastJson(plain.stderr).status, "ok");

    const deep = await verify("flip", "--deep");
    assert.equal(deep.code, ExitCode.INTEGRITY, deep.stderr);
    assert.match(deep.stderr, /CORRUPT chunk 1: chunk 1 of 'flip' fails authentication/);
    assert.match(deep.stderr, /1 of 4 chunks verified before the first problem/);
    assert.equal(deep.stdout.length, 0);
    const j = await verify("flip", "--deep", "--summary", "json");
    assert.equal(j.code, ExitCode.INTEGRITY);
    const s = JSON.parse(j.stderr.split("\n").find((l) => l.startsWith("{"))!);
    assert.equal(s.status, "fail");
    assert.deepEqual(s.chunks_mismatched, [1]);
    assert.equal(s.chunks_ok, 1);
    assert.equal(s.errors, 1);
  });

  Deno.test(`verify --deep: a missing chunk is reported as missing; plain verify agrees [${server.name}]`, async () => {
    await put("hole");
    await t.removeChunk("hole", 2);
    const j = await verify("hole", "--deep", "--summary", "json");
    assert.equal(j.code, ExitCode.INTEGRITY, j.stderr);
    assert.match(j.stderr, /MISSING chunk 2/);
    const s = JSON.parse(j.stderr.split("\n").find((l) => l.startsWith("{"))!);
    assert.deepEqual(s.chunks_missing, [2]);
    assert.equal(s.chunks_ok, 2);
    const plain = await verify("hole", "--summary", "json");
    assert.equal(plain.code, ExitCode.INTEGRITY);
    assert.match(plain.stderr, /MISSING chunk 2/);
    assert.deepEqual(
      JSON.parse(plain.stderr.split("\n").find((l) => l.startsWith("{"))!).chunks_missing,
      [2],
    );
  });

  Deno.test(`verify --deep: clean up [${server.name}]`, () => t.clean());
}
