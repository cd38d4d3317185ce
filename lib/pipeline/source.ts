/** Fixed-size chunks from a byte source, read straight into each chunk's buffer. */
import { buffers } from "../buffer_pool.ts";
import { type ByteReader, readFull } from "../read_full.ts";

export type { ByteReader };

/**
 * Yields chunks of exactly `chunkSize` bytes; the last may be shorter; nothing for empty input.
 * Each chunk gets its own buffer, filled in place by the reader: no intermediate copies.
 */
export async function* readChunks(
  reader: ByteReader,
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = buffers.take(chunkSize);
    const n = await readFull(reader, buf);
    if (n < chunkSize) {
      // A short tail is copied so its big buffer can go back to the pool.
      const tail = buf.slice(0, n);
      buffers.give(buf);
      if (n > 0) yield tail;
      return;
    }
    yield buf;
  }
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
