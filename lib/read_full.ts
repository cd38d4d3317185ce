/** Fill a buffer from a reader; fewer bytes only at end of input. */

export interface ByteReader {
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
