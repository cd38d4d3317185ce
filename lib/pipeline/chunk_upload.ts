/**
 * One chunk's way to the store: digest and seal (prepare), then upload with its record.
 * A prepared chunk's sealed bytes are in memory, or in a scratch file (spill.ts) while every
 * upload worker is busy.
 */
import type { Cipher } from "../crypto/cipher.ts";
import type { DualDigest } from "../crypto/hash.ts";
import { toHex } from "../format/chain.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord } from "../format/manifest.ts";
import type { Store } from "../store/store.ts";
import { encodeChunkMeta } from "../resume/chunk_meta.ts";
import type { BufferPool } from "../buffer_pool.ts";
import { frameOf } from "./source.ts";
import type { Spill, Spilled } from "./spill.ts";
import type { Compression } from "../crypto/zstd.ts";
import { compressForSeal } from "./compress_step.ts";

/**
 * The most bytes a sealed chunk object can take: AES adds 28, age 16 per 64 KiB segment plus
 * its header (a few KiB even with post-quantum recipients).
 */
export function maxObjectSize(chunkSize: number): number {
  return chunkSize + Math.ceil(chunkSize / 65536) * 16 + 64 * 1024;
}

/** What every chunk of one put shares. */
export interface ChunkJob {
  /** The store the chunks go to. */
  store: Store;
  /** Where chunks go (the stream's layout, or a fresh generation of it). */
  layout: StreamLayout;
  /** Plaintext bytes per chunk (the last may hold fewer). */
  chunkSize: number;
  /** The stream's cipher (seals the bucket records for resume). */
  cipher: Cipher;
  /** What seals chunks: the stream cipher, or format 2's per-stream one. */
  sealer: Cipher;
  /** The storage class every chunk object is written with. */
  storageClass: string;
  /** The stream format; format 2 chunks carry no bucket record (no resume from the bucket yet). */
  format?: 1 | 2;
  /** `--compress`: each chunk compressed before sealing (format 2, AES: an in-place sealer). */
  compress?: Compression;
  /** Where chunk buffers come from and go back to. */
  pool: BufferPool;
}

/** A chunk as read, its hashes under way. */
export interface ChunkTask {
  /** The chunk's 0-based index. */
  index: number;
  /** True for the stream's final chunk (format 2 binds it into the AAD). */
  last: boolean;
  /** Plaintext; a view with the sealer's in-place room around it in its buffer. */
  chunk: Uint8Array;
  /** Both digests of the chunk's plaintext. */
  digesting: Promise<DualDigest>;
  /** The stream hash is done with this chunk. */
  hashed: Promise<void>;
  /**
   * The chain value after this chunk, once the previous chunks' values and this digest are known.
   */
  chaining: Promise<Uint8Array>;
}

/** A chunk sealed and ready to upload: bytes in memory (`body`) or on disk (`spilled`). */
export interface Prepared {
  /** The chunk's 0-based index. */
  index: number;
  /** Plaintext bytes in the chunk (the record's size). */
  size: number;
  /** Both digests of the plaintext. */
  digest: DualDigest;
  /**
   * SHA-256 of the object as uploaded, when already known (plain chunks); a store that signs
   * payloads (S3) hashes sealed ones itself, one that does not (local) is spared the pass.
   */
  objectSha256?: Uint8Array;
  /** The chain value after this chunk. */
  chaining: Promise<Uint8Array>;
  /** The sealed object, when held in memory. */
  body?: Uint8Array;
  /** The sealed object's scratch file, when it waits on disk instead. */
  spilled?: Spilled;
  /** Set when the chunk was stored compressed: the frame's size (the record's stored_size). */
  storedSize?: number;
}

/** A chunk in the store: its manifest record, the chain after it, and the object's size. */
export interface Stored {
  /** The chunk's manifest record, ETag included. */
  record: ChunkRecord;
  /** The chain value after this chunk. */
  chain: Uint8Array;
  /** Bytes of the stored (sealed) object, for the publish check. */
  objectSize: number;
}

/**
 * Seal a chunk and wait until both hashes are done with its plaintext. Its buffer then holds
 * the object (sealed in place) or is back in the pool (sealed into another one).
 */
export async function prepare(job: ChunkJob, c: ChunkTask): Promise<Prepared> {
  const { sealer } = job;
  const at = { index: c.index, last: c.last };
  // Read now: compression moves the chunk's buffer away and back (its view then reads 0).
  const size = c.chunk.length;
  let digest: DualDigest;
  let body: Uint8Array;
  let storedSize: number | undefined;
  if (sealer.method === null) {
    [digest] = await Promise.all([c.digesting, c.hashed]);
    body = c.chunk;
  } else if (sealer.inPlace) {
    // In place (AES) overwrites the plaintext, so the hashes must have read it first.
    const room = sealer.inPlace;
    [digest] = await Promise.all([c.digesting, c.hashed]);
    const { plain, storedSize: s } = job.compress
      ? await compressForSeal(c.chunk, job.compress, room, job.pool)
      : { plain: c.chunk };
    storedSize = s;
    body = await sealer.seal(plain, () => frameOf(plain, room), at);
  } else {
    // Into a second buffer (age), beside the hashing.
    [digest, body] = await Promise.all([
      c.digesting,
      sealer.seal(c.chunk, (n) => job.pool.take(n), at),
    ]);
    await c.hashed;
    job.pool.give(c.chunk);
  }
  const objectSha256 = body === c.chunk ? digest.sha256 : undefined;
  return { index: c.index, size, digest, objectSha256, chaining: c.chaining, body, storedSize };
}

/**
 * Upload a prepared chunk (reading it back from the spill first if it is there). Its memory
 * goes back to the pool afterwards, never on failure: an aborted write may still hold it.
 */
export async function uploadPrepared(
  job: ChunkJob,
  p: Prepared,
  spill: Spill | undefined,
  signal: AbortSignal,
): Promise<Stored> {
  const key = job.layout.chunkKey(p.index);
  const body = p.body ?? await spill!.read(p.spilled!, job.pool);
  const chain = await p.chaining;
  const record = {
    index: p.index,
    s3_key: key,
    size: p.size,
    sha256: toHex(p.digest.sha256),
    sha3_256: toHex(p.digest.sha3),
    ...(p.storedSize !== undefined ? { stored_size: p.storedSize } : {}),
  };
  // Bucket records serve resume, which format 2 uploads do not offer yet.
  const metadata = job.format === 2 ? {} : await encodeChunkMeta(
    { ...record, chain: toHex(chain), chunk_size: job.chunkSize },
    job.cipher,
  );
  const { etag } = await job.store.put(job.layout.full(key), body, {
    storageClass: job.storageClass,
    sha256: p.objectSha256,
    metadata,
    signal,
  });
  const objectSize = body.length;
  // A compressed chunk read back from the spill sits in a buffer of its frame's size, which
  // nothing would take from the pool again.
  if (p.storedSize === undefined || !p.spilled) job.pool.give(body);
  if (p.spilled) await spill!.remove(p.spilled);
  return { record: { ...record, etag }, chain, objectSize };
}
