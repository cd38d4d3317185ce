/** Retries for transient store failures: exponential backoff with full jitter. */
import { StoreError } from "../errors.ts";

export interface RetryPolicy {
  /** Retries after the first attempt; 0 = try once. */
  retries: number;
  baseMs: number;
  capMs: number;
  /** Called before each wait, e.g. to log. */
  onRetry?: (attempt: number, error: StoreError, waitMs: number) => void;
}

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
      if (signal?.aborted) throw e;
      const jitter = Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
      const wait = Math.max(jitter, e.retryAfterMs ?? 0);
      policy.onRetry?.(attempt + 1, e, wait);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
