/** A bounded set of concurrent tasks whose results are taken in submission order. */

export class OrderedWindow<T> {
  readonly capacity: number;
  readonly #abort = new AbortController();
  #tasks: Promise<T>[] = [];

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#tasks.length;
  }

  get full(): boolean {
    return this.#tasks.length >= this.capacity;
  }

  /** Start a task; the first failure aborts the others through `signal`. */
  add(task: (signal: AbortSignal) => Promise<T>): void {
    const p = task(this.#abort.signal);
    // Marks the rejection handled; next() still sees it.
    p.catch((e) => this.#abort.abort(e));
    this.#tasks.push(p);
  }

  /** The oldest task's result. After a failure, the first failure's error. */
  async next(): Promise<T> {
    const p = this.#tasks.shift();
    if (!p) throw new Error("OrderedWindow.next() on an empty window");
    try {
      return await p;
    } catch (e) {
      throw this.#abort.signal.aborted ? this.#abort.signal.reason : e;
    }
  }

  /** Abort and wait for everything still running (call before rethrowing a failure). */
  async close(reason?: unknown): Promise<void> {
    if (!this.#abort.signal.aborted) this.#abort.abort(reason ?? new Error("closed"));
    await Promise.allSettled(this.#tasks);
    this.#tasks = [];
  }
}
