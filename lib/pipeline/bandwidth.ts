/**
 * `--bandwidth-limit`: one token bucket shared by every transfer of the process, so the limit
 * is the total, not per worker. Tokens are taken per request (a chunk or part) before it is
 * sent, which keeps the average at the limit; bursts are at most one request.
 */

export class Bandwidth {
  /** The limit: average bytes per second over all transfers together. */
  readonly bytesPerSecond: number;
  #available: number;
  #last = performance.now();
  #queue: Promise<void> = Promise.resolve();

  /** A bucket that starts full: the first second's worth may go at once. */
  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
    this.#available = bytesPerSecond;
  }

  /** Wait until `bytes` may be sent; callers are served in order. */
  take(bytes: number): Promise<void> {
    const turn = this.#queue.then(async () => {
      this.#refill();
      this.#available -= bytes;
      if (this.#available < 0) {
        await new Promise((r) => setTimeout(r, (-this.#available / this.bytesPerSecond) * 1000));
        this.#refill();
      }
    });
    this.#queue = turn;
    return turn;
  }

  #refill(): void {
    const now = performance.now();
    // At most one second of credit: an idle period does not buy a long burst later.
    this.#available = Math.min(
      this.bytesPerSecond,
      this.#available + ((now - this.#last) / 1000) * this.bytesPerSecond,
    );
    this.#last = now;
  }
}
