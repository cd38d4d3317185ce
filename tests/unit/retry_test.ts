import assert from "node:assert/strict";
import { NotFoundError, StoreError } from "../../lib/errors.ts";
import { type RetryPolicy, withRetry } from "../../lib/store/retry.ts";

function policy(retries: number, onRetry?: RetryPolicy["onRetry"]): RetryPolicy {
  return { retries, baseMs: 1, capMs: 4, onRetry };
}

const transient = () => new StoreError("flaky", { transient: true, status: 503 });

Deno.test("withRetry: transient failures retried up to `retries`, then thrown", async () => {
  let attempts = 0;
  const seen: number[] = [];
  const err = transient();
  await assert.rejects(
    withRetry(
      () => {
        attempts++;
        return Promise.reject(err);
      },
      policy(3, (n, e, ms) => {
        seen.push(n);
        assert.equal(e, err);
        assert.ok(ms >= 0 && ms <= 4, `wait ${ms}`);
      }),
    ),
    (e) => e === err,
  );
  assert.equal(attempts, 4);
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("withRetry: succeeds after transient failures; attempt numbers passed in", async () => {
  const got: number[] = [];
  const v = await withRetry((attempt) => {
    got.push(attempt);
    return attempt < 2 ? Promise.reject(transient()) : Promise.resolve("ok");
  }, policy(5));
  assert.equal(v, "ok");
  assert.deepEqual(got, [0, 1, 2]);
});

Deno.test("withRetry: non-transient errors are thrown at once", async () => {
  for (
    const err of [
      new StoreError("bad request", { transient: false, status: 400 }),
      new NotFoundError("gone"),
      new TypeError("bug"),
    ]
  ) {
    let attempts = 0;
    await assert.rejects(
      withRetry(() => {
        attempts++;
        return Promise.reject(err);
      }, policy(5)),
      (e) => e === err,
    );
    assert.equal(attempts, 1, err.message);
  }
});

Deno.test("withRetry: retries 0 tries once", async () => {
  let attempts = 0;
  await assert.rejects(
    withRetry(() => {
      attempts++;
      return Promise.reject(transient());
    }, policy(0)),
    StoreError,
  );
  assert.equal(attempts, 1);
});

Deno.test("withRetry: an aborted signal stops retrying", async () => {
  const ac = new AbortController();
  ac.abort();
  let attempts = 0;
  await assert.rejects(
    withRetry(
      () => {
        attempts++;
        return Promise.reject(transient());
      },
      policy(5),
      ac.signal,
    ),
    StoreError,
  );
  assert.equal(attempts, 1);
});

Deno.test("withRetry: the server's Retry-After is the least wait", async () => {
  const waits: number[] = [];
  let attempts = 0;
  const started = performance.now();
  const v = await withRetry(() => {
    attempts++;
    return attempts === 1
      ? Promise.reject(new StoreError("slow", { transient: true, retryAfterMs: 300 }))
      : Promise.resolve("ok");
  }, policy(3, (_n, _e, ms) => waits.push(ms)));
  assert.equal(v, "ok");
  assert.deepEqual(waits, [300], "backoff alone would be at most 1 ms");
  assert.ok(performance.now() - started >= 290);
});

Deno.test("withRetry: retries 0 means one attempt, even for transient failures", async () => {
  let attempts = 0;
  await assert.rejects(
    withRetry(() => {
      attempts++;
      return Promise.reject(transient());
    }, policy(0)),
    StoreError,
  );
  assert.equal(attempts, 1);
});

Deno.test("withRetry: a 501 is thrown at once, even if marked transient", async () => {
  for (
    const err of [
      new StoreError("not implemented", { transient: true, status: 501 }),
      new StoreError("not implemented", { transient: true, code: "NotImplemented", status: 400 }),
    ]
  ) {
    let attempts = 0;
    await assert.rejects(
      withRetry(() => {
        attempts++;
        return Promise.reject(err);
      }, policy(5, () => assert.fail("retried"))),
      (e) => e === err,
    );
    assert.equal(attempts, 1);
  }
});
