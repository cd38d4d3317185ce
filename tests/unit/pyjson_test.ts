import assert from "node:assert/strict";
import { pythonIsoUtc, pythonJsonDumps } from "../../lib/format/pyjson.ts";
import { PLAIN_MANIFESTS } from "../helpers.ts";

// Expected strings below were produced by CPython 3.11 `json.dumps(value, indent=2)`.
Deno.test("pythonJsonDumps: non-ASCII escaped as lower-case \\u, surrogate pairs above BMP", () => {
  const value = { k: "café — ✓ 😀", n: [1, {}, [], null, true] };
  assert.equal(
    pythonJsonDumps(value),
    '{\n  "k": "caf\\u00e9 \\u2014 \\u2713 \\ud83d\\ude00",\n  "n": [\n    1,\n    {},\n    [],\n    null,\n    true\n  ]\n}',
  );
});

Deno.test("pythonJsonDumps: control characters, DEL, quotes, backslash, slash", () => {
  const value = { k: 'a\u007fb\u0000c\u001f"\\/\n\t\r\b\f' };
  assert.equal(
    pythonJsonDumps(value),
    '{\n  "k": "a\\u007fb\\u0000c\\u001f\\"\\\\/\\n\\t\\r\\b\\f"\n}',
  );
});

Deno.test("pythonJsonDumps: output is pure ASCII for every fixture manifest", () => {
  for (const fm of PLAIN_MANIFESTS) {
    const out = pythonJsonDumps(JSON.parse(fm.text));
    // deno-lint-ignore no-control-regex
    assert.match(out, /^[\x00-\x7e]*$/, fm.label);
  }
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;

Deno.test("pythonIsoUtc: six-digit microseconds and +00:00", () => {
  const d = new Date(Date.UTC(2026, 10, 27, 16, 13, 39, 757));
  assert.equal(pythonIsoUtc(d), "2026-11-27T16:13:39.757000+00:00");
  const d2 = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 7));
  assert.equal(pythonIsoUtc(d2), "2026-01-02T03:04:05.007000+00:00");
  assert.match(pythonIsoUtc(new Date()), ISO);
});

Deno.test("pythonIsoUtc: microseconds omitted when zero", () => {
  const d = new Date(Date.UTC(2026, 10, 27, 16, 13, 39, 0));
  assert.equal(pythonIsoUtc(d), "2026-11-27T16:13:39+00:00");
});

Deno.test("pythonIsoUtc: same shape as the fixture 'created' fields", () => {
  for (const fm of PLAIN_MANIFESTS) {
    const created = (JSON.parse(fm.text) as { created: string }).created;
    assert.match(created, ISO, fm.label);
    // Millisecond precision: the old value with its last three microsecond digits zeroed.
    const ours = pythonIsoUtc(new Date(created));
    assert.equal(ours, created.replace(/(\.\d{3})\d{3}\+/, "$1000+"), fm.label);
  }
});
