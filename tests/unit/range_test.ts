/** The pure range arithmetic of get --offset/--length: which chunks, and how much of each. */
import assert from "node:assert/strict";
import { ExitCode, UsageError } from "../../lib/errors.ts";
import { keptPart, planRange, type RangePlan } from "../../lib/format/range.ts";

// Chunks of 10 bytes and a 5-byte tail: bytes 0-9, 10-19, 20-29, 30-34.
const SIZES = [10, 10, 10, 5];

/** The kept part of every fetched chunk, as [index, from, to]. */
function parts(plan: RangePlan, sizes = SIZES): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = plan.first; i < plan.end; i++) out.push([i, ...keptPart(plan, i, sizes[i])]);
  return out;
}

Deno.test("range: no request is the whole stream", () => {
  const p = planRange(SIZES, undefined, "s");
  assert.deepEqual(
    { ...p },
    {
      offset: 0,
      length: 35,
      first: 0,
      end: 4,
      headSkip: 0,
      tailKeep: 5,
      whole: true,
      clamped: false,
    },
  );
  assert.deepEqual(parts(p), [[0, 0, 10], [1, 0, 10], [2, 0, 10], [3, 0, 5]]);
  assert.equal(planRange(SIZES, { offset: 0, length: 35 }, "s").whole, true);
  assert.equal(planRange(SIZES, { offset: 0 }, "s").whole, true);
});

Deno.test("range: inside one chunk fetches that chunk only and trims both ends", () => {
  const p = planRange(SIZES, { offset: 12, length: 5 }, "s");
  assert.equal(p.whole, false);
  assert.deepEqual(parts(p), [[1, 2, 7]]);
});

Deno.test("range: across chunk borders keeps the head of the last and the tail of the first", () => {
  assert.deepEqual(parts(planRange(SIZES, { offset: 5, length: 20 }, "s")), [
    [0, 5, 10],
    [1, 0, 10],
    [2, 0, 5],
  ]);
  // Exactly on the borders: whole chunks, nothing trimmed, no neighbour fetched.
  assert.deepEqual(parts(planRange(SIZES, { offset: 10, length: 10 }, "s")), [[1, 0, 10]]);
  assert.deepEqual(parts(planRange(SIZES, { offset: 9, length: 2 }, "s")), [[0, 9, 10], [1, 0, 1]]);
});

Deno.test("range: the first and the last byte", () => {
  assert.deepEqual(parts(planRange(SIZES, { offset: 0, length: 1 }, "s")), [[0, 0, 1]]);
  assert.deepEqual(parts(planRange(SIZES, { offset: 34, length: 1 }, "s")), [[3, 4, 5]]);
  assert.deepEqual(parts(planRange(SIZES, { offset: 34 }, "s")), [[3, 4, 5]]);
});

Deno.test("range: an empty range, and offset == size, fetch nothing", () => {
  for (const req of [{ offset: 12, length: 0 }, { offset: 35 }, { offset: 35, length: 9 }]) {
    const p = planRange(SIZES, req, "s");
    assert.equal(p.length, 0);
    assert.equal(p.first, p.end, JSON.stringify(req));
    assert.equal(p.whole, false);
  }
});

Deno.test("range: a length past the end is cut there and says so", () => {
  const p = planRange(SIZES, { offset: 30, length: 100 }, "s");
  assert.equal(p.length, 5);
  assert.equal(p.clamped, true);
  assert.deepEqual(parts(p), [[3, 0, 5]]);
  assert.equal(planRange(SIZES, { offset: 30, length: 5 }, "s").clamped, false);
});

Deno.test("range: an offset past the end is a usage error naming the stream's size", () => {
  assert.throws(() => planRange(SIZES, { offset: 36 }, "db/nightly"), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.exitCode, ExitCode.USAGE);
    assert.match(
      e.message,
      /--offset 36 is past the end of stream 'db\/nightly', which is 35 bytes/,
    );
    return true;
  });
  // The empty stream: offset 0 is its end; anything else is past it.
  assert.equal(planRange([], { offset: 0 }, "e").whole, true);
  assert.throws(() => planRange([], { offset: 1 }, "e"), /which is 0 bytes/);
});

Deno.test("range: kept parts put together are exactly the bytes asked for (random cases)", () => {
  let x = 12345;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
  for (let round = 0; round < 500; round++) {
    const chunk = 1 + rnd(9);
    const count = rnd(6);
    const sizes = Array.from(
      { length: count },
      (_, i) => (i === count - 1 ? 1 + rnd(chunk) : chunk),
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    const stream = Array.from({ length: total }, (_, i) => i);
    const offset = rnd(total + 1);
    const length = rnd(2) ? undefined : rnd(total + 3);
    const plan = planRange(sizes, { offset, length }, "s");
    const got: number[] = [];
    let start = sizes.slice(0, plan.first).reduce((a, b) => a + b, 0);
    for (let i = plan.first; i < plan.end; i++) {
      const [from, to] = keptPart(plan, i, sizes[i]);
      assert.ok(from < to, "every fetched chunk contributes bytes");
      got.push(...stream.slice(start + from, start + to));
      start += sizes[i];
    }
    const want = stream.slice(offset, length === undefined ? undefined : offset + length);
    assert.deepEqual(got, want, JSON.stringify({ sizes, offset, length }));
    assert.equal(plan.length, want.length);
  }
});
