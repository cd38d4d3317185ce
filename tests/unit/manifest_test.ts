import assert from "node:assert/strict";
import { IntegrityError } from "../../lib/errors.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import {
  type Manifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from "../../lib/format/manifest.ts";
import { bytesEqual, eachFixture, fixtureCase, lazy, PLAIN_MANIFESTS } from "../helpers.ts";

/** Index of the first differing byte, for a readable failure. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

eachFixture(PLAIN_MANIFESTS, "round trip of every fixture manifest: the fixtures", (fm) => {
  Deno.test(`serializeManifest(parseManifest(x)) is byte-identical: ${fm.label}`, () => {
    const out = serializeManifest(parseManifest(fm.text));
    if (!bytesEqual(out, fm.bytes)) {
      const at = firstDiff(out, fm.bytes);
      const dec = new TextDecoder();
      assert.fail(
        `differs at byte ${at} (ours ${out.length} bytes, fixture ${fm.bytes.length}):\n` +
          `ours:    ${JSON.stringify(dec.decode(out.subarray(at - 40, at + 40)))}\n` +
          `fixture: ${JSON.stringify(dec.decode(fm.bytes.subarray(at - 40, at + 40)))}`,
      );
    }
  });

  Deno.test(`validateManifest accepts the fixture manifest: ${fm.label}`, () => {
    validateManifest(parseManifest(fm.text), new StreamLayout(fm.name, fm.prefix || undefined));
  });
});

Deno.test("case g: prefix and a stream name containing '/'", () => {
  const g = PLAIN_MANIFESTS.find((fm) => fm.case.id === fixtureCase("g").id);
  assert.ok(g);
  assert.equal(g.name, "db/nightly.dump");
  assert.equal(g.prefix, "backups/2026/");
  const m = parseManifest(g.text);
  validateManifest(m, new StreamLayout("db/nightly.dump", "backups/2026/"));
  // Non-ASCII description survives the round trip as text.
  assert.equal(m.description, "Nightly dump — ünïcode ✓");
  assert.equal(m.storage_class, "STANDARD_IA");
});

// ---- mutations of a known-good manifest (case a: 6 chunks, unencrypted) ----

// Lazy: read from the fixtures when a test first uses them, not when the module loads.
const base = lazy(() => PLAIN_MANIFESTS.find((fm) => fm.case.id === fixtureCase("a").id)!);
const layoutA = lazy(() => new StreamLayout(base.name));

function fresh(): Manifest {
  return parseManifest(base.text);
}

/** validateManifest must throw an IntegrityError naming `field` in quotes. */
function assertRejected(m: Manifest, field: string, layout = layoutA): void {
  assert.throws(
    () => validateManifest(m, layout),
    (e: unknown) => {
      assert.ok(e instanceof IntegrityError, `expected IntegrityError, got ${e}`);
      assert.equal(e.exitCode, 4);
      assert.ok(
        e.message.includes(`'${field}'`),
        `message should name '${field}': ${e.message}`,
      );
      return true;
    },
  );
}

Deno.test("mutations: base manifest has several chunks and validates", () => {
  const m = fresh();
  assert.ok(m.chunks.length >= 3);
  validateManifest(m, layoutA);
});

Deno.test("mutation: wrong stream name", () => {
  assertRejected(fresh(), "name", new StreamLayout("some-other-stream"));
  const m = fresh();
  m.name = "tampered";
  assertRejected(m, "name");
});

Deno.test("mutation: chunks[1].index changed", () => {
  const m = fresh();
  m.chunks[1].index = 5;
  assertRejected(m, "chunks[1].index");
});

Deno.test("mutation: chunks[0].s3_key changed", () => {
  const m = fresh();
  m.chunks[0].s3_key = `${base.name}/chunk-000009`;
  assertRejected(m, "chunks[0].s3_key");
});

Deno.test("mutation: a middle chunk's size changed", () => {
  const m = fresh();
  m.chunks[2].size -= 1;
  assertRejected(m, "chunks[2].size");
});

