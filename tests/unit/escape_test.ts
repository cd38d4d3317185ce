/** lib/ui/escape.ts: store text made safe for a terminal (issue 12.5). */
import assert from "node:assert/strict";
import { clip, escapeForTerminal, escapeLines, jsonForTerminal } from "../../lib/ui/escape.ts";
import { Log } from "../../lib/ui/log.ts";

/** Any character a terminal would act on, or that reorders or hides text. */
const RAW =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/;

Deno.test("escapeForTerminal: ESC, CR, LF, TAB, NUL and DEL become visible escapes", () => {
  assert.equal(
    escapeForTerminal("a\x1b[2Jb\rc\nd\te\x00f\x7fg"),
    "a\\x1b[2Jb\\rc\\nd\\te\\x00f\\u007fg",
  );
});

Deno.test("escapeForTerminal: C1 controls and bidi/zero-width characters are escaped too", () => {
  assert.equal(escapeForTerminal("x\u009by"), "x\\u009by");
  assert.equal(escapeForTerminal("evil\u202etxt.exe"), "evil\\u202etxt.exe");
  assert.equal(
    escapeForTerminal("a\u200bb\u2028c\u2066d\ufeff"),
    "a\\u200bb\\u2028c\\u2066d\\ufeff",
  );
});

Deno.test("escapeForTerminal: printable text, non-ASCII and backslashes are unchanged", () => {
  for (const s of ["db/nightly", "Nightly dump — ünïcode ✓", "C:\\path\\x1b", "日本語 🚀", ""]) {
    assert.equal(escapeForTerminal(s), s);
  }
});

Deno.test("escapeForTerminal: every code unit below U+0100 that is unsafe leaves no raw trace", () => {
  let all = "";
  for (let c = 0; c < 0x100; c++) all += String.fromCharCode(c);
  const out = escapeForTerminal(all);
  assert.doesNotMatch(out, RAW);
  assert.equal(out.split("\n").length, 1);
});

Deno.test("escapeLines: our own line breaks stay, everything else in each line is escaped", () => {
  assert.equal(escapeLines("Stored 'x'\n  hash \x1b[31mred"), "Stored 'x'\n  hash \\x1b[31mred");
});

Deno.test("jsonForTerminal: still valid JSON with the same value, no raw unsafe character", () => {
  const value = { stream: "a\u009b\u202e\x7fb", n: [1, "\u2028"], nested: { "k\u200b": "v\x1b" } };
  const out = jsonForTerminal(JSON.stringify(value));
  assert.doesNotMatch(out, RAW);
  assert.deepEqual(JSON.parse(out), value);
  // Escaping a JSON line as a terminal line keeps it valid JSON too (what Log does).
  assert.deepEqual(JSON.parse(escapeForTerminal(JSON.stringify(value))), value);
});

Deno.test("clip: long store text is cut with a count of what was left out", () => {
  assert.equal(clip("abc", 5), "abc");
  assert.equal(clip("a".repeat(10), 4), "aaaa...(6 more characters)");
});

Deno.test("Log: warnings are one escaped line; summaries keep their own lines", () => {
  const lines: string[] = [];
  const log = new Log("normal", (l) => lines.push(l));
  log.warn("stream 'x\ny\x1b[2J' is odd");
  log.info("line one\nline \x07two");
  assert.deepEqual(lines, ["warning: stream 'x\\ny\\x1b[2J' is odd", "line one\nline \\x07two"]);
  // The JSON summary keeps the raw text (JSON.stringify escapes it).
  assert.deepEqual(log.warnings, ["stream 'x\ny\x1b[2J' is odd"]);
});
