/**
 * A few module workers running one source text (zstd.ts's jobs), each doing one job at a time;
 * jobs wait in order for a free worker. The source is loaded from a blob: URL, so the worker
 * needs no file of its own (the bundle and compiled binary carry it) and no permission.
 */

/** A worker's answer: the job's fields, as zstd.ts's message loop posts them. */
export type Reply = Record<string, unknown>;

interface Job {
  msg: Record<string, unknown>;
  transfer: Transferable[];
  resolve(r: Reply): void;
  reject(e: unknown): void;
}

/**
 * One worker per core, at most 4: compression is CPU-bound and shares the cores with hashing,
 * sealing and the network.
 */
function defaultSize(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
}

/** Workers are started on demand, up to `size`, and kept until close(). */
export class ZstdPool {
  readonly #url: string;
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #queue: Job[] = [];
  #started = 0;
  #closed = false;

  /**
   * A pool running the module text `source` in up to `size` workers (default: cores, at most 4).
   */
  constructor(source: string, size: number = defaultSize()) {
    this.#url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
    this.#size = size;
  }

  /** Post `msg` (moving `transfer`) to the next free worker; resolves with its reply. */
  run(msg: Record<string, unknown>, transfer: Transferable[]): Promise<Reply> {
    if (this.#closed) return Promise.reject(new Error("zstd workers are closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ msg, transfer, resolve, reject });
      this.#pump();
    });
  }

  /** Stop every worker; jobs still queued or running fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const gone = new Error("zstd workers were closed before the job finished");
    for (const job of this.#queue.splice(0)) job.reject(gone);
    for (const [w, job] of this.#busy) {
      w.terminate();
      job.reject(gone);
    }
    for (const w of this.#idle.splice(0)) w.terminate();
    this.#busy.clear();
    URL.revokeObjectURL(this.#url);
  }

  #pump(): void {
    while (this.#queue.length && !this.#closed) {
      const w = this.#idle.pop() ?? (this.#started < this.#size ? this.#spawn() : undefined);
      if (!w) return;
      const job = this.#queue.shift()!;
      try {
        w.postMessage(job.msg, job.transfer);
        this.#busy.set(w, job);
      } catch (e) {
        // Not transferable (detached, or shared): the worker never saw it.
        this.#idle.push(w);
        job.reject(e);
      }
    }
  }

  #spawn(): Worker {
    const w = new Worker(this.#url, { type: "module", name: "s3duct-zstd" });
    this.#started++;
    w.onmessage = (e: MessageEvent) => {
      const job = this.#busy.get(w);
      this.#busy.delete(w);
      this.#idle.push(w);
      job?.resolve(e.data as Reply);
      this.#pump();
    };
    // A worker that dies takes its job's buffers with it: that job fails, the others go on.
    const fail = (what: string) => {
      const job = this.#busy.get(w);
      this.#busy.delete(w);
      w.terminate();
      this.#started--;
      job?.reject(new Error(`zstd worker failed: ${what}`));
      this.#pump();
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      fail(e.message);
    };
    w.onmessageerror = () => fail("a reply could not be read");
    return w;
  }
}
