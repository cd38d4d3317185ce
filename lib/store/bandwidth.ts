/**
 * `--bandwidth-limit`: one token bucket shared by every transfer of the process, so the limit
 * is the total, not per worker. Stores that can pace themselves (both of ours) charge it per
 * slice of at most {@linkcode Bandwidth.slice} bytes as the bytes move, before each write and
 * before each read, so a 64 MiB chunk flows at the limit instead of going in one burst (charging
 * per request let 256 MiB at 20M finish in 11.9 s, and a get ran ahead by a whole window of
 * chunks before the first charge). The bucket holds one slice: an idle pause buys no burst.
 *
 * Over any window of W seconds at most `rate x W + 2 x slice` bytes move (one slice of credit,
 * one slice charged just before the window and sent inside it); the slice is a 40th of a
 * second's worth (256 KiB at most, 512 B at least), so the cap holds within 5 % over any window
 * of 2 s or more at every rate from 1 KiB/s up.
 * @module
 */

/** Charge `bytes` to the limit, resolving when they may move. */
export type Pace = (bytes: number) => Promise<void>;

/** What a store paces its transfers with: the charge, and the bytes to move per charge. */
export interface Pacer {
  /** Charge bytes before they move. */
  readonly pace: Pace;
  /** The most bytes to move per charge. */
  readonly slice: number;
}

/** A store that moves its bodies slice by slice under a {@linkcode Pacer}. */
export interface PacedStore {
  /** Pace every transfer from now on with `pacer`. */
  setPacer(pacer: Pacer): void;
}

const MAX_SLICE = 256 * 1024;
const MIN_SLICE = 512;

/** A token bucket in bytes per second, serving callers in order. */
export class Bandwidth implements Pacer {
  /** The limit: average bytes per second over all transfers together. */
  readonly bytesPerSecond: number;
  /** The most bytes one charge may cover, and the bucket's capacity. */
  readonly slice: number;
  #tokens: number;
  #last = performance.now();
  #queue: Promise<void> = Promise.resolve();

  /** A bucket for `bytesPerSecond`, holding one slice to start with. */
  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
    this.slice = Math.round(Math.min(MAX_SLICE, Math.max(MIN_SLICE, bytesPerSecond / 40)));
    this.#tokens = this.slice;
  }

  /**
   * Wait until `bytes` may move; callers are served in order. Pacing stores charge a slice at a
   * time; a larger charge (a store that cannot pace) waits for all of it, then goes at once.
   */
  take(bytes: number): Promise<void> {
    const turn = this.#queue.then(async () => {
      this.#refill();
      this.#tokens -= bytes;
      if (this.#tokens < 0) {
        await new Promise((r) => setTimeout(r, (-this.#tokens / this.bytesPerSecond) * 1000));
        this.#refill();
      }
    });
    this.#queue = turn;
    return turn;
  }

  /** This bucket's {@linkcode Bandwidth.take}, bound, as a Store's pacing hook. */
  get pace(): Pace {
    return (bytes) => this.take(bytes);
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(
      this.slice,
      this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSecond,
    );
    this.#last = now;
  }
}

/**
 * Move `total` bytes with `step(offset, length)` (which moves up to `length` bytes and says
 * how many it moved, 0 or null at end), charging `pace` for each slice before it moves; without
 * a pace, in one step. Returns the bytes moved.
 */
export async function pacedLoop(
  total: number,
  pace: Pacer | undefined,
  step: (offset: number, length: number) => Promise<number | null>,
): Promise<number> {
  let off = 0;
  while (off < total) {
    const len = pace ? Math.min(pace.slice, total - off) : total - off;
    if (pace) await pace.pace(len);
    const n = await step(off, len);
    if (!n) break;
    off += n;
  }
  return off;
}
