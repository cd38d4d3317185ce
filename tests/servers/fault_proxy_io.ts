/** Byte plumbing for the fault proxy: buffered reads of heads and bodies, and a seeded PRNG. */

export class BufReader {
  #buf: Uint8Array = new Uint8Array(0);
  constructor(private conn: Deno.Conn) {}

  /** The request/response head including its blank line; null at a clean EOF. */
  async head(): Promise<Uint8Array | null> {
    for (;;) {
      const at = indexOfCrlfCrlf(this.#buf);
      if (at >= 0) {
        const h = this.#buf.slice(0, at + 4);
        this.#buf = this.#buf.subarray(at + 4);
        return h;
      }
      const more = await this.#read();
      if (more === null) {
        if (this.#buf.length === 0) return null;
        throw new Error("connection closed inside a head");
      }
      this.#buf = concat([this.#buf, more]);
    }
  }

  /** Exactly n bytes, read into one buffer (no re-copying as they arrive). */
  async exact(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let off = Math.min(n, this.#buf.length);
    out.set(this.#buf.subarray(0, off));
    this.#buf = this.#buf.subarray(off);
    while (off < n) {
      const r = await this.conn.read(out.subarray(off));
      if (r === null) throw new Error("connection closed inside a body");
      off += r;
    }
    return out;
  }

  async toEnd(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [this.#buf];
    for (let more = await this.#read(); more; more = await this.#read()) parts.push(more);
    this.#buf = new Uint8Array(0);
    return concat(parts);
  }

  async #read(): Promise<Uint8Array | null> {
    const b = new Uint8Array(256 * 1024);
    const r = await this.conn.read(b);
    return r === null ? null : b.subarray(0, r);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

export function safeClose(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

export function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** Small seeded PRNG: the same seed gives the same fault sequence (per request order). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
