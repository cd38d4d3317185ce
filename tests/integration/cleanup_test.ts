/**
 * cleanup on the server matrix: chunks of an interrupted stream (no manifest), chunks past a
 * manifest's end and an unused chunk generation are found and removed; complete streams are
 * untouched; --dry-run deletes nothing; encrypted manifests are only checked with their key.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../lib/errors.ts";
import { ownersOf } from "../../lib/cli/cleanup.ts";
import {
  bytesEqual,
  cli,
  pseudoRandom,
  s3Args,
  s3Env,
  servers,
  Suite,
  TEST_KEY_HEX,
} from "./harness.ts";

for (const server of servers()) {
  const t = new Suite(`cleanup-${server.name}`, server, { K: TEST_KEY_HEX });
  const { prefix, env, store } = t;
  /** Full key of chunk `i` in s3duct 0.4's layout: directly under the name. */
  const chunk = (name: string, i: number) =>
    `${prefix}/${name}/chunk-${String(i).padStart(6, "0")}`;
  const dec = new TextDecoder();

  const allKeys = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of store.list(`${prefix}/`)) if (e.kind === "object") out.push(e.key);
    return out;
  };

  const cleanup = (...more: string[]) =>
    cli(["cleanup", ...s3Args(server), "--prefix", prefix, ...more], { env });
  const lines = (b: Uint8Array) => dec.decode(b).split("\n").filter((l) => l);

  // Pure: once is enough.
  if (server.name === "ceph") {
    Deno.test(`cleanup: ownersOf: plain chunks, generations, not chunks`, () => {
      assert.deepEqual(ownersOf("p/db/chunk-000001"), ["p/db"]);
      assert.deepEqual(ownersOf("p/db/g0a1b2c3d/chunk-1234567"), ["p/db/g0a1b2c3d", "p/db"]);
      assert.deepEqual(ownersOf("p/db/.manifest.json"), []);
      assert.deepEqual(ownersOf("p/db/chunk-12"), []);
      assert.deepEqual(ownersOf("chunk-000001"), []);
    });
  }

  /**
   * Interrupted uploads (no manifest): in a generation folder as this version writes them, and
   * directly under the name as s3duct 0.4 did; chunks past two manifests' end, next to their
   * chunks; a stale generation. 100 bytes each.
   */
  const plantOrphans = async () => {
    // Chunk 3 in the generation folder each put wrote its chunks 0-2 into (one past the end).
    const past = async (name: string) => {
      const first = await t.chunkKey(name, 0);
      const gen = new RegExp(`^${prefix}/${name}/(g[0-9a-z]{8})/chunk-000000$`).exec(first)?.[1];
      assert.ok(gen && gen !== "g0a1b2c3d", first);
      return `${prefix}/${name}/${gen}/chunk-000003`;
    };
    const cut = [
      `${prefix}/cut/gcut00000/chunk-000000`,
      `${prefix}/cut/gcut00000/chunk-000001`,
      chunk("cut/inner", 0),
    ];
    const pastEnd = [await past("done"), await past("plain")];
    const staleGen = [`${prefix}/done/g0a1b2c3d/chunk-000000`];
    for (const k of [...cut, ...pastEnd, ...staleGen]) await store.put(k, new Uint8Array(100));
    return { cut, pastEnd, staleGen };
  };

  Deno.test(`cleanup: finds orphans, --dry-run keeps them, --force removes only them [${server.name}]`, async () => {
    const data = pseudoRandom(2500, 3);
    const streams: [string, string[]][] = [["done", ["--key", "env:K"]], ["plain", [
      "--no-encrypt",
    ]]];
    for (const [name, extra] of streams) {
      await t.put(name, data, "--chunk-size", "1000", ...extra);
    }
    const complete = await allKeys();
    const { cut, pastEnd, staleGen } = await plantOrphans();

    // Without the key, the encrypted manifest of 'done' cannot be read: its chunks are skipped.
    const noKey = await cli(["cleanup", ...s3Args(server), "--prefix", prefix, "--dry-run"], {
      env: s3Env(server),
    });
    assert.equal(noKey.code, 0, noKey.stderr);
    assert.deepEqual(lines(noKey.stdout), [...cut, pastEnd[1]].sort());
    assert.match(noKey.stderr, /1 stream\(s\) not checked.*'done' \(encrypted: pass its --key/);

    const dry = await cleanup("--key", "env:K", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    const orphans = [...cut, ...pastEnd, ...staleGen].sort();
    assert.deepEqual(lines(dry.stdout), orphans);
    assert.match(dry.stderr, /Found 6 orphan chunks \(600 bytes\) of 4 stream\(s\)/);
    assert.equal((await allKeys()).length, complete.length + 6, "dry run deleted nothing");

    const scoped = await cleanup("--key", "env:K", "--dry-run", "--name", "cut");
    assert.deepEqual(lines(scoped.stdout), cut.slice(0, 2));

    const refused = await cleanup("--key", "env:K");
    assert.equal(refused.code, ExitCode.USAGE, refused.stderr);
    assert.match(refused.stderr, /not a terminal, so cleanup cannot ask.*--force/);
    assert.equal((await allKeys()).length, complete.length + 6);

    const done = await cleanup("--key", "env:K", "--force");
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(lines(done.stdout), orphans);
    assert.match(done.stderr, /Deleted 6 orphan chunks/);
    assert.deepEqual(await allKeys(), complete, "exactly the orphans are gone");
    for (const name of ["done", "plain"]) {
      const g = await t.run("get", name, ["--key", "env:K"]);
      assert.equal(g.code, 0, g.stderr);
      assert.ok(bytesEqual(g.stdout, data), `${name} still restores`);
    }
    const again = await cleanup("--key", "env:K", "--force");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(lines(again.stdout).length, 0);
    assert.match(again.stderr, /no orphan chunks/);
  });

  Deno.test(`cleanup: clean up [${server.name}]`, () => t.clean());
}
