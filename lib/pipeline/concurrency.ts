/**
 * How many transfers run at once. Fixed, or adaptive (AIMD): probe one more worker and keep it
 * only if throughput then beats the rate before the probe by 10 %, else go back and hold for a
 * while; half as many on a throttle signal (SlowDown, 503, timeouts seen by the retry layer);
 * always within [min, max] and the memory budget that set max. Comparing with the rate before
 * the probe, not the last round, is what stops noise from ratcheting the count (and memory)
 * up over a long stream: s3duct 0.4's scaler climbed that way (spec §6.7).
 * @module
 */

/** How a {@linkcode Concurrency} pool counts: fixed, or adaptive within [min, max]. */
export interface ConcurrencyOptions {
  /** Fixed count; absent = adaptive. */
  fixed?: number;
  /** Fewest workers an adaptive pool drops to (at least 1). */
  min: number;
  /** Most workers an adaptive pool grows to: the memory budget's limit. */
  max: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** A probe must beat the rate before it by this much to be kept. */
const GAIN = 1.1;

/** The worker count of one transfer pool, fixed or adapted to measured throughput. */
export class Concurrency {
  /** True unless the count was fixed (`--*-workers N`). */
  readonly adaptive: boolean;
  /** Fewest workers, clamped to [1, max]. */
  readonly min: number;
  /** Most workers (never below `min`). */
  readonly max: number;
  #current: number;
  readonly #now: () => number;
  #window: { started: number; bytes: number; done: number };
  /** Throughput at the current count before the probe under way (0: none measured yet). */
  #baseline = 0;
  #probing = false;
  #peak: number;
  #cooldown = 0;
  /** Changes, for -v: "4 -> 5 (throughput up)". */
  readonly changes: string[] = [];
  /** Transfers completed and their bytes, in all (what --metrics-file reports as moved). */
  readonly done = { transfers: 0, bytes: 0 };

  /** A pool at its fixed count, or, adaptive, at 4 workers clamped to [min, max]. */
  constructor(opts: ConcurrencyOptions) {
    this.adaptive = opts.fixed === undefined;
    this.min = Math.max(1, Math.min(opts.min, opts.max));
    this.max = Math.max(this.min, opts.max);
    this.#current = opts.fixed ?? Math.min(this.max, Math.max(this.min, 4));
    this.#peak = this.#current;
    this.#now = opts.now ?? (() => performance.now());
    this.#window = { started: this.#now(), bytes: 0, done: 0 };
  }

  /** How many transfers may run at once now. */
  get current(): number {
    return this.#current;
  }

  /** For summaries, as s3duct 0.4 wrote it: "4", or "auto (6)". */
  get label(): string {
    return this.adaptive ? `auto (${this.#current})` : String(this.#current);
  }

  /** A transfer finished; every `current` completions make a round whose rate is judged. */
  completed(bytes: number): void {
    this.done.transfers++;
    this.done.bytes += bytes;
    if (!this.adaptive) return;
    this.#window.bytes += bytes;
    this.#window.done++;
    if (this.#cooldown > 0) this.#cooldown--;
    if (this.#window.done < this.#current) return;
    const secs = (this.#now() - this.#window.started) / 1000;
    const rate = secs > 0 ? this.#window.bytes / secs : 0;
    this.#window = { started: this.#now(), bytes: 0, done: 0 };
    if (this.#probing) {
      this.#probing = false;
      if (rate > this.#baseline * GAIN) {
        this.#baseline = rate; // the extra worker paid off: keep it
      } else {
        this.#set(this.#current - 1, "no gain from the last one");
        this.#cooldown = 8 * this.#current;
        return;
      }
    } else {
      // Smoothed, so one unlucky round does not make the next probe look like a gain.
      this.#baseline = this.#baseline ? (this.#baseline + rate) / 2 : rate;
    }
    if (this.#cooldown === 0 && this.#current < this.max) {
      this.#set(this.#current + 1, "probing");
      this.#probing = true;
    }
  }

  /** The store pushed back: multiplicative decrease, then hold for a few rounds. */
  throttled(): void {
    if (!this.adaptive) return;
    this.#cooldown = 3 * this.#current;
    this.#probing = false;
    if (this.#current > this.min) {
      this.#set(Math.max(this.min, Math.floor(this.#current / 2)), "store throttling");
    }
  }

  /** The most that ever ran at once (what peak memory follows). */
  get peak(): number {
    return this.#peak;
  }

  #set(n: number, why: string): void {
    this.changes.push(`${this.#current} -> ${n} (${why})`);
    this.#current = n;
    this.#peak = Math.max(this.#peak, n);
  }
}