Deno.test("mutation: last chunk larger than chunk_size", () => {
  const m = fresh();
  const last = m.chunks.length - 1;
  m.total_bytes += m.chunk_size + 1 - m.chunks[last].size;
  m.chunks[last].size = m.chunk_size + 1;
  assertRejected(m, `chunks[${last}].size`);
});

Deno.test("mutation: total_bytes changed", () => {
  const m = fresh();
  m.total_bytes += 1;
  assertRejected(m, "total_bytes");
});

Deno.test("mutation: chunk_count changed", () => {
  const m = fresh();
  m.chunk_count += 1;
  assertRejected(m, "chunk_count");
});

Deno.test("mutation: final_chain changed", () => {
  const m = fresh();
  const c = m.final_chain;
  m.final_chain = (c[0] === "0" ? "1" : "0") + c.slice(1);
  assertRejected(m, "final_chain");
});

Deno.test("mutation: a chunk hash changed (chain no longer matches)", () => {
  const m = fresh();
  const h = m.chunks[3].sha3_256;
  m.chunks[3].sha3_256 = (h[0] === "0" ? "1" : "0") + h.slice(1);
  assertRejected(m, "final_chain");
});

Deno.test("mutation: version 2 without its format 2 fields", () => {
  const m = fresh();
  m.version = 2;
  assertRejected(m, "format_salt");
});

Deno.test("mutation: version 3 (unknown)", () => {
  const m = fresh();
  m.version = 3;
  assertRejected(m, "version");
});

Deno.test("mutation: sha256 not hex", () => {
  const m = fresh();
  m.chunks[0].sha256 = "z".repeat(64);
  assertRejected(m, "chunks[0].sha256");
});

Deno.test("mutation: stream_sha256 not hex", () => {
  const m = fresh();
  m.stream_sha256 = "abc";
  assertRejected(m, "stream_sha256");
});

Deno.test("mutation: encrypted true with encryption_method null", () => {
  const m = fresh();
  assert.equal(m.encryption_method, null);
  m.encrypted = true;
  assertRejected(m, "encrypted");
});

// ---- parseManifest ----

function rawBase(): Record<string, unknown> {
  return JSON.parse(base.text);
}

function assertParseRejected(text: string, mention: string): void {
  assert.throws(
    () => parseManifest(text),
    (e: unknown) => {
      assert.ok(e instanceof IntegrityError, `expected IntegrityError, got ${e}`);
      assert.ok(e.message.includes(mention), `message should mention ${mention}: ${e.message}`);
      return true;
    },
  );
}

Deno.test("parseManifest: missing 'chunks'", () => {
  const raw = rawBase();
  delete raw.chunks;
  assertParseRejected(JSON.stringify(raw), "chunks");
});

Deno.test("parseManifest: chunks[0].size as a string", () => {
  const raw = rawBase();
  const chunks = raw.chunks as Record<string, unknown>[];
  chunks[0].size = String(chunks[0].size);
  assertParseRejected(JSON.stringify(raw), "chunks[0].size");
});

Deno.test("parseManifest: not JSON, or not an object", () => {
  assertParseRejected("this is not json", "JSON");
  assertParseRejected(base.text.slice(0, base.text.length / 2), "JSON");
  assert.throws(() => parseManifest("[1,2]"), IntegrityError);
  assert.throws(() => parseManifest("null"), IntegrityError);
});

Deno.test("parseManifest: wrong types of top-level fields name the field", () => {
  const r1 = rawBase();
  r1.total_bytes = "21714";
  assertParseRejected(JSON.stringify(r1), "total_bytes");
  const r2 = rawBase();
  r2.encrypted = "false";
  assertParseRejected(JSON.stringify(r2), "encrypted");
  const r3 = rawBase();
  r3.encryption_method = "rot13";
  assertParseRejected(JSON.stringify(r3), "encryption_method");
  const r4 = rawBase();
  r4.tags = { a: 1 };
  assertParseRejected(JSON.stringify(r4), "tags.a");
});

