/** lib/format/key_limits.ts: names too long for the store are found before any request. */
import assert from "node:assert/strict";
import {
  keyLengthProblem,
  LONGEST_KEY_SUFFIX,
  S3_MAX_KEY_BYTES,
} from "../../lib/format/key_limits.ts";

const s3 = { kind: "s3" } as const;
const local = { kind: "local", root: "/srv/store", bucket: "b" } as const;

Deno.test("S3: the longest chunk key may be exactly 1024 bytes, not one more", () => {
  const room = S3_MAX_KEY_BYTES - LONGEST_KEY_SUFFIX.length;
  assert.equal(room, 997);
  assert.equal(keyLengthProblem("", "n".repeat(room), s3), undefined);
  assert.match(
    keyLengthProblem("", "n".repeat(room + 1), s3)!,
    /^--name is 998 bytes long; S3 keys are at most 1024 bytes .* may have 997$/,
  );
  // The prefix counts too, and so does a name within it.
  assert.equal(keyLengthProblem("p".repeat(496) + "/", "n".repeat(500), s3), undefined);
  assert.match(
    keyLengthProblem("p".repeat(497) + "/", "n".repeat(500), s3)!,
    /^--prefix with --name/,
  );
  assert.match(keyLengthProblem("p".repeat(1000) + "/", "", s3)!, /^--prefix is 1001 bytes/);
});

Deno.test("S3: bytes of UTF-8 count, not characters", () => {
  // "é" is 2 bytes: 499 of them are 998 bytes.
  assert.equal(keyLengthProblem("", "é".repeat(498), s3), undefined);
  assert.match(keyLengthProblem("", "é".repeat(499), s3)!, /is 998 bytes long/);
});

Deno.test("local: each path segment at most 255 bytes; S3-length names are fine there", () => {
  assert.equal(keyLengthProblem("", `${"a".repeat(255)}/${"b".repeat(255)}`, local), undefined);
  assert.match(
    keyLengthProblem("", `ok/${"a".repeat(256)}`, local)!,
    /^--name has a path segment of 256 bytes .* at most 255 bytes$/,
  );
  assert.match(keyLengthProblem(`${"p".repeat(300)}/`, "x", local)!, /^--prefix with --name has/);
  assert.match(keyLengthProblem("", "ü".repeat(128), local)!, /segment of 256 bytes/);
});

Deno.test("local: the whole path of the longest object is at most 4095 bytes", () => {
  const deep = Array.from({ length: 17 }, () => "d".repeat(240)).join("/");
  assert.match(keyLengthProblem("", deep, local)!, /would be \d+ bytes, over the 4095/);
  const fits = Array.from({ length: 15 }, () => "d".repeat(240)).join("/");
  assert.equal(keyLengthProblem("", fits, local), undefined);
});
