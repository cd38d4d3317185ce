/** Fixed-size chunks from a byte source, read straight into each chunk's buffer. */
import { type BufferPool, buffers } from "../buffer_pool.ts";
import { type ByteReader, readFull } from "../read_full.ts";

export type { ByteReader };

/**
 * Yields chunks of exactly `chunkSize` bytes; the last may be shorter; nothing for empty input.
 * Each chunk gets its own buffer, filled in place by the reader: no intermediate copies.
 * `room` leaves spare bytes around each chunk inside its buffer, so a cipher that works in
 * place (AES-GCM: nonce before, tag after) needs no second buffer: see `frameOf`. Buffers
 * come from `pool` (the process-wide one by default).
 */
export async function* readChunks(
  reader: ByteReader,
  chunkSize: number,
  room: Room = { head: 0, tail: 0 },
  pool: BufferPool = buffers,
): AsyncGenerator<Uint8Array> {
  const span = room.head + chunkSize + room.tail;
  for (;;) {
    const buf = pool.take(span);
    const n = await readFull(reader, buf.subarray(room.head, room.head + chunkSize));
    if (n < chunkSize) {
      // A short tail is copied so its big buffer can go back to the pool.
      const tail = buf.slice(0, room.head + n + room.tail);
      pool.give(buf);
      if (n > 0) yield tail.subarray(room.head, room.head + n);
      return;
    }
    yield buf.subarray(room.head, room.head + chunkSize);
  }
}

/** Spare bytes before and after a chunk in its buffer. */
export interface Room {
  /** Bytes kept free before the chunk (the cipher's header, e.g. the AES nonce). */
  head: number;
  /** Bytes kept free after the chunk (the cipher's trailer, e.g. the AES tag). */
  tail: number;
}

/** A chunk from `readChunks` widened by the room it was read with. */
export function frameOf(chunk: Uint8Array, room: Room): Uint8Array {
  return new Uint8Array(
    chunk.buffer as ArrayBuffer,
    chunk.byteOffset - room.head,
    room.head + chunk.length + room.tail,
  );
}

/** Write all bytes, turning a closed pipe into `onClosed()`'s error. */
export async function writeAll(
  w: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
  onClosed: () => Error,
): Promise<void> {
  let off = 0;
  try {
    while (off < bytes.length) off += await w.write(bytes.subarray(off));
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset) {
      throw onClosed();
    }
    throw e;
  }
}
