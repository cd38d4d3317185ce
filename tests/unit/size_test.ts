import assert from "node:assert/strict";
import { humanSize, parseSize, withCommas } from "../../lib/format/size.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

Deno.test("parseSize: binary suffixes in every accepted spelling", () => {
  const cases: [string, number][] = [
    ["64M", 64 * MiB],
    ["64MiB", 64 * MiB],
    ["64MB", 64 * MiB],
    ["64m", 64 * MiB],
    ["1G", GiB],
    ["1.5G", 1.5 * GiB],
    ["1.5K", 1536],
    ["3k", 3072],
    ["4096", 4096],
    [" 8K ", 8 * KiB],
    ["2T", 2 * 1024 * GiB],
    ["10B", 10],
    ["0", 0],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseSize(text), want, `parseSize(${JSON.stringify(text)})`);
  }
});

Deno.test("parseSize: rejects what is not a whole number of bytes", () => {
  for (
    const text of ["", "   ", "abc", "-1", "1.3K", "5X", "K", "1.5", "1e3", "0x10", "1 2K", "1.K"]
  ) {
    assert.equal(parseSize(text), undefined, `parseSize(${JSON.stringify(text)})`);
  }
});

Deno.test("withCommas: groups thousands like Python's {:,}", () => {
  assert.equal(withCommas(0), "0");
  assert.equal(withCommas(999), "999");
  assert.equal(withCommas(1000), "1,000");
  assert.equal(withCommas(21714), "21,714");
  assert.equal(withCommas(1234567), "1,234,567");
  assert.equal(withCommas(100000000), "100,000,000");
});

Deno.test("humanSize: bytes below 1 KiB, then one decimal", () => {
  assert.equal(humanSize(0), "0 B");
  assert.equal(humanSize(1023), "1023 B");
  assert.equal(humanSize(1024), "1.0 KiB");
  assert.equal(humanSize(64 * MiB), "64.0 MiB");
  assert.equal(humanSize(1.5 * GiB), "1.5 GiB");
});
