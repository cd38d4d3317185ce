/**
 * Hostile manifests below the CLI (issue 12.2, 12.6): the structure scan that runs before
 * JSON.parse (lib/format/manifest_scan.ts), its memory bound measured in a child process with a
 * real V8 heap limit, and which failures decodeManifest calls damage (4) and which a key
 * problem (5).
 */
import assert from "node:assert/strict";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { IntegrityError, KeyError } from "../../lib/errors.ts";
import { ageCipher } from "../../lib/crypto/age.ts";
import { aesCipher } from "../../lib/crypto/cipher.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import {
  MAX_CHUNK_SIZE,
  parseManifest,
  serializeManifest,
  validateManifest,
} from "../../lib/format/manifest.ts";
import { DEFAULT_SCAN_LIMITS, scanManifestText } from "../../lib/format/manifest_scan.ts";
import {
  decodeManifest,
  type Keyring,
  MIN_AES_MANIFEST_BYTES,
} from "../../lib/pipeline/manifest_io.ts";
import { fixtureCase, lazy, PLAIN_MANIFESTS, pseudoRandom, ROOT, tempDir } from "../helpers.ts";

// Lazy: read from the fixtures when a test first uses it, not when the module loads.
const base = lazy(() => PLAIN_MANIFESTS.find((fm) => fm.case.id === fixtureCase("a").id)!);
const baseJson = () => JSON.parse(base.text) as Record<string, unknown>;
const withField = (k: string, v: string) =>
  base.text.replace(/\}\s*$/, `, ${JSON.stringify(k)}: ${v}}`);

function assertRefused(text: string, mention: RegExp, limits = DEFAULT_SCAN_LIMITS): void {
  assert.throws(() => scanManifestText(text, limits), (e: unknown) => {
    assert.ok(e instanceof IntegrityError, `expected IntegrityError, got ${e}`);
    assert.equal(e.exitCode, 4);
    assert.match(e.message, mention);
    return true;
  });
}

Deno.test("scan: every fixture manifest passes and parses as before", () => {
  assert.ok(PLAIN_MANIFESTS.length >= 5);
  for (const fm of PLAIN_MANIFESTS) {
    scanManifestText(fm.text);
    assert.deepEqual(serializeManifest(parseManifest(fm.text)), fm.bytes, fm.label);
  }
});

Deno.test("scan: tricky strings (escaped quotes, backslashes, braces) do not confuse it", () => {
  const o = baseJson();
  o.description = 'a\\"},"chunks":[{}],"x":"\\\\';
  o.tags = { 'k"}': 'v\\\\"', "n\u0061me": "\u0000" };
  o['future "field"'] = { deep: [1, "]}", { "\\": null }], s: '\\\\\\"' };
  const text = JSON.stringify(o, null, 2);
  scanManifestText(text);
  const m = parseManifest(text);
  assert.equal(m.description, o.description);
  assert.deepEqual(m.tags, o.tags);
  assert.equal(m.chunks.length, base.case.json.objects.length - 1);
});

Deno.test("scan: random in-budget unknown fields are accepted, like JSON.parse accepts them", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const value = (depth: number): unknown => {
    const k = rnd(depth > 5 ? 4 : 6);
    if (k === 0) return rnd(1000) - 500;
    if (k === 1) return ['"', "\\", "}]", "\u00e9\u2028", ""][rnd(5)] + "x";
    if (k === 2) return [true, false, null][rnd(3)];
    if (k === 3) return 1.5e-7;
    if (k === 4) return Array.from({ length: rnd(4) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: rnd(4) }, (_, i) => [`k${i}"`, value(depth + 1)]),
    );
  };
  for (let i = 0; i < 200; i++) {
    const o = baseJson();
    o[`unknown_${i}`] = value(2);
    const text = JSON.stringify(o, null, i % 2 ? 2 : undefined);
    scanManifestText(text);
    assert.equal(parseManifest(text).name, base.name);
  }
});

