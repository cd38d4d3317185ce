/**
 * How many transfers run at once. Fixed, or adaptive (AIMD): one more worker while measured
 * throughput keeps improving, half as many on a throttle signal (SlowDown, 503, timeouts seen
 * by the retry layer), always within [min, max] and the memory budget that set max.
 */

export interface ConcurrencyOptions {
  /** Fixed count; absent = adaptive. */
  fixed?: number;
  min: number;
  max: number;
}

export class Concurrency {
  readonly adaptive: boolean;
  readonly min: number;
  readonly max: number;
  #current: number;
  #window = { started: performance.now(), bytes: 0, done: 0 };
  #lastRate = 0;
  #cooldown = 0;
  /** Changes, for -v: "4 -> 5 (throughput up)". */
  readonly changes: string[] = [];

  constructor(opts: ConcurrencyOptions) {
    this.adaptive = opts.fixed === undefined;
    this.min = Math.max(1, Math.min(opts.min, opts.max));
    this.max = Math.max(this.min, opts.max);
    this.#current = opts.fixed ?? Math.min(this.max, Math.max(this.min, 4));
  }

  get current(): number {
    return this.#current;
  }

  /** For summaries, as s3duct 0.4 wrote it: "4", or "auto (6)". */
  get label(): string {
    return this.adaptive ? `auto (${this.#current})` : String(this.#current);
  }

  /** A transfer finished; every `current` completions, compare throughput with the last round. */
  completed(bytes: number): void {
    if (!this.adaptive) return;
    this.#window.bytes += bytes;
    this.#window.done++;
    if (this.#cooldown > 0) this.#cooldown--;
    if (this.#window.done < this.#current) return;
    const secs = (performance.now() - this.#window.started) / 1000;
    const rate = secs > 0 ? this.#window.bytes / secs : 0;
    // Additive increase only while the last step paid off by at least 5 %.
    if (this.#cooldown === 0 && this.#current < this.max && rate > this.#lastRate * 1.05) {
      this.#set(this.#current + 1, "throughput up");
    }
    this.#lastRate = rate;
    this.#window = { started: performance.now(), bytes: 0, done: 0 };
  }

  /** The store pushed back: multiplicative decrease, then hold for a few rounds. */
  throttled(): void {
    if (!this.adaptive) return;
    this.#cooldown = 3 * this.#current;
    if (this.#current > this.min) {
      this.#set(Math.max(this.min, Math.floor(this.#current / 2)), "store throttling");
    }
  }

  #set(n: number, why: string): void {
    this.changes.push(`${this.#current} -> ${n} (${why})`);
    this.#current = n;
  }
}
