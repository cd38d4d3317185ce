/**
 * The upload side of `put`: a window of concurrent uploads whose results are recorded strictly
 * in index order, a waiting list of sealed chunks on disk (spill) while every worker is busy,
 * and the backpressure that keeps memory within its budget (reading pauses for an upload).
 */
import type { Concurrency } from "./concurrency.ts";
import {
  type ChunkJob,
  type ChunkTask,
  maxObjectSize,
  prepare,
  type Prepared,
  type Stored,
  uploadPrepared,
} from "./chunk_upload.ts";
import type { Spill } from "./spill.ts";
import { OrderedWindow } from "./window.ts";

/** Upload window, waiting list and spill of one put. */
export class UploadQueue {
  readonly #job: ChunkJob;
  readonly #spill?: Spill;
  readonly #window: OrderedWindow<Stored>;
  readonly #record: (s: Stored) => Promise<void>;
  /** Sealed chunks waiting for a worker, oldest first (on disk when spilled). */
  readonly #waiting: Prepared[] = [];

  /**
   * A queue that uploads through a window sized by `concurrency`, recording chunks in order.
   * @param job what every chunk shares
   * @param concurrency how many uploads may run at once (read on every check)
   * @param spill where prepared chunks wait while every worker is busy; absent = in memory
   * @param record called for each stored chunk, in index order
   */
  constructor(
    job: ChunkJob,
    concurrency: Concurrency,
    spill: Spill | undefined,
    record: (s: Stored) => Promise<void>,
  ) {
    this.#job = job;
    this.#spill = spill;
    this.#window = new OrderedWindow<Stored>(() => concurrency.current);
    this.#record = record;
  }

  /** Chunks uploading or waiting: for the progress line. */
  get inFlight(): number {
    return this.#window.size + this.#waiting.length;
  }

  /**
   * Queue a chunk as read. It goes to a worker if one is free and nothing waits, else to disk
   * if there is room, else this waits for an upload to finish (reading pauses).
   * @returns the chunk's preparation (sealing) once it is under way, wrapped so that awaiting
   *   this call does not also wait for the sealing; undefined when it went to the spill
   */
  async add(c: ChunkTask): Promise<{ preparing: Promise<Prepared> } | undefined> {
    for (;;) {
      this.#drain();
      if (!this.#waiting.length && !this.#window.full) {
        const preparing = prepare(this.#job, c);
        this.#submit(preparing);
        return { preparing };
      }
      if (this.#spill?.hasRoom(maxObjectSize(this.#job.chunkSize))) {
        this.#waiting.push(await spillChunk(this.#job, c, this.#spill));
        return undefined;
      }
      await this.#record(await this.#window.next());
    }
  }

  /** Record a chunk that is already stored (kept by a resume), in its place in the order. */
  async addStored(s: Stored): Promise<void> {
    while (this.#waiting.length || this.#window.full) {
      this.#drain();
      if (!this.#window.full && !this.#waiting.length) break;
      await this.#record(await this.#window.next());
    }
    this.#window.add(() => Promise.resolve(s));
  }

  /** Wait for every upload and record it. */
  async finish(): Promise<void> {
    while (this.#waiting.length || this.#window.size > 0) {
      this.#drain();
      await this.#record(await this.#window.next());
    }
  }

  /** Abort what runs and wait for it (before rethrowing a failure). */
  async close(reason: unknown): Promise<void> {
    await this.#window.close(reason);
  }

  #submit(p: Prepared | Promise<Prepared>): void {
    this.#window.add(async (signal) => uploadPrepared(this.#job, await p, this.#spill, signal));
  }

  /** Chunks waiting on disk go to free workers first, in index order. */
  #drain(): void {
    while (this.#waiting.length && !this.#window.full) this.#submit(this.#waiting.shift()!);
  }
}

/** Seal a chunk now and park it on disk; in memory if the disk turned out to be full. */
async function spillChunk(job: ChunkJob, c: ChunkTask, spill: Spill): Promise<Prepared> {
  const p = await prepare(job, c);
  const spilled = await spill.write(p.index, p.body!);
  if (!spilled) return p;
  job.pool.give(p.body);
  return { ...p, body: undefined, spilled };
}
