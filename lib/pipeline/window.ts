/** A bounded set of concurrent tasks whose results are taken in submission order. */

export class OrderedWindow<T> {
  readonly #capacity: () => number;
  readonly #abort = new AbortController();
  readonly #failFast: boolean;
  #tasks: Promise<T>[] = [];

  /**
   * `failFast`: the first failure aborts all other tasks (put: nothing after it can be used).
   * Without it, each task's outcome surfaces in order (get: earlier chunks still get written).
   */
  constructor(capacity: number | (() => number), opts: { failFast?: boolean } = {}) {
    this.#capacity = typeof capacity === "number" ? () => capacity : capacity;
    this.#failFast = opts.failFast ?? true;
  }

  /** Tasks added and not yet taken by {@linkcode OrderedWindow.next}. */
  get size(): number {
    return this.#tasks.length;
  }

  /** How many tasks may run at once; may change between calls (adaptive concurrency). */
  get capacity(): number {
    return Math.max(1, this.#capacity());
  }

  /** True when `size` has reached the capacity: take a result before adding more. */
  get full(): boolean {
    return this.#tasks.length >= this.capacity;
  }

  /** Start a task; `signal` aborts when the window closes (or, failing fast, on a failure). */
  add(task: (signal: AbortSignal) => Promise<T>): void {
    const p = task(this.#abort.signal);
    // Marks the rejection handled; next() still sees it.
    p.catch((e) => this.#failFast && this.#abort.abort(e));
    this.#tasks.push(p);
  }

  /** The oldest task's result. After a failure, the first failure's error. */
  async next(): Promise<T> {
    const p = this.#tasks.shift();
    if (!p) throw new Error("OrderedWindow.next() on an empty window");
    try {
      return await p;
    } catch (e) {
      throw this.#failFast && this.#abort.signal.aborted ? this.#abort.signal.reason : e;
    }
  }

  /** Abort and wait for everything still running (call before rethrowing a failure). */
  async close(reason?: unknown): Promise<void> {
    if (!this.#abort.signal.aborted) this.#abort.abort(reason ?? new Error("closed"));
    await Promise.allSettled(this.#tasks);
    this.#tasks = [];
  }
}
