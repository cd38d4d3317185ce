/**
 * `list` finds manifests without paging through chunk objects: counted on the S3 stand-in
 * (which pages at 1000 keys like S3), and checked for the same output on the server matrix (Ceph,
 * Swift) and a dir store.
 */
import assert from "node:assert/strict";
import { manifestKeys } from "../../lib/cli/list_walk.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import { GlacierStandin } from "../servers/glacier_standin.ts";
import { tempDir } from "../helpers.ts";
import {
  cleanPrefix,
  cli,
  directStore,
  pseudoRandom,
  runPrefix,
  s3Args,
  s3Env,
  servers,
} from "./harness.ts";

const env = {
  AWS_ACCESS_KEY_ID: "standin",
  AWS_SECRET_ACCESS_KEY: "standin-secret",
  AWS_REGION: "us-east-1",
  HOME: tempDir("s3duct-home-"),
};

/** Streams as `put` would leave them: a manifest and `chunks` one-byte chunk objects. */
async function fillFs(root: string) {
  await Deno.mkdir(`${root}/b`);
  for (
    const [name, chunks] of [["big", 5000], ["db/nightly", 3], ["db", 2], ["zeta/x", 1]] as const
  ) {
    const put = await cli([
      "put",
      "--bucket",
      "b",
      "--endpoint-url",
      `file://${root}`,
      "--name",
      name,
      "--chunk-size",
      "1",
      "--no-encrypt",
      "-q",
    ], { stdin: pseudoRandom(chunks, chunks), env });
    assert.equal(put.code, 0, put.stderr);
  }
}

const root = await Deno.makeTempDir({ prefix: "s3duct-list-" });
await fillFs(root);

const listRequests = (s: GlacierStandin) =>
  s.requests.filter((q) => q.method === "GET" && q.key === "" && q.query.get("max-keys") !== "0");

Deno.test("list: a 5000-chunk stream costs fewer than 5 list requests (paging all keys: 6)", async () => {
  const s = new GlacierStandin("bkt");
  try {
    for await (const e of new FsStore(root, "b").list("big/")) {
      if (e.kind === "object") s.put(e.key, await Deno.readFile(`${root}/b/${e.key}`));
    }
    assert.equal(s.objects.size, 5001);
    const one = await cli(["list", "--bucket", "bkt", "--endpoint-url", s.endpoint], { env });
    assert.equal(one.code, 0, one.stderr);
    assert.match(new TextDecoder().decode(one.stdout), /^big {2}5000 chunks {2}5,000 bytes {2}/);
    const lists = listRequests(s);
    assert.ok(lists.length < 5, `list requests: ${lists.length}`);
    assert.ok(lists.every((q) => q.query.get("delimiter") === "/"), "every listing is delimited");
    const big = lists.filter((q) => q.query.get("prefix") === "big/");
    assert.equal(big.length, 2, "one page up to the first chunk key, one after the chunk keys");
    assert.equal(big[1].query.get("start-after"), "big/chunk-:");

    // Nested streams sorting before and after the chunk keys are all found, in key order.
    for await (const e of new FsStore(root, "b").list("")) {
      if (e.kind === "object") s.put(e.key, await Deno.readFile(`${root}/b/${e.key}`));
    }
    s.requests.length = 0;
    const r = await cli(
      ["list", "--bucket", "bkt", "--endpoint-url", s.endpoint, "--json"],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = new TextDecoder().decode(r.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.stream, l.chunks]), [
      ["big", 5000],
      ["db", 2],
      ["db/nightly", 3],
      ["zeta/x", 1],
    ]);
    // Two requests per level: "", big/, db/, db/nightly/, zeta/, zeta/x/.
    assert.equal(listRequests(s).length, 12);
  } finally {
    await s.close();
  }
});

Deno.test("list walk on a directory store: same manifests, in key order", async () => {
  const keys: string[] = [];
  for await (const k of manifestKeys(new FsStore(root, "b"), "")) keys.push(k);
  assert.deepEqual(keys, [
    "big/.manifest.json",
    "db/.manifest.json",
    "db/nightly/.manifest.json",
    "zeta/x/.manifest.json",
  ]);
  const under: string[] = [];
  for await (const k of manifestKeys(new FsStore(root, "b"), "db/")) under.push(k);
  assert.deepEqual(under, ["db/.manifest.json", "db/nightly/.manifest.json"]);
});

for (const server of servers()) {
  Deno.test(`list: nested streams sorting before and after the chunk keys; orphans ignored [${server.name}]`, async () => {
    const prefix = runPrefix(`list-${server.name}`);
    const cenv = s3Env(server);
    try {
      for (const name of ["a", "a/b", "a/zz", "a/0first"]) {
        const put = await cli(
          [
            "put",
            ...s3Args(server),
            "--prefix",
            prefix,
            "--name",
            name,
            "--chunk-size",
            "1",
            "--no-encrypt",
            "-q",
          ],
          { stdin: pseudoRandom(3, 1), env: cenv },
        );
        assert.equal(put.code, 0, put.stderr);
      }
      const r = await cli(["list", ...s3Args(server), "--prefix", prefix], { env: cenv });
      assert.equal(r.code, 0, r.stderr);
      const names = new TextDecoder().decode(r.stdout).trim().split("\n").map((l) =>
        l.split("  ")[0]
      );
      assert.deepEqual(names, ["a", "a/0first", "a/b", "a/zz"]);
      // Stray chunk objects (an interrupted upload) are not streams: in a generation folder, as
      // this version's put leaves them, or directly under the name, as s3duct 0.4 did.
      await directStore(server).put(`${prefix}/orphan/g0rphan00/chunk-000000`, new Uint8Array([1]));
      await directStore(server).put(`${prefix}/orphan04/chunk-000000`, new Uint8Array([1]));
      const again = await cli(["list", ...s3Args(server), "--prefix", prefix], { env: cenv });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(new TextDecoder().decode(again.stdout).trim().split("\n").length, 4);
    } finally {
      await cleanPrefix(prefix, server);
    }
  });
}

Deno.test("list: clean up", () => Deno.remove(root, { recursive: true }));
