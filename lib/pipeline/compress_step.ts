/**
 * The per-chunk steps of compressed format 2 streams (`put --compress zstd`): compress a hashed
 * chunk before it is sealed (from chunk_upload.ts's prepare), and decompress an opened chunk
 * before it is verified (from get_stream.ts). Hashes and the chain are over the uncompressed
 * bytes, so get checks what the user gave, whatever the stored bytes were.
 */
import { IntegrityError } from "../errors.ts";
import type { ChunkRecord } from "../format/manifest.ts";
import { type Compression, ZstdError, zstdPack, zstdUnpack } from "../crypto/zstd.ts";
import type { BufferPool } from "../buffer_pool.ts";
import { frameOf, type Room } from "./source.ts";

/** Bytes a chunk's object holds before sealing: its `stored_size` when compressed. */
export function storedSize(r: ChunkRecord): number {
  return r.stored_size ?? r.size;
}

/** What prepare() seals: the frame of a compressible chunk, or the chunk as it is. */
export interface ToSeal {
  /** A view with `room` around it in its own buffer (the sealer works in place). */
  plain: Uint8Array;
  /** Set when `plain` is a zstd frame: the record's stored_size. */
  storedSize?: number;
}

/**
 * Compress a chunk whose hashes are done (its buffer moves to a worker and back: nothing else
 * may use it meanwhile). The frame is written into a pooled buffer of the chunk's own buffer
 * size, so a compressed chunk costs the same one buffer as any other, recycled the same way
 * (a buffer per frame size would never be reused and wait for V8 to free it). Of the two
 * buffers, the one not sealed goes back to `pool`.
 */
export async function compressForSeal(
  chunk: Uint8Array,
  c: Compression,
  room: Room,
  pool: BufferPool,
): Promise<ToSeal> {
  const packed = await zstdPack(chunk, c.level, room, pool.take(frameOf(chunk, room).length));
  if (!packed.frame) {
    pool.give(packed.out);
    return { plain: packed.chunk };
  }
  pool.give(packed.chunk);
  return { plain: packed.frame, storedSize: packed.frame.length };
}

/**
 * An opened chunk as its record says it was stored: decompressed into a buffer from `pool` of the
 * record's size when it has a stored_size, else as it is. Decompression stops at `size` bytes
 * (a frame asking for more fails at once, whatever it declares), so a bomb is exit 4, never a
 * big allocation; fewer bytes are left to the caller's size check.
 * @throws {IntegrityError} the frame expands beyond the record's size, or does not decode
 */
export async function inflateOpened(
  opened: Uint8Array,
  r: ChunkRecord,
  name: string,
  pool: BufferPool,
): Promise<Uint8Array> {
  if (r.stored_size === undefined) return opened;
  try {
    return await zstdUnpack(opened, pool.take(r.size));
  } catch (e) {
    if (!(e instanceof ZstdError)) throw e;
    throw new IntegrityError(
      `chunk ${r.index} of '${name}' ` +
        (e.kind === "expands"
          ? `decompresses to more than its recorded ${r.size} bytes`
          : `does not decompress: ${e.message}`),
    );
  }
}
