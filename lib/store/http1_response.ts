/**
 * The response side of http1.ts: a buffered reader over one connection, and the parser that
 * reads a response's head and body under the caller's limits (Content-Length, chunked, or
 * until the server closes). Bytes that arrive past a response stay on the connection for the
 * next one.
 * @module
 */
import { BodyTooLargeError } from "../errors.ts";
import type { Conn } from "./http1_conn.ts";
import type { RequestOptions } from "./http1.ts";

const dec = new TextDecoder();
const MAX_HEAD = 64 * 1024;
/**
 * Error (non-2xx) bodies are read up to this much, then the connection is dropped: S3 error
 * documents are a few hundred bytes, and a hostile or broken server must not make us buffer
 * gigabytes to learn an error code.
 */
const MAX_ERROR_BODY = 1024 * 1024;
/**
 * Successful bodies up to this size (64 KiB) are timed from head to body: http1.ts's check
 * for a server that leaves Nagle on.
 */
export const SMALL_BODY = 64 * 1024;

/** A response as read off the connection, with what the connection's reuse depends on. */
export interface ParsedResponse {
  /** The HTTP status code. */
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The whole body (empty for HEAD, 204 and 304). */
  body: Uint8Array;
  /** The connection may carry another request (HTTP/1.1, no `connection: close`, body framed). */
  keepAlive: boolean;
  /** Milliseconds from the head to the end of a small successful body; 0 otherwise. */
  trailedMs: number;
}

/** A body as read: `cut` when reading stopped at the limit (the body then holds one byte more). */
interface BodyRead {
  body: Uint8Array;
  cut: boolean;
}

/** Buffered reads over a connection, starting with bytes left from before. */
class Reader {
  #buf: Uint8Array;
  constructor(private c: Conn) {
    this.#buf = c.rest;
  }

