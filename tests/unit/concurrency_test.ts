import assert from "node:assert/strict";
import { Concurrency } from "../../lib/pipeline/concurrency.ts";

/**
 * Drive an adaptive Concurrency with a simulated store: each completion moves `bytes`, and
 * time advances so that the aggregate rate is `rateOf(workers)` times a deterministic noise.
 */
function simulate(rateOf: (workers: number) => number, completions: number, noise = 0.08) {
  let t = 0;
  const c = new Concurrency({ min: 2, max: 16, now: () => t });
  let seed = 7;
  const counts: number[] = [];
  for (let i = 0; i < completions; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const jitter = 1 + noise * (2 * (seed / 2 ** 31) - 1);
    const bytes = 64 * 2 ** 20;
    t += (bytes / (rateOf(c.current) * jitter)) * 1000;
    c.completed(bytes);
    counts.push(c.current);
  }
  return { c, counts };
}

Deno.test("Concurrency auto: flat throughput with noise does not ratchet the count up", () => {
  // A CPU-bound pipeline: more workers add nothing; rounds differ by up to +-8 % by chance.
  const { counts } = simulate(() => 100e6, 3000);
  // 3000 completions of 64 MiB = a 188 GiB stream; a rare lucky probe may stick, no more.
  assert.ok(
    Math.max(...counts) <= 6,
    `no climb beyond a rare lucky probe, saw ${Math.max(...counts)}`,
  );
  assert.ok(counts.slice(0, 64).every((n) => n <= 5), "a 4 GiB stream (64 chunks) stays at 4-5");
});

Deno.test("Concurrency auto: climbs while each worker adds throughput, stops where it stops", () => {
  // Latency-bound up to 10 workers (each adds 20 MB/s), flat beyond.
  const { counts } = simulate((w) => Math.min(w, 10) * 20e6, 3000);
  const end = counts.slice(-300);
  assert.ok(Math.min(...end) >= 9, `reaches ~10, saw min ${Math.min(...end)}`);
  assert.ok(
    Math.max(...end) <= 11,
    `does not run past 10 by more than a probe, saw ${Math.max(...end)}`,
  );
});

Deno.test("Concurrency auto: peak remembers a probe that was taken back", () => {
  const { c, counts } = simulate(() => 100e6, 200);
  assert.equal(c.peak, Math.max(...counts, 4));
  assert.ok(c.changes.some((s) => /no gain/.test(s)), "a flat store makes probes go back");
  assert.ok(c.peak >= 5, "the first probe counted, though reverted");
});

Deno.test("Concurrency auto: a throttle halves the count and holds it for a while", () => {
  let t = 0;
  const c = new Concurrency({ min: 2, max: 16, now: () => t });
  assert.equal(c.current, 4);
  c.throttled();
  assert.equal(c.current, 2);
  for (let i = 0; i < 5; i++) {
    t += 100;
    c.completed(1e6);
  }
  assert.equal(c.current, 2, "no probing during the hold");
  assert.ok(c.changes.some((s) => /store throttling/.test(s)));
});

Deno.test("Concurrency fixed: never changes", () => {
  let t = 0;
  const c = new Concurrency({ fixed: 3, min: 3, max: 3, now: () => t });
  for (let i = 0; i < 100; i++) {
    t += 10 + i;
    c.completed(1e6);
  }
  c.throttled();
  assert.equal(c.current, 3);
  assert.equal(c.label, "3");
});
