/**
 * `--bandwidth-limit` holds over every window, whatever the chunk size, both ways: the bucket
 * alone, and the local store moving whole chunks under it, with the bytes timed by a clock
 * (performance.now) as they are charged. Lower bounds on time only: a slow machine can make a
 * transfer slower, never faster, so these cannot fail for load.
 */
import assert from "node:assert/strict";
import { Bandwidth, pacedLoop, type Pacer } from "../../lib/store/bandwidth.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import { limitBandwidth } from "../../lib/store/limited_store.ts";

const MiB = 1024 * 1024;

/** A pacer that records when each charge was granted and for how many bytes. */
function recorded(bw: Bandwidth): { pacer: Pacer; log: [number, number][] } {
  const log: [number, number][] = [];
  return {
    log,
    pacer: {
      slice: bw.slice,
      pace: async (n) => {
        await bw.take(n);
        log.push([performance.now(), n]);
      },
    },
  };
}

/** The most bytes granted inside any window of `ms` milliseconds. */
function maxInWindow(log: [number, number][], ms: number): number {
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < log.length; hi++) {
    sum += log[hi][1];
    while (log[hi][0] - log[lo][0] > ms) sum -= log[lo++][1];
    best = Math.max(best, sum);
  }
  return best;
}

Deno.test("bandwidth: the slice is a 40th of a second's worth, within 512 B and 256 KiB", () => {
  assert.equal(new Bandwidth(1024).slice, 512);
  assert.equal(new Bandwidth(4 * MiB).slice, Math.round(4 * MiB / 40));
  assert.equal(new Bandwidth(100 * MiB).slice, 256 * 1024);
});

Deno.test("bandwidth: no start-up burst, and any 1 s window stays within 5 % + 2 slices", async () => {
  const rate = 8 * MiB;
  const bw = new Bandwidth(rate);
  const { pacer, log } = recorded(bw);
  const t0 = performance.now();
  // 12 MiB in pieces of every size a transfer may charge: the limit must not care.
  await pacedLoop(12 * MiB, pacer, (_off, n) => Promise.resolve(n));
  const took = (performance.now() - t0) / 1000;
  assert.ok(took >= (12 * MiB - bw.slice) / rate * 0.99, `12 MiB at 8 MiB/s took ${took} s`);
  const worst = maxInWindow(log, 1000);
  assert.ok(worst <= rate * 1.05 + 2 * bw.slice, `${worst} bytes inside one second`);
});

Deno.test("bandwidth: the local store moves a big chunk at the limit both ways, slice by slice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3duct-bw-" });
  try {
    await Deno.mkdir(`${dir}/b`);
    const rate = 6 * MiB;
    const bw = new Bandwidth(rate);
    const { pacer, log } = recorded(bw);
    const store = new FsStore(dir, "b");
    store.setPacer(pacer);
    const body = crypto.getRandomValues(new Uint8Array(64 * 1024)).slice();
    const chunk = new Uint8Array(9 * MiB);
    for (let o = 0; o < chunk.length; o += body.length) chunk.set(body, o);

    let t0 = performance.now();
    await store.put("one-chunk", chunk);
    const put = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const back = await store.get("one-chunk");
    const get = (performance.now() - t0) / 1000;

    assert.deepEqual(back, chunk);
    // One 9 MiB chunk is one request: charged per request it went at disk speed.
    assert.ok(put >= 1.4, `put of 9 MiB at 6 MiB/s took ${put} s`);
    assert.ok(get >= 1.4, `get of 9 MiB at 6 MiB/s took ${get} s`);
    assert.ok(log.every(([, n]) => n <= bw.slice), "no charge above one slice");
    assert.ok(maxInWindow(log, 1000) <= rate * 1.05 + 2 * bw.slice);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bandwidth: limitBandwidth paces a pacing store itself instead of wrapping it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3duct-bw-" });
  try {
    await Deno.mkdir(`${dir}/b`);
    const store = new FsStore(dir, "b");
    const limited = limitBandwidth(store, new Bandwidth(2 * MiB));
    assert.equal(limited, store, "the store itself, now paced");
    const t0 = performance.now();
    await limited.put("k", new Uint8Array(3 * MiB));
    assert.ok((performance.now() - t0) / 1000 >= 1.3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