Deno.test("parseManifest: optional fields take 0.4 defaults; unknown fields ignored", () => {
  const raw = rawBase();
  for (const k of ["description", "created", "tool_version", "tags", "encrypted_manifest"]) {
    delete raw[k];
  }
  raw.some_future_field = { x: 1 };
  const m = parseManifest(JSON.stringify(raw));
  assert.equal(m.description, "");
  assert.deepEqual(m.tags, {});
  assert.equal(m.encrypted_manifest, false);
  validateManifest(m, layoutA);
});

// ---- issue 7 item 1: every field the strict validation covers, each named in the error ----

Deno.test("mutation: version 0 and a far-future version are rejected, naming 'version'", () => {
  for (const v of [0, 3, 99]) {
    const m = fresh();
    m.version = v;
    assertRejected(m, "version");
  }
});

Deno.test("mutation: chunk_size 0", () => {
  const m = fresh();
  m.chunk_size = 0;
  assertRejected(m, "chunk_size");
});

Deno.test("mutation: last chunk of size 0 (an empty trailing record)", () => {
  const m = fresh();
  m.chunks.at(-1)!.size = m.chunk_size; // the old tail becomes a full middle chunk
  m.chunks.push({ ...m.chunks[0], index: m.chunks.length, s3_key: "", size: 0 });
  m.chunks.at(-1)!.s3_key = layoutA.chunkKey(m.chunks.length - 1);
  m.chunk_count = m.chunks.length;
  assertRejected(m, `chunks[${m.chunks.length - 1}].size`);
});

Deno.test("mutation: chunk key of the same index in another stream's directory", () => {
  const m = fresh();
  m.chunks[2].s3_key = new StreamLayout("other").chunkKey(2);
  assertRejected(m, "chunks[2].s3_key");
});

Deno.test("mutation: chunk key carrying the backend prefix (keys are logical)", () => {
  const m = fresh();
  m.chunks[0].s3_key = new StreamLayout(base.name, "p").full(layoutA.chunkKey(0));
  assertRejected(m, "chunks[0].s3_key");
});

Deno.test("mutation: records out of order (indices 0,2,1,...)", () => {
  const m = fresh();
  [m.chunks[1], m.chunks[2]] = [m.chunks[2], m.chunks[1]];
  assertRejected(m, "chunks[1].index");
});

Deno.test("mutation: a record dropped from the middle (chunk_count and total_bytes adjusted)", () => {
  const m = fresh();
  const [gone] = m.chunks.splice(2, 1);
  m.chunk_count -= 1;
  m.total_bytes -= gone.size;
  assertRejected(m, "chunks[2].index");
});

const single = lazy(() => PLAIN_MANIFESTS.find((fm) => fm.case.id === fixtureCase("e").id)!);

Deno.test("single-chunk fixture: stream hashes must equal the chunk's (checked before output)", () => {
  const layout = new StreamLayout(single.name, single.prefix || undefined);
  const m = parseManifest(single.text);
  assert.equal(m.chunks.length, 1);
  validateManifest(m, layout);
  const h = m.stream_sha256;
  m.stream_sha256 = (h[0] === "0" ? "1" : "0") + h.slice(1);
  assertRejected(m, "stream_sha256", layout);
  const m2 = parseManifest(single.text);
  m2.stream_sha3_256 = m2.chunks[0].sha256;
  assertRejected(m2, "stream_sha3_256", layout);
});

Deno.test("empty stream: stream hashes must be those of no bytes", () => {
  const m = fresh();
  m.chunks = [];
  m.chunk_count = 0;
  m.total_bytes = 0;
  m.final_chain = "";
  m.stream_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  m.stream_sha3_256 = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";
  validateManifest(m, layoutA);
  m.stream_sha256 = "0".repeat(64);
  assertRejected(m, "stream_sha256");
});

Deno.test("empty stream: a non-empty final_chain is rejected", () => {
  const m = fresh();
  m.chunks = [];
  m.chunk_count = 0;
  m.total_bytes = 0;
  assertRejected(m, "final_chain");
});
