import assert from "node:assert/strict";
import {
  normalizePrefix,
  prefixProblem,
  StreamLayout,
  streamNameProblem,
} from "../../lib/format/layout.ts";
import { fixtureCase } from "../helpers.ts";

Deno.test("streamNameProblem: rejects unusable names", () => {
  const bad = [
    "",
    "   ",
    "/a",
    ".a",
    "..",
    "a//b",
    "a/",
    "a/../b",
    "a/./b",
    "a/..",
    "a\nb",
    "a\tb",
    "a\u0000b",
    "a\u007fb",
    "a\u001b[31m",
  ];
  for (const name of bad) {
    const p = streamNameProblem(name);
    assert.equal(typeof p, "string", `expected a problem for ${JSON.stringify(name)}`);
    assert.ok(p!.length > 0);
  }
});

Deno.test("streamNameProblem: accepts ordinary names", () => {
  for (
    const name of ["db/nightly.dump", "ü x", "a", "a.b", "a/b/c", "a..b", "x/.hidden", "a-b_c"]
  ) {
    assert.equal(streamNameProblem(name), undefined, `expected ${JSON.stringify(name)} to be ok`);
  }
});

Deno.test("prefixProblem: rejects leading '/', '//', dot segments, control chars", () => {
  for (const p of ["/a", "a//b", "a/../b", "./a", "a\nb"]) {
    assert.equal(typeof prefixProblem(p), "string", JSON.stringify(p));
  }
  for (const p of ["backups/2026/", "backups/2026", "a", ""]) {
    assert.equal(prefixProblem(p), undefined, JSON.stringify(p));
  }
});

Deno.test("normalizePrefix: one trailing slash, empty stays empty (spec 3.1)", () => {
  assert.equal(normalizePrefix("backups/2026/"), "backups/2026/");
  assert.equal(normalizePrefix("backups/2026"), "backups/2026/");
  assert.equal(normalizePrefix("backups/2026///"), "backups/2026/");
  assert.equal(normalizePrefix(""), "");
  assert.equal(normalizePrefix(undefined), "");
});

Deno.test("StreamLayout: chunk and manifest keys (spec 3.2)", () => {
  const l = new StreamLayout("db/nightly.dump");
  assert.equal(l.prefix, "");
  assert.equal(l.chunkKey(0), "db/nightly.dump/chunk-000000");
  assert.equal(l.chunkKey(42), "db/nightly.dump/chunk-000042");
  assert.equal(l.chunkKey(999999), "db/nightly.dump/chunk-999999");
  assert.equal(l.chunkKey(1000000), "db/nightly.dump/chunk-1000000");
  assert.equal(l.manifestKey, "db/nightly.dump/.manifest.json");
  assert.equal(l.full(l.chunkKey(1)), "db/nightly.dump/chunk-000001");
});

Deno.test("StreamLayout: full() prepends the normalised prefix", () => {
  for (const prefix of ["backups/2026/", "backups/2026"]) {
    const l = new StreamLayout("db/nightly.dump", prefix);
    assert.equal(l.prefix, "backups/2026/");
    assert.equal(l.full(l.manifestKey), "backups/2026/db/nightly.dump/.manifest.json");
    assert.equal(l.full(l.chunkKey(2)), "backups/2026/db/nightly.dump/chunk-000002");
  }
});

Deno.test("StreamLayout: keys match the fixture objects of case g", () => {
  const g = fixtureCase("g");
  const l = new StreamLayout(g.json.stream_name, g.json.prefix_arg ?? undefined);
  const keys = g.json.objects.map((o) => o.key).sort();
  const chunkKeys = keys.filter((k) => !k.endsWith(".manifest.json"));
  assert.deepEqual(chunkKeys, chunkKeys.map((_, i) => l.full(l.chunkKey(i))));
  assert.equal(l.full(l.manifestKey), g.json.manifest_object_key);
});
