/**
 * The chunk loop of `put`: read stdin in chunks, hash the stream, digest and chain each chunk,
 * and queue it for sealing and upload; a chunk an interrupted put already stored (resume) is
 * re-read, checked against its log entry and kept, or uploaded again.
 */
import { ResumeRefused, UsageError } from "../errors.ts";
import { type DualDigest, dualDigest, DualHasher } from "../crypto/hash.ts";
import { fromHex } from "../format/chain.ts";
import { judgeReplay, replayEnded } from "../resume/fast_forward.ts";
import { openZstd } from "../crypto/zstd.ts";
import { chunkMemory, poolBudget } from "../buffer_pool.ts";
import type { ChunkJob, Stored } from "./chunk_upload.ts";
import { MAX_MANIFEST_CHUNKS } from "./manifest_io.ts";
import type { PutJob } from "./put_stream.ts";
import type { Replay, ResumePlan } from "./resume_plan.ts";
import { readChunks } from "./source.ts";
import { Spill } from "./spill.ts";
import type { StreamFormat } from "./stream_format.ts";
import { UploadQueue } from "./upload_queue.ts";

/** What the chunk loop produced. */
export interface Streamed {
  /** Every chunk's record, chain value and object size, in index order. */
  stored: Stored[];
  /** Both digests of the whole stream. */
  whole: DualDigest;
  /** Chunks kept from an interrupted upload. */
  kept: number;
  /** Logged chunks uploaded again: missing from the store, or not what was logged. */
  reuploaded: { missing: number; differs: number };
  /** Chunks that waited in the scratch spill. */
  spilled: number;
}

/** How a put records its chunks (the log line and record forms are the put's business). */
export interface ChunkHooks {
  /** Called for each stored chunk, in index order, once it is in `stored`. */
  record(s: Stored): Promise<void>;
  /** A replayed chunk the store still holds intact, as the queue records it. */
  kept(r: Replay): Stored;
}

/**
 * Read, hash, chain and queue every chunk; replayed ones are checked and kept or redone.
 * @throws {UsageError} more chunks than a manifest may list
 * @throws {ResumeRefused} stdin does not replay the interrupted upload
 */
export async function streamChunks(
  job: PutJob,
  upJob: ChunkJob,
  plan: ResumePlan,
  format: StreamFormat,
  hooks: ChunkHooks,
): Promise<Streamed> {
  const room = upJob.sealer.inPlace ?? { head: 0, tail: 0 };
  upJob.pool.maxFreeBytes = poolBudget(
    job.concurrency.max,
    chunkMemory(room.head + job.chunkSize + room.tail),
  );
  const stored: Stored[] = [];
  const hasher = await DualHasher.create(); // before the spill: a failure here leaves nothing open
  const spill = job.spill ? await Spill.open(job.spill, job.log) : undefined;
  const queue = new UploadQueue(upJob, job.concurrency, spill, async (s) => {
    stored.push(s);
    await hooks.record(s);
  });
  const loop = new ChunkLoop(job, upJob, plan, format, queue, hooks, hasher);
  const closeCodec = upJob.compress ? openZstd() : undefined;
  try {
    await loop.run(
      withLast(readChunks(job.input, job.chunkSize, room, upJob.pool), format.v2 !== undefined),
    );
    await queue.finish();
    await loop.hashed();
  } catch (e) {
    await queue.close(e);
    await loop.abandon();
    await plan.log?.close();
    throw e;
  } finally {
    closeCodec?.();
    await spill?.close();
  }
  const { kept, reuploaded } = loop;
  return { stored, whole: await loop.digest(), kept, reuploaded, spilled: spill?.written ?? 0 };
}

/** The state of one put's chunk loop: the chain and stream hash, each one chunk behind. */
class ChunkLoop {
  /** Chunks kept from an interrupted upload. */
  kept = 0;
  /** Logged chunks uploaded again, by why. */
  readonly reuploaded = { missing: 0, differs: 0 };
  #chainReady: Promise<Uint8Array | undefined> = Promise.resolve(undefined);
  #streamHashing = Promise.resolve();
  /** Preparations (sealing) under way, when the sealer writes a second buffer (age). */
  readonly #sealing: Promise<unknown>[] = [];
  readonly #twoBuffers: boolean;
  #replaying: boolean;

  constructor(
    readonly job: PutJob,
    readonly upJob: ChunkJob,
    readonly plan: ResumePlan,
    readonly format: StreamFormat,
    readonly queue: UploadQueue,
    readonly hooks: ChunkHooks,
    readonly streamHash: DualHasher,
  ) {
    // A cipher that seals into a second buffer (age) holds the plaintext until sealed and
    // hashed: reading the next chunk waits for the last one to get there, so no more than two
    // plaintexts are alive beside the sealed chunks in flight.
    this.#twoBuffers = format.chunks.method !== null && !format.chunks.inPlace;
    this.#replaying = plan.replay.length > 0;
  }