  /** Read until `\r\n\r\n`; returns the head (without it). */
  async head(): Promise<string> {
    for (;;) {
      const at = indexOfCrlfCrlf(this.#buf);
      if (at >= 0) {
        const text = dec.decode(this.#buf.subarray(0, at));
        this.#buf = this.#buf.subarray(at + 4);
        return text;
      }
      if (this.#buf.length > MAX_HEAD) throw new Error("HTTP response head too large");
      if (!(await this.#more())) {
        throw new Deno.errors.UnexpectedEof("connection closed before a response");
      }
    }
  }

  /** Exactly n bytes, read straight into `into` (if n long) or one new buffer. */
  async exact(n: number, into?: Uint8Array): Promise<Uint8Array> {
    const out = into?.length === n ? into : new Uint8Array(n);
    const have = Math.min(n, this.#buf.length);
    out.set(this.#buf.subarray(0, have));
    this.#buf = this.#buf.subarray(have);
    let off = have;
    while (off < n) {
      const r = await this.#read(out.subarray(off));
      if (r === null) {
        throw new Deno.errors.UnexpectedEof(`connection closed after ${off} of ${n} body bytes`);
      }
      off += r;
    }
    return out;
  }

  async line(): Promise<string> {
    for (;;) {
      const at = this.#buf.indexOf(0x0a);
      if (at >= 0) {
        const text = dec.decode(this.#buf.subarray(0, at)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(at + 1);
        return text;
      }
      if (!(await this.#more())) {
        throw new Deno.errors.UnexpectedEof("connection closed in a chunked body");
      }
    }
  }

  /**
   * Everything until the peer closes, or until more than `limit` bytes have arrived (`cut`:
   * then the body holds more than `limit` bytes, as proof, and nothing more is read).
   */
  async toEnd(limit = Infinity): Promise<BodyRead> {
    const parts = [this.#buf];
    let total = this.#buf.length;
    this.#buf = new Uint8Array(0);
    while (total <= limit) {
      const b = new Uint8Array(64 * 1024);
      const r = await this.#read(b);
      if (r === null) return { body: concat(parts), cut: false };
      parts.push(b.subarray(0, r));
      total += r;
    }
    return { body: concat(parts), cut: true };
  }

  /** Leave unread bytes for the next response on this connection. */
  finish(): void {
    this.c.rest = this.#buf.slice();
  }

  async #read(into: Uint8Array): Promise<number | null> {
    const pacer = this.c.pacer;
    if (pacer) {
      into = into.subarray(0, Math.min(into.length, pacer.slice));
      await pacer.pace(into.length);
      this.c.touch?.();
    }
    const r = await this.c.conn.read(into);
    if (r !== null) {
      this.c.received += r;
      this.c.touch?.();
    }
    return r;
  }

  async #more(): Promise<boolean> {
    const b = new Uint8Array(16 * 1024);
    const r = await this.#read(b);
    if (r === null) return false;
    this.#buf = concat([this.#buf, b.subarray(0, r)]);
    return true;
  }
}

/** Read one response to `method` off `c`, its body under `opts`' limit and into its sink. */
export async function readResponse(
  c: Conn,
  method: string,
  opts: RequestOptions,
): Promise<ParsedResponse> {
  const r = new Reader(c);
  const { status, headers, http11, headAt } = await readHead(r);
  let keepAlive = http11 && !/close/i.test(headers.get("connection") ?? "");
  if (method === "HEAD" || status === 204 || status === 304) {
    r.finish();
    return { status, headers, body: new Uint8Array(0), keepAlive, trailedMs: 0 };
  }
  const ok = status >= 200 && status < 300;
  // A successful body over the caller's limit is refused; an error body is cut short instead
  // (its S3 code comes first), and the connection dropped rather than drained.
  const limit = ok ? opts.maxBody ?? Infinity : MAX_ERROR_BODY;
  const { chunked, length } = framing(headers);
  // The sink sees the head before any body byte is read, and may refuse it by throwing (it
  // knows more, e.g. the whole object's size in Content-Range).
  const into = ok ? opts.sink?.(length, headers, status) : undefined;
  if (ok && length !== undefined && length > limit) {
    throw new BodyTooLargeError(limit, length, true);
  }
  let read: BodyRead;
  if (chunked) read = await readChunked(r, limit);
  else if (length !== undefined) {
    read = length > limit
      ? { body: await r.exact(limit), cut: true }
      : { body: await r.exact(length, into), cut: false };
  } else {
    read = await r.toEnd(limit);
    keepAlive = false;
  }
  if (read.cut) {
    if (ok) throw new BodyTooLargeError(limit, read.body.length, false);
    keepAlive = false;
  }
  r.finish();
  const small = ok && read.body.length > 0 && read.body.length <= SMALL_BODY;
  const trailedMs = small ? performance.now() - headAt : 0;
  return { status, headers, body: read.body, keepAlive, trailedMs };
}

/**
 * The status line and headers (past any 100 Continue); `http11` for an HTTP/1.1 answer, and
 * `headAt` when the first head arrived (the Nagle clock counts from it).
 */
async function readHead(
  r: Reader,
): Promise<{ status: number; headers: Headers; http11: boolean; headAt: number }> {
  let head = await r.head();
  const headAt = performance.now();
  // 100 Continue carries nothing for us.
  while (/^HTTP\/1\.[01] 100 /.test(head)) head = await r.head();
  const [statusLine, ...lines] = head.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP/1.x response: ${statusLine.slice(0, 40)}`);
  const headers = new Headers();
  for (const l of lines) {
    const colon = l.indexOf(":");
    if (colon > 0) headers.append(l.slice(0, colon).trim(), l.slice(colon + 1).trim());
  }
  return { status: Number(m[2]), headers, http11: m[1] === "1", headAt };
}

/** How the body is framed: chunked, or Content-Length (undefined: until the server closes). */
function framing(headers: Headers): { chunked: boolean; length: number | undefined } {
  const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
  const lengthText = chunked ? null : headers.get("content-length");
  const length = lengthText === null ? undefined : Number(lengthText);
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
    throw new Error(`bad Content-Length '${lengthText!.slice(0, 40)}'`);
  }
  return { chunked, length };
}

/**
 * A chunked body, stopped (`cut`, with the first `limit` bytes) as soon as it would pass
 * `limit`: a chunk's size is checked before the chunk is read.
 */
async function readChunked(r: Reader, limit: number): Promise<BodyRead> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const size = parseInt(await r.line(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error("bad chunked encoding");
    if (size === 0) {
      while ((await r.line()) !== "");
      return { body: concat(parts), cut: false };
    }
    if (total + size > limit) {
      // One byte past the limit is proof enough; the rest is never read.
      parts.push(await r.exact(limit - total + 1));
      return { body: concat(parts), cut: true };
    }
    parts.push(await r.exact(size));
    total += size;
    await r.line();
  }
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