Deno.test("scan: roots that are not objects, and broken JSON, are refused", () => {
  assertRefused("", /not valid JSON/);
  assertRefused("   ", /not valid JSON/);
  assertRefused("null", /not a JSON object/);
  assertRefused('"str"', /not a JSON object/);
  assertRefused("[" + "{},".repeat(1000) + "{}]", /not a JSON object/);
  assertRefused(base.text.slice(0, base.text.length / 2), /not valid JSON/);
  assertRefused(base.text + "}", /not valid JSON/);
  assertRefused('{"name" "x"}', /not valid JSON/);
  // Syntax inside a scalar is JSON.parse's to refuse, after the scan let it through.
  const nan = withField("future", "NaN");
  scanManifestText(nan);
  assert.throws(() => parseManifest(nan), /not valid JSON/);
});

Deno.test("scan: nesting up to the limit passes, one level more is refused", () => {
  const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
  // root = 1, the field's value = 2: 15 arrays reach depth 16.
  scanManifestText(withField("deep", nest(15)));
  assertRefused(withField("deep", nest(16)), /nested deeper than 16 levels/);
  assertRefused(withField("deep", nest(100_000)), /nested deeper than 16/);
});

Deno.test("scan: values in unknown fields are counted; 20 million {} never reach JSON.parse", () => {
  // The name and the array count too: 1 + 1 + 9,998 = 10,000.
  scanManifestText(withField("junk", "[" + Array(9_998).fill("0").join(",") + "]"));
  assertRefused(
    withField("junk", "[" + Array(9_999).fill("0").join(",") + "]"),
    /more than 10000 values/,
  );
  assertRefused(
    withField("junk", "[" + Array(100_000).fill("{}").join(",") + "]"),
    /more than 10000/,
  );
});

Deno.test("scan: duplicate field names are refused (JSON.parse would keep the last silently)", () => {
  assertRefused(withField("name", '"other"'), /field 'name' appears twice/);
  // The same name spelt with an escape is the same name.
  const escaped = base.text.replace(/\}\s*$/, ', "n\\u0061me": "other"}');
  assertRefused(escaped, /field 'name' appears twice/);
  const o = baseJson();
  const text = JSON.stringify(o).replace('"index":0', '"index":0,"index":1');
  assertRefused(text, /field 'index' appears twice/);
  assertRefused(
    JSON.stringify({ ...baseJson(), tags: {} }).replace('"tags":{}', '"tags":{"a":"1","a":"2"}'),
    /'a' appears twice/,
  );
});

Deno.test("scan: chunk records hold exactly the six record fields, all scalars", () => {
  const rec = (r: string) => {
    const o = baseJson();
    const chunks = o.chunks as Record<string, unknown>[];
    return JSON.stringify(o).replace(JSON.stringify(chunks[0]), r);
  };
  const c0 = JSON.stringify((baseJson().chunks as unknown[])[0]);
  assertRefused(
    rec(c0.replace("{", '{"extra":1,')),
    /'chunks\[0\]\.extra' is not a chunk record field/,
  );
  assertRefused(rec(c0.replace(/"sha256":"[0-9a-f]+",/, "")), /'chunks\[0\]\.sha256' is missing/);
  assertRefused(rec(c0.replace(/"size":\d+/, '"size":[1]')), /'chunks\[0\]\.size' is not integer/);
  assertRefused(rec("[]"), /'chunks\[0\]' is not an object/);
  assertRefused(rec("{}"), /'chunks\[0\]\.index' is missing/);
  // etag may be absent (s3duct 0.4 defaults it).
  scanManifestText(rec(c0.replace(/,"etag":"(?:[^"\\]|\\.)*"/, "")));
});

Deno.test("scan: chunks, tags and scalar fields refuse the wrong kind of container", () => {
  const o = baseJson();
  assertRefused(JSON.stringify({ ...o, chunks: {} }), /'chunks' is not array/);
  assertRefused(JSON.stringify({ ...o, tags: [] }), /'tags' is not object/);
  assertRefused(JSON.stringify({ ...o, tags: { a: { b: 1 } } }), /'tags\.a' is not a string/);
  assertRefused(JSON.stringify({ ...o, name: ["x"] }), /'name' is not string/);
  assertRefused(JSON.stringify({ ...o, chunk_size: {} }), /'chunk_size' is not integer/);
});

Deno.test("scan: the number of tags, chunks and the length of names are bounded", () => {
  const o = baseJson();
  const tags = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, ""]));
  scanManifestText(JSON.stringify({ ...o, tags: tags(1024) }));
  assertRefused(JSON.stringify({ ...o, tags: tags(1025) }), /more than 1024 tags/);
  const three = JSON.stringify(o);
  assertRefused(three, /more than 2 chunks/, { ...DEFAULT_SCAN_LIMITS, maxChunks: 2 });
  assertRefused(withField("k".repeat(257), "1"), /field name over 256 characters/);
  assertRefused(withField("\\u006b".repeat(257), "1"), /field name over 256 characters/);
});

