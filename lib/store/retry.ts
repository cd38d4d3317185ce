/** Retries for transient store failures: exponential backoff with full jitter. */
import { StoreError } from "../errors.ts";
import { isUnsupported } from "./s3_errors.ts";

/** How many times, and how patiently, a transient store failure is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 = try once. */
  retries: number;
  /**
   * Backoff ceiling of the first retry, doubling for each later one; the wait is random below it.
   */
  baseMs: number;
  /** Most backoff ceiling for any retry (a server's Retry-After may still ask for longer). */
  capMs: number;
  /** Called before each wait, e.g. to log. */
  onRetry?: (attempt: number, error: StoreError, waitMs: number) => void;
  /**
   * Called with a one-line note when a store works around a request the server does not
   * support (never retried), e.g. conditional writes emulated by a HEAD check; for `-v`.
   */
  onFallback?: (note: string) => void;
}

/** Ten retries, backoff from 250 ms doubling up to 20 s: at most ~1.5 min of waiting in all. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 10, baseMs: 250, capMs: 20_000 };

/**
 * Run `op`, retrying while it throws a transient StoreError. The wait is full jitter over the
 * exponential backoff, but never less than the server's Retry-After (`e.retryAfterMs`).
 */
export async function withRetry<T>(
  op: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (!(e instanceof StoreError) || !e.transient || attempt >= policy.retries) throw e;
      // "Not implemented" stays so however often it is asked, whoever marked it transient.
      if (isUnsupported(e.status, e.code)) throw e;
      if (signal?.aborted) throw e;
      const jitter = Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
      const wait = Math.max(jitter, e.retryAfterMs ?? 0);
      policy.onRetry?.(attempt + 1, e, wait);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