  /** Every chunk of `source` queued (their uploads may still run). */
  async run(source: AsyncGenerator<{ chunk: Uint8Array; last: boolean }>): Promise<void> {
    let index = 0;
    for (;;) {
      if (this.#twoBuffers && this.#sealing.length > 0) await this.#sealing.shift();
      const next = await source.next();
      if (next.done) break;
      const i = index++;
      if (i >= MAX_MANIFEST_CHUNKS) throw tooManyChunks(this.job.chunkSize);
      await this.#chunk(i, next.value.chunk, next.value.last);
    }
    const { replay, rules } = this.plan;
    if (this.#replaying && index < replay.length) replayEnded(index, replay.length, rules);
  }

  /** Resolves once every chunk queued was fed to the stream hash. */
  hashed(): Promise<void> {
    return this.#streamHashing;
  }

  /** The whole stream's digests (after {@linkcode hashed}). */
  digest(): Promise<DualDigest> {
    return this.streamHash.digest();
  }

  /** Wait for the hashing and chaining under way to stop (after a failure). */
  async abandon(): Promise<void> {
    await this.#streamHashing.catch(() => {});
    await this.#chainReady.catch(() => {});
  }

  async #chunk(i: number, chunk: Uint8Array, last: boolean): Promise<void> {
    // The stream hash is sequential by nature: chunk i's update starts when i-1's is done,
    // while chunk digests, sealing and uploads of other chunks proceed alongside.
    const hashed = this.#streamHashing.then(() => this.streamHash.update(chunk));
    this.#streamHashing = hashed;
    const todo = await this.#replay(i, chunk, hashed);
    if (!todo) return;
    const { digest } = todo;
    const prev = this.#chainReady;
    const step = this.format.step;
    const myChain = Promise.all([prev, digest]).then(([p, d]) => step(p, i, d));
    // Failures surface through the upload task; these only must not count as unhandled.
    for (const p of [hashed, digest, myChain]) p.catch(() => {});
    this.#chainReady = myChain;
    const c = { index: i, last, chunk, digesting: digest, hashed, chaining: myChain };
    const queued = await this.queue.add(c);
    if (queued) this.#sealing.push(queued.preparing.catch(() => {}));
    if (this.job.progress) this.job.progress.inFlight = this.queue.inFlight;
  }

  /**
   * The chunk's digest under way (wrapped, so that awaiting this does not wait for it), after
   * judging the chunk against the interrupted upload's entry if it replays one; undefined when
   * the stored chunk is kept (nothing to upload).
   */
  async #replay(
    i: number,
    chunk: Uint8Array,
    hashed: Promise<void>,
  ): Promise<{ digest: Promise<DualDigest> } | undefined> {
    const r: Replay | undefined = this.#replaying ? this.plan.replay[i] : undefined;
    if (!r) {
      this.#replaying = false;
      return { digest: dualDigest(chunk) };
    }
    const d = await dualDigest(chunk);
    if (judgeReplay(r.entry, chunk, d, this.plan.rules) === "tail") this.#replaying = false;
    else if (r.state === "ok") {
      await hashed;
      this.upJob.pool.give(chunk);
      this.#chainReady = Promise.resolve(fromHex(r.entry.chain));
      await this.queue.addStored(this.hooks.kept(r));
      this.kept++;
      return undefined;
    } else this.reuploaded[r.state]++;
    return { digest: Promise.resolve(d) };
  }
}

/** Yields each chunk with whether it is the last (format 2 seals that in: one chunk ahead). */
async function* withLast(
  source: AsyncGenerator<Uint8Array>,
  lookahead: boolean,
): AsyncGenerator<{ chunk: Uint8Array; last: boolean }> {
  let cur = await source.next();
  while (!cur.done) {
    if (!lookahead) {
      yield { chunk: cur.value, last: false };
      cur = await source.next();
      continue;
    }
    const peek = await source.next();
    yield { chunk: cur.value, last: peek.done === true };
    cur = peek;
  }
}

/** More chunks than a manifest `get` reads may hold: refused before one more is uploaded. */
function tooManyChunks(chunkSize: number): UsageError {
  return new UsageError(
    `the stream needs more than ${MAX_MANIFEST_CHUNKS} chunks of ${chunkSize} bytes, the most ` +
      "a manifest may list; nothing was published: re-run with a larger --chunk-size",
  );
}
