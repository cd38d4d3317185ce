/**
 * The download side of `get`: a window of chunks fetched, opened, inflated and digested in
 * parallel and handed out in stream order, each object no bigger than its record allows.
 * A chunk that does not open is judged here: damage, or a wrong key.
 */
import {
  IntegrityError,
  KeyError,
  NoMatchingIdentity,
  NotFoundError,
  OversizeObjectError,
} from "../errors.ts";
import { type Cipher, sealedSizeLimit } from "../crypto/cipher.ts";
import { type DualDigest, dualDigest } from "../crypto/hash.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import type { RangePlan } from "../format/range.ts";
import { type Store } from "../store/store.ts";
import { type BufferPool, chunkMemory, poolBudget } from "../buffer_pool.ts";
import type { Concurrency } from "./concurrency.ts";
import { inflateOpened, storedSize } from "./compress_step.ts";
import type { Sealing } from "./manifest_io.ts";
import { OrderedWindow } from "./window.ts";

/** A chunk opened and digested, ready for its checks. */
export interface OpenedChunk {
  /** The chunk's plaintext (inflated when the stream is compressed). */
  plain: Uint8Array;
  /** Both digests of `plain`. */
  digest: DualDigest;
}

/** What every chunk of one get shares. */
export interface FetchContext {
  /** The store holding the chunks. */
  store: Store;
  /** The stream's layout (chunk keys are relative to it). */
  layout: StreamLayout;
  /** The validated manifest. */
  manifest: Manifest;
  /** Opens the chunks (the stream's format decided which). */
  cipher: Cipher;
  /** How the manifest object was sealed: a sealed one that opened proves the key. */
  sealing: Sealing;
  /** The chunks wanted. */
  range: RangePlan;
  /** Where chunk buffers come from and go back to. */
  pool: BufferPool;
}

/** Chunks of one get in flight, handed out in index order. */
export class ChunkFetcher {
  readonly #c: FetchContext;
  readonly #window: OrderedWindow<OpenedChunk | undefined>;
  #next: number;
  /** Second-buffer opens (age) run one at a time: see #open. */
  #opening: Promise<unknown> = Promise.resolve();

  /** A fetcher keeping `concurrency.current` chunks in flight; sets the pool's budget. */
  constructor(c: FetchContext, concurrency: Concurrency) {
    this.#c = c;
    this.#next = c.range.first;
    this.#window = new OrderedWindow(() => concurrency.current, { failFast: false });
    // A chunk opened by age needs a second buffer.
    const copies = c.cipher.inPlace || !c.manifest.encrypted ? 1 : 2;
    c.pool.maxFreeBytes = poolBudget(concurrency.max, copies * chunkMemory(c.manifest.chunk_size));
  }

  /** Chunks fetching or opening: for the progress line. */
  get inFlight(): number {
    return this.#window.size;
  }

  /**
   * The next chunk of the range, opened (more are started to fill the window first).
   * @throws {IntegrityError} it does not authenticate and the key is proven right
   * @throws {KeyError} it does not authenticate and nothing proves the key
   */
  async next(record: ChunkRecord): Promise<OpenedChunk> {
    const { manifest, range } = this.#c;
    while (this.#next < range.end && !this.#window.full) {
      const r = manifest.chunks[this.#next++];
      this.#window.add((signal) => this.#fetch(r, signal));
    }
    const opened = await this.#window.next();
    if (opened) return opened;
    throw await openFailure(this.#c, record.index, this.#keyProven(record.index));
  }

  /** Only a chunk opened earlier in this run (or a sealed manifest that opened) proves the key. */
  #keyProven(index: number): boolean {
    return this.#c.sealing !== "plain" || index > this.#c.range.first;
  }

  /** Abort what runs and wait for it (before rethrowing a failure). */
  async close(reason: unknown): Promise<void> {
    await this.#window.close(reason);
  }

  /** Download, open and digest (in the window, in parallel); undefined if it did not open. */
  async #fetch(r: ChunkRecord, signal: AbortSignal): Promise<OpenedChunk | undefined> {
    const sealed = await getChunk(this.#c, r, signal);
    let plain: Uint8Array | undefined;
    try {
      plain = await this.#open(sealed, r);
      if (plain && plain.buffer !== sealed.buffer) this.#c.pool.give(sealed);
    } catch (e) {
      // No identity matches this chunk: a wrong key only if nothing has proven it right yet.
      if (!(e instanceof NoMatchingIdentity && this.#keyProven(r.index))) throw e;
    }
    // Compressed (format 2 --compress): back to the recorded bytes before they are hashed.
    if (plain) plain = await inflateOpened(plain, r, this.#c.layout.name, this.#c.pool);
    return plain ? { plain, digest: await dualDigest(plain) } : undefined;
  }

  #open(sealed: Uint8Array, r: ChunkRecord): Promise<Uint8Array | undefined> {
    const { cipher, manifest, pool } = this.#c;
    const at = { index: r.index, last: r.index === manifest.chunks.length - 1 };
    // In place (AES): the plaintext is the object's middle, one buffer per chunk.
    const room = cipher.inPlace;
    if (room) {
      return cipher.open(sealed, () => sealed.subarray(room.head, sealed.length - room.tail), at);
    }
    // The object's size, not n: one size of buffer recycles for downloads and plaintexts.
    const alloc = (n: number) => pool.take(Math.max(n, sealed.length)).subarray(0, n);
    // Into a second buffer (age): one chunk at a time, so downloads that finish together do
    // not each hold two buffers at once (opening is fast; downloads are not).
    const turn = this.#opening.then(() => cipher.open(sealed, alloc, at));
    this.#opening = turn.catch(() => undefined);
    return turn;
  }
}

/**
 * A chunk did not authenticate. Wrong key and damaged chunk look the same to GCM, so decide
 * from what else we know: a manifest or earlier chunk that opened (`proven`) proves the key
 * right; otherwise another chunk is asked (the last, or chunk 0 when this is the last).
 */
async function openFailure(c: FetchContext, index: number, proven: boolean): Promise<Error> {
  const name = c.layout.name;
  const damaged = new IntegrityError(
    `chunk ${index} of '${name}' fails authentication: the object was altered or damaged`,
  );
  if (proven) return damaged;
  const last = c.manifest.chunks.length - 1;
  const probe = index === last ? 0 : last;
  if (probe !== index) {
    const other = await c.cipher.open(
      await getChunk(c, c.manifest.chunks[probe]),
      undefined,
      { index: probe, last: probe === last },
    );
    if (other) return damaged;
    return new KeyError(`the key given does not decrypt the chunks of '${name}': wrong key`);
  }
  return new KeyError(
    `chunk ${index} of '${name}' does not decrypt: wrong key, or the chunk is damaged`,
  );
}

/**
 * A chunk object, no bigger than its record allows; its absence is damage to the stream, not a
 * missing stream.
 */
export async function getChunk(
  c: Pick<FetchContext, "store" | "layout" | "manifest">,
  record: ChunkRecord,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const { layout } = c;
  // record.s3_key was checked against the layout (and its generation) by validateManifest.
  // A compressed chunk's object holds its stored_size bytes, sealed.
  const maxBytes = sealedSizeLimit(storedSize(record), c.manifest);
  try {
    return await c.store.get(layout.full(record.s3_key), undefined, { signal, maxBytes });
  } catch (e) {
    if (e instanceof OversizeObjectError) throw e.as(`chunk ${record.index} of '${layout.name}'`);
    if (!(e instanceof NotFoundError)) throw e;
    throw new IntegrityError(`chunk ${record.index} of '${layout.name}' is missing from the store`);
  }
}
