import assert from "node:assert/strict";
import { OrderedWindow } from "../../lib/pipeline/window.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Records unhandled rejections during `fn` (and a short grace period after it). */
async function noUnhandledRejections(fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    seen.push(e.reason);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    await fn();
    await sleep(20);
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  assert.deepEqual(seen, [], "unhandled rejections");
}

Deno.test("OrderedWindow: results in submission order when later tasks finish first", async () => {
  const w = new OrderedWindow<number>(4);
  const finished: number[] = [];
  for (const [i, delay] of [40, 25, 10, 0].entries()) {
    w.add(async () => {
      await sleep(delay);
      finished.push(i);
      return i;
    });
  }
  assert.equal(w.size, 4);
  assert.ok(w.full);
  const got = [await w.next(), await w.next(), await w.next(), await w.next()];
  assert.deepEqual(got, [0, 1, 2, 3]);
  assert.deepEqual(finished, [3, 2, 1, 0], "tasks really finished out of order");
  assert.equal(w.size, 0);
});

Deno.test("OrderedWindow: capacity, size and full", async () => {
  assert.equal(new OrderedWindow(0).capacity, 1);
  const w = new OrderedWindow<number>(2);
  assert.equal(w.full, false);
  w.add(() => Promise.resolve(1));
  assert.equal(w.full, false);
  w.add(() => Promise.resolve(2));
  assert.equal(w.full, true);
  await w.next();
  assert.equal(w.full, false);
  await w.next();
  await assert.rejects(w.next(), Error, "next() on an empty window");
});

Deno.test("OrderedWindow: a failing task's error is what next() throws", async () => {
  await noUnhandledRejections(async () => {
    const boom = new Error("boom");
    const w = new OrderedWindow<string>(3);
    w.add(() => Promise.resolve("ok"));
    w.add(() => Promise.reject(boom));
    w.add(() => sleep(5).then(() => "later"));
    assert.equal(await w.next(), "ok");
    await assert.rejects(w.next(), (e) => e === boom);
    await w.close();
  });
});

Deno.test("OrderedWindow: a later task fails while an earlier one is awaited", async () => {
  await noUnhandledRejections(async () => {
    const boom = new Error("later task failed");
    const w = new OrderedWindow<string>(3);
    let signalSeen: AbortSignal | undefined;
    w.add(async (signal) => {
      signalSeen = signal;
      await sleep(30);
      return "slow first";
    });
    w.add(async () => {
      await sleep(1);
      throw boom;
    });
    // The first task still completes normally; the failure surfaces at its own turn.
    assert.equal(await w.next(), "slow first");
    assert.ok(signalSeen?.aborted, "the failure aborts the others' signal");
    await assert.rejects(w.next(), (e) => e === boom);
  });
});

Deno.test("OrderedWindow: a task aborted because of another's failure reports the first failure", async () => {
  await noUnhandledRejections(async () => {
    const boom = new Error("first failure");
    const w = new OrderedWindow<string>(2);
    w.add((signal) =>
      new Promise<string>((_, reject) => {
        const t = setTimeout(() => reject(new Error("timeout")), 2000);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(new DOMException("aborted", "AbortError"));
        });
      })
    );
    w.add(async () => {
      await sleep(1);
      throw boom;
    });
    await assert.rejects(w.next(), (e) => e === boom);
    await w.close(boom);
  });
});

Deno.test("OrderedWindow: close() aborts and waits for running tasks", async () => {
  await noUnhandledRejections(async () => {
    const w = new OrderedWindow<number>(3);
    let done = 0;
    let aborted = 0;
    for (let i = 0; i < 3; i++) {
      w.add(async (signal) => {
        await sleep(20 + i * 5);
        if (signal.aborted) aborted++;
        done++;
        if (i === 1) throw new Error("fails after close");
        return i;
      });
    }
    await w.close(new Error("stop"));
    assert.equal(done, 3, "close() returned before the tasks finished");
    assert.equal(aborted, 3);
    assert.equal(w.size, 0);
  });
});

Deno.test("OrderedWindow failFast=false: each task's own outcome, in order, nothing aborted", async () => {
  await noUnhandledRejections(async () => {
    const e1 = new Error("task 1 failed");
    const e2 = new Error("task 2 failed");
    const w = new OrderedWindow<string>(4, { failFast: false });
    let signal: AbortSignal | undefined;
    w.add(async (s) => {
      signal = s;
      await sleep(30);
      return "zero";
    });
    w.add(() => Promise.reject(e1));
    w.add(async () => {
      await sleep(5);
      throw e2;
    });
    w.add(async () => {
      await sleep(10);
      return "three";
    });
    assert.equal(await w.next(), "zero");
    assert.equal(signal?.aborted, false, "a failure does not abort the others");
    await assert.rejects(w.next(), (e) => e === e1);
    await assert.rejects(w.next(), (e) => e === e2, "its own error, not the first failure");
    assert.equal(await w.next(), "three");
    await w.close();
    assert.equal(signal?.aborted, true, "close() aborts");
  });
});
