/**
 * Fill a buffer from a reader; fewer bytes only at end of input.
 * @module
 */

/** Anything with `Deno.Reader`'s `read`: a file, stdin, a producer's pipe. */
export interface ByteReader {
  /** Reads up to `p.length` bytes into `p`: how many, or null at end of input (`Deno.Reader`). */
  read(p: Uint8Array): Promise<number | null>;
}

/** Bytes read into `buf` (== buf.length unless the input ended first). */
export async function readFull(reader: ByteReader, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const r = await reader.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return n;
}