Deno.test("validateManifest: chunk_size beyond what put accepts is damage (4), not usage", () => {
  const m = parseManifest(base.text);
  m.chunk_size = MAX_CHUNK_SIZE + 1;
  assert.throws(
    () => validateManifest(m, new StreamLayout(base.name)),
    (e: unknown) =>
      e instanceof IntegrityError && /'chunk_size' is 5368709121, outside/.test(e.message),
  );
});

// ---- memory: a real heap limit, in a child process ----

const SCRIPT = `
import { parseManifest } from "${new URL("../../lib/format/manifest.ts", import.meta.url).href}";
const text = await Deno.readTextFile(Deno.args[0]);
if (Deno.args[1] === "control") { JSON.parse(text); Deno.exit(0); }
try { parseManifest(text); } catch (e) { console.log(e.constructor.name + ": " + e.message); Deno.exit(4); }
`;

async function child(file: string, mode: string): Promise<{ code: number; out: string }> {
  const script = `${tempDir("s3duct-mem-")}/parse.ts`; // removed when the module ends
  await Deno.writeTextFile(script, SCRIPT);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--v8-flags=--max-old-space-size=256", script, file, mode],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

Deno.test({
  name: "memory: a 60 MB manifest of 20 million {} is refused within a 256 MB V8 heap",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "s3duct-huge-" });
    try {
      const file = `${dir}/manifest.json`;
      const junk = "{},".repeat(20_000_000 - 1) + "{}";
      await Deno.writeTextFile(file, base.text.replace(/\}\s*$/, `, "junk": [${junk}]}`));
      assert.ok((await Deno.stat(file)).size > 60_000_000);
      // The same text under the same limit kills plain JSON.parse: the limit is real.
      const control = await child(file, "control");
      assert.notEqual(control.code, 0, "JSON.parse of 20 million objects fits 256 MB?");
      const r = await child(file, "parse");
      assert.equal(r.code, 4, r.out);
      assert.match(r.out, /^IntegrityError: manifest holds more than 10000 values/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "memory: the most records a manifest may list, each as small as JSON allows, parse in 256 MB",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "s3duct-recs-" });
    try {
      const file = `${dir}/manifest.json`;
      const rec = '{"index":0,"s3_key":"","size":0,"sha256":"","sha3_256":""}';
      const recs = Array(DEFAULT_SCAN_LIMITS.maxChunks).fill(rec).join(",");
      const o = baseJson();
      await Deno.writeTextFile(
        file,
        JSON.stringify(o).replace(/"chunks":\[.*?\]/, `"chunks":[${recs}]`),
      );
      const r = await child(file, "parse");
      assert.equal(r.code, 0, `parses without running out of heap: ${r.out}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---- decodeManifest: damage (4) or key problem (5) ----

const KEY = pseudoRandom(32, "hostile-manifest");
const OTHER = pseudoRandom(32, "hostile-other");

async function assertDecode(
  bytes: Uint8Array,
  keys: Keyring,
  code: 4 | 5,
  mention: RegExp,
): Promise<void> {
  await assert.rejects(decodeManifest(bytes, "s", keys), (e: unknown) => {
    assert.ok(code === 4 ? e instanceof IntegrityError : e instanceof KeyError, `got ${e}`);
    assert.equal((e as IntegrityError).exitCode, code);
    assert.match((e as Error).message, mention);
    return true;
  });
}

Deno.test("decode: empty, short binary and non-object text are damage whatever key is given", async () => {
  const aes = { aes: await aesCipher(KEY) };
  for (const keys of [{}, aes]) {
    await assertDecode(new Uint8Array(0), keys, 4, /not valid JSON/);
    await assertDecode(
      pseudoRandom(MIN_AES_MANIFEST_BYTES - 1, "short"),
      keys,
      4,
      /neither JSON text nor/,
    );
    await assertDecode(new TextEncoder().encode("hello"), keys, 4, /not valid JSON/);
    await assertDecode(new TextEncoder().encode("[1,2]"), keys, 4, /not a JSON object/);
    await assertDecode(new Uint8Array(4096), keys, 4, /not valid JSON/); // zeros are valid UTF-8
  }
});

Deno.test("decode: binary long enough to be AES is a key problem: no key, or a wrong one", async () => {
  const junk = pseudoRandom(MIN_AES_MANIFEST_BYTES, "long");
  await assertDecode(junk, {}, 5, /encrypted \(AES-256-GCM\): pass the --key/);
  await assertDecode(junk, { aes: await aesCipher(KEY) }, 5, /wrong key/);
  // A real sealed manifest: the right key opens it, a wrong one is a key problem.
  const aesManifest = { ...baseJson(), encrypted: true, encryption_method: "aes-256-gcm" };
  const sealed = await (await aesCipher(KEY)).seal(
    new TextEncoder().encode(JSON.stringify(aesManifest)),
  );
  const m = await decodeManifest(sealed, "s", { aes: await aesCipher(KEY) });
  assert.equal(m.sealing, "aes-256-gcm");
  await assertDecode(sealed, { aes: await aesCipher(OTHER) }, 5, /wrong key/);
});

Deno.test("decode: JSON text with a byte that is not UTF-8 is damage (4), not an AES object", async () => {
  const bytes = new TextEncoder().encode(base.text);
  for (const at of [base.text.indexOf("tool_version"), bytes.length - 10]) {
    const b = bytes.slice();
    b[at] = 0xff;
    for (const keys of [{}, { aes: await aesCipher(KEY) }]) {
      await assertDecode(b, keys, 4, /JSON text that is not valid UTF-8/);
    }
  }
});

Deno.test("decode: a real U+FFFD in plain JSON is text, not binary", async () => {
  const o = baseJson();
  o.description = "replacement \ufffd char";
  const m = await decodeManifest(new TextEncoder().encode(JSON.stringify(o)), "s", {});
  assert.equal(m.sealing, "plain");
  assert.equal(m.manifest.description, "replacement \ufffd char");
});

Deno.test("decode (age): damaged with the matching identity is 4; no or another identity is 5", async () => {
  const id = await generateX25519Identity();
  const other = await generateX25519Identity();
  const recipient = await identityToRecipient(id);
  const o = { ...baseJson(), encryption_method: "age" };
  const sealed = await ageCipher({ recipients: [recipient] }).seal(
    new TextEncoder().encode(JSON.stringify(o)),
  );
  const mine = { age: ageCipher({ identities: [id] }) };
  assert.equal((await decodeManifest(sealed, "s", mine)).sealing, "age");
  const payload = sealed.slice();
  payload[payload.length - 20] ^= 1;
  await assertDecode(payload, mine, 4, /damaged: its header or payload fails its checks/);
  const header = sealed.slice();
  const mac = new TextDecoder().decode(header).indexOf("\n--- ") + 6;
  header[mac] = header[mac] === 0x41 ? 0x42 : 0x41; // a base64 letter of the header MAC
  await assertDecode(header, mine, 4, /damaged/);
  await assertDecode(sealed, { age: ageCipher({ identities: [other] }) }, 5, /no --age-identity/);
  await assertDecode(sealed, {}, 5, /age-encrypted: pass --age-identity/);
  // The age line and no header MAC: no identity could open it, with or without one given.
  const bare = new TextEncoder().encode("age-encryption.org/v1\n-> X25519 junk\n");
  await assertDecode(bare, {}, 4, /no header MAC line/);
  await assertDecode(bare, mine, 4, /no header MAC line/);
});
