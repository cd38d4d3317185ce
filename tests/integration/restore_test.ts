/**
 * restore and the archived-stream check of get, against the Glacier stand-in (Ceph Pacific has
 * no archive classes or RestoreObject; see README "Glacier restore"). Streams are written by
 * the real CLI into a file:// store, then loaded into the stand-in with the storage class set.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../lib/errors.ts";
import { filesUnder, tempDir } from "../helpers.ts";
import { GlacierStandin } from "../servers/glacier_standin.ts";
import { cli, pseudoRandom, TEST_KEY_HEX } from "./harness.ts";

const CHUNK = 1000;
const data = pseudoRandom(4 * CHUNK + 10, 7); // 5 chunks
const env = {
  AWS_ACCESS_KEY_ID: "standin",
  AWS_SECRET_ACCESS_KEY: "standin-secret",
  AWS_REGION: "us-east-1",
  HOME: tempDir("s3duct-home-"),
  K: TEST_KEY_HEX,
};

/** A stream stored via the CLI, loaded into a fresh stand-in with chunks in `chunkClass`. */
async function standinWith(
  name: string,
  putClass: string,
  chunkClass: string,
): Promise<GlacierStandin> {
  const root = await Deno.makeTempDir({ prefix: "s3duct-restore-" });
  try {
    await Deno.mkdir(`${root}/b`);
    const put = await cli([
      "put",
      "--bucket",
      "b",
      "--endpoint-url",
      `file://${root}`,
      "--name",
      name,
      "--chunk-size",
      String(CHUNK),
      "--key",
      "env:K",
      "--storage-class",
      putClass,
    ], { stdin: data, env });
    assert.equal(put.code, 0, put.stderr);
    const s = new GlacierStandin("bkt");
    for (const rel of filesUnder(`${root}/b`)) {
      const isChunk = /\/chunk-\d+$/.test(rel);
      s.put(rel, await Deno.readFile(`${root}/b/${rel}`), isChunk ? chunkClass : "STANDARD");
    }
    assert.equal(s.objects.size, 6, "5 chunks and a manifest");
    return s;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const args = (s: GlacierStandin, name: string, ...more: string[]) => [
  "--bucket",
  s.bucket,
  "--endpoint-url",
  s.endpoint,
  "--name",
  name,
  "--key",
  "env:K",
  ...more,
];

const restoreCalls = (s: GlacierStandin) => s.count("POST", (r) => r.query.has("restore"));

Deno.test("restore: a GLACIER stream gets a restore request for every chunk, then reports in progress", async () => {
  const s = await standinWith("cold", "GLACIER", "GLACIER");
  try {
    const r = await cli(
      ["restore", ...args(s, "cold", "--days", "3", "--tier", "Bulk", "--summary", "json")],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(restoreCalls(s), 5);
    for (const b of s.restoreBodies) {
      assert.match(b, /<Days>3<\/Days>/);
      assert.match(b, /<GlacierJobParameters><Tier>Bulk<\/Tier><\/GlacierJobParameters>/);
    }
    assert.match(r.stderr, /5 initiated, 0 already in progress, 0 restored/);
    const json = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
    assert.equal(json.status, "pending");
    assert.equal(json.initiated, 5);
    assert.equal(json.pending, 5);
    assert.equal(r.stdout.length, 0);
    // Asking again: every chunk is already thawing, nothing is requested twice.
    const again = await cli(["restore", ...args(s, "cold")], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /0 initiated, 5 already in progress/);
    assert.equal(restoreCalls(s), 5, "HEAD showed ongoing-request=true; no second request");
  } finally {
    await s.close();
  }
});

Deno.test("restore --wait: completes once the restores finish; get then streams the data", async () => {
  const s = await standinWith("thaw", "DEEP_ARCHIVE", "DEEP_ARCHIVE");
  try {
    // The stand-in finishes all restores 1.5 s in, during the wait.
    const flip = setTimeout(() => s.finishRestores(), 1500);
    const r = await cli(
      ["restore", ...args(s, "thaw", "--wait", "--poll-interval", "1", "--timeout", "30s")],
      { env },
    );
    clearTimeout(flip);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /5\/5 chunks readable/);
    assert.match(r.stderr, /All chunks restored/);
    const get = await cli(["get", ...args(s, "thaw")], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(get.stdout, data);
  } finally {
    await s.close();
  }
});

Deno.test("restore --wait --timeout: gives up with exit 7 and says how far it got", async () => {
  const s = await standinWith("stuck", "GLACIER", "GLACIER");
  try {
    const started = Date.now();
    const r = await cli(
      ["restore", ...args(s, "stuck", "--wait", "--poll-interval", "1", "--timeout", "2s")],
      { env },
    );
    assert.equal(r.code, ExitCode.STORE, r.stderr);
    assert.match(
      r.stderr,
      /timed out after 2 s waiting for restores: 0 of 5 chunks readable, 5 still restoring/,
    );
    assert.ok(Date.now() - started < 15_000, "stopped near the timeout");
  } finally {
    await s.close();
  }
});

Deno.test("restore: GLACIER_IR chunks are readable already and get no restore request", async () => {
  const s = await standinWith("instant", "GLACIER_IR", "GLACIER_IR");
  try {
    const r = await cli(["restore", ...args(s, "instant")], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(restoreCalls(s), 0);
    assert.match(r.stderr, /5 readable without restore/);
    assert.match(r.stderr, /All chunks are readable/);
    const get = await cli(["get", ...args(s, "instant")], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(get.stdout, data);
  } finally {
    await s.close();
  }
});

Deno.test("get on an unrestored GLACIER stream fails up front: exit 9, restore command named, no output", async () => {
  const s = await standinWith("frozen", "GLACIER", "GLACIER");
  try {
    // Chunk 0 is thawed; the rest are not, so a naive get would write chunk 0 and then fail.
    const chunk0 = [...s.objects.keys()].filter((k) =>
      /^frozen\/g[0-9a-z]{8}\/chunk-000000$/.test(k)
    );
    assert.equal(chunk0.length, 1, [...s.objects.keys()].join(" "));
    s.objects.get(chunk0[0])!.restore = "done";
    const r = await cli(["get", ...args(s, "frozen")], { env });
    assert.equal(r.code, ExitCode.ARCHIVED, r.stderr);
    assert.equal(r.stdout.length, 0, "nothing written before failing");
    assert.match(r.stderr, /4 not restored of 5 chunks/);
    assert.ok(
      r.stderr.includes(
        `s3duct restore --bucket bkt --name frozen --endpoint-url ${s.endpoint} <same --key/--age-identity>`,
      ),
      r.stderr,
    );
    assert.equal(s.count("GET", (q) => q.key.includes("/chunk-")), 0, "no chunk downloaded");
  } finally {
    await s.close();
  }
});

Deno.test("get: chunks archived behind the manifest's back (lifecycle) fail with exit 9 too", async () => {
  const s = await standinWith("moved", "STANDARD", "GLACIER");
  try {
    const r = await cli(["get", ...args(s, "moved")], { env });
    assert.equal(r.code, ExitCode.ARCHIVED, r.stderr);
    assert.equal(r.stdout.length, 0);
    assert.match(
      r.stderr,
      /archived \(GLACIER\/DEEP_ARCHIVE\) and not restored; run 's3duct restore'/,
    );
    // restore HEADs every chunk regardless of the manifest's STANDARD, so it finds them.
    const restore = await cli(["restore", ...args(s, "moved")], { env });
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restoreCalls(s), 5);
  } finally {
    await s.close();
  }
});
