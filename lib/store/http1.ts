/**
 * A small HTTP/1.1 client over Deno.connect / Deno.connectTls, for S3 transfers only.
 *
 * Why not fetch: measured here, Deno's fetch spent ~10 CPU-seconds per GiB moving 64 MiB
 * bodies to and from Ceph (curl: ~1). Here a body goes to the socket in one write from the
 * caller's buffer, and a response body is read straight into one buffer of its
 * Content-Length. Connections are kept alive and reused per origin.
 *
 * Every exchange runs under an idle watchdog: when no byte moves in either direction for
 * `timeoutMs` (a stalled server, a black-holed connection), the socket is closed and the
 * attempt fails with TimeoutError, which the store treats as transient and retries. An idle
 * timer, not a total one: a slow but moving 5 GiB transfer must not be cut off.
 * @module
 */

/** A response read whole: status, headers and body. */
export interface HttpResponse {
  /** The HTTP status code. */
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The response body, read whole (into the buffer a `sink` gave, if it gave one). */
  body: Uint8Array;
}

/**
 * Called with a successful (2xx) response's head before any of its body is read. It may throw
 * to refuse the body (the connection is then dropped, not drained), e.g. when Content-Range
 * says the object is bigger than allowed. Given a length (Content-Length), it may return where
 * the body should land, so a caller reads straight into a pooled buffer or into its slot of a
 * larger one; undefined = a new buffer. `length` is undefined for a body without
 * Content-Length (chunked, or until the server closes).
 */
export type BodySink = (
  length: number | undefined,
  headers: Headers,
  status: number,
) => Uint8Array | undefined;

/** Per-request limits and hooks beyond the request itself. */
export interface RequestOptions {
  /** Aborts the exchange; the connection is closed rather than reused. */
  signal?: AbortSignal;
  /** Chooses where a successful body lands, or refuses it (see {@linkcode BodySink}). */
  sink?: BodySink;
  /**
   * The most bytes a successful response's body may have. A larger Content-Length fails with
   * BodyTooLargeError before the body is read; a body without one is read no further than
   * this. Either way the connection is closed, not drained. Absent: no limit.
   */
  maxBody?: number;
}

/**
 * A successful response's body was over `RequestOptions.maxBody`: `size` is its Content-Length
 * when `declared`, else the bytes that had arrived when reading stopped (a lower bound).
 */
export class BodyTooLargeError extends Error {
  /** The refusal of a body of `size` bytes over `limit`; `declared` when Content-Length said so. */
  constructor(readonly limit: number, readonly size: number, readonly declared: boolean) {
    super(
      declared
        ? `response body of ${size} bytes (Content-Length) is over the limit of ${limit}`
        : `response body without Content-Length ran past the limit of ${limit} bytes`,
    );
  }
}

import type { Pacer } from "./bandwidth.ts";
import {
  type Conn,
  connect,
  DEFAULT_TIMEOUT_MS,
  safeClose,
  TimeoutError,
  Watchdog,
} from "./http1_conn.ts";
import { DIRECT, type Network } from "./network.ts";

export { DEFAULT_TIMEOUT_MS, TimeoutError };

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_HEAD = 64 * 1024;
/**
 * Error (non-2xx) bodies are read up to this much, then the connection is dropped: S3 error
 * documents are a few hundred bytes, and a hostile or broken server must not make us buffer
 * gigabytes to learn an error code.
 */
const MAX_ERROR_BODY = 1024 * 1024;
const IDLE_PER_ORIGIN = 32;
/** Bytes per socket write, so that the watchdog sees progress during a large body. */
const WRITE_SLICE = 1024 * 1024;

/** A keep-alive HTTP/1.1 client (TLS for https:), one pool of idle connections per origin. */
export class Http1Client {
  readonly #idle = new Map<string, Conn[]>();
  readonly #keepAlive: boolean;
  readonly #timeoutMs: number;
  readonly #network: Network;
  /** Per origin: small bodies that trailed their response head by a delayed-ACK wait. */
  readonly #nagling = new Map<string, number>();
  /**
   * `--bandwidth-limit`: every read and write moves at most a slice, charged before it moves,
   * so bodies flow at the limit however big they are.
   */
  pacer?: Pacer;

  /**
   * A client that reuses connections unless `keepAlive` is false, idle-timing each at
   * `timeoutMs`, connecting as `network` says (proxies, CAs; default direct, Deno's roots).
   */
  constructor(keepAlive = true, timeoutMs = DEFAULT_TIMEOUT_MS, network: Network = DIRECT) {
    this.#keepAlive = keepAlive;
    this.#timeoutMs = timeoutMs;
    this.#network = network;
  }

  /** Send a request with `headers` (already signed) and read the whole response. */
  async request(
    method: string,
    url: URL,
    headers: Headers,
    body: Uint8Array | undefined,
    opts: RequestOptions = {},
  ): Promise<HttpResponse> {
    const { signal } = opts;
    const fresh = method === "GET" && (opts.maxBody ?? Infinity) <= SMALL_BODY &&
      (this.#nagling.get(url.origin) ?? 0) >= NAGLE_STRIKES;
    if (fresh) {
      headers = new Headers(headers);
      headers.set("connection", "close");
    }
    const reused = fresh ? undefined : this.#take(url.origin);
    const send = async (c: Conn) => await this.#exchange(c, method, url, headers, body, opts);
    try {
      return await send(reused ?? await connect(url, this.#timeoutMs, this.#network));
    } catch (e) {
      // A kept-alive connection the server had already closed: one fresh try is safe, since
      // the server never answered. Only if not one response byte came back: a response cut
      // short means the request may have been processed (a retry is the store's decision).
      if (reused && reused.received === 0 && !signal?.aborted && isStale(e)) {
        return await send(await connect(url, this.#timeoutMs, this.#network));
      }
      throw e;
    }
  }

  /** Close idle connections (the process may then exit without waiting on them). */
  close(): void {
    for (const list of this.#idle.values()) for (const c of list) c.conn.close();
    this.#idle.clear();
  }

  #take(origin: string): Conn | undefined {
    return this.#idle.get(origin)?.pop();
  }

  #give(origin: string, c: Conn): void {
    const list = this.#idle.get(origin) ?? [];
    if (list.length >= IDLE_PER_ORIGIN) return c.conn.close();
    list.push(c);
    this.#idle.set(origin, list);
  }

  async #exchange(
    c: Conn,
    method: string,
    url: URL,
    headers: Headers,
    body: Uint8Array | undefined,
    opts: RequestOptions,
  ): Promise<HttpResponse> {
    const { signal } = opts;
    const onAbort = () => c.conn.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    const watchdog = new Watchdog(this.#timeoutMs, () => safeClose(c.conn));
    c.touch = () => watchdog.touch();
    c.received = 0;
    c.pacer = this.pacer;
    let keep = false;
    try {
      let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
      headers.forEach((v, k) => {
        if (k !== "host" && k !== "content-length") head += `${k}: ${v}\r\n`;
      });
      head += `content-length: ${body?.length ?? 0}\r\n\r\n`;
      await writeAll(c, enc.encode(head));
      if (body?.length) await writeAll(c, body);
      const res = await readResponse(c, method, opts);
      // Under --bandwidth-limit a body trails its head by the pacing: that is not Nagle.
      if (res.trailedMs >= NAGLE_MS && !c.pacer) {
        this.#nagling.set(url.origin, (this.#nagling.get(url.origin) ?? 0) + 1);
      }
      keep = res.keepAlive;
      // Asked to close: let the server close first, so the TIME_WAIT is its socket, not one
      // of our ports (thousands of small GETs would otherwise use up the ephemeral range).
      if (!keep && headers.get("connection") === "close") await drainToEof(c);
      return { status: res.status, headers: res.headers, body: res.body };
    } catch (e) {
      // The watchdog closed the socket under a pending read or write: say what happened.
      if (watchdog.fired && !signal?.aborted) {
        throw new TimeoutError(
          `no data moved for ${this.#timeoutMs / 1000} s` +
            (c.received > 0 ? ` after ${c.received} response bytes` : ""),
          { cause: e },
        );
      }
      throw e;
    } finally {
      watchdog.stop();
      c.touch = undefined;
      signal?.removeEventListener("abort", onAbort);
      if (keep && this.#keepAlive && !signal?.aborted && !watchdog.fired) {
        this.#give(url.origin, c);
      } else safeClose(c.conn);
    }
  }
}

/**
 * Small GETs on a kept-alive connection to a server that leaves Nagle on (Ceph RGW's beast
 * frontend without `tcp_nodelay=1`): it writes the head and the body separately, holds the
 * body until the head is ACKed, and our kernel, seeing request/response traffic, delays that
 * ACK by its 40 ms timer (measured here: 46 ms per 4 KiB GET, HEADs 2 ms; 3-8 ms once RGW had
 * tcp_nodelay=1). Deno gives no TCP_QUICKACK, but a fresh connection starts in quick-ACK mode:
 * after NAGLE_STRIKES such bodies on an origin, GETs of at most SMALL_BODY bytes go on a new
 * connection each, closed by the server.
 */
const SMALL_BODY = 64 * 1024;
const NAGLE_MS = 30;
const NAGLE_STRIKES = 3;

/** Wait (briefly) for the server to close a connection it was asked to close. */
async function drainToEof(c: Conn): Promise<void> {
  const b = new Uint8Array(1024);
  const timer = setTimeout(() => safeClose(c.conn), 1000);
  try {
    while ((await c.conn.read(b)) !== null);
  } catch {
    // closed under us: nothing more to wait for
  } finally {
    clearTimeout(timer);
  }
}

function isStale(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.UnexpectedEof ||
    (e instanceof Error && /closed before/.test(e.message));
}

async function writeAll(c: Conn, bytes: Uint8Array): Promise<void> {
  const slice = c.pacer ? Math.min(WRITE_SLICE, c.pacer.slice) : WRITE_SLICE;
  let off = 0;
  while (off < bytes.length) {
    const n = Math.min(slice, bytes.length - off);
    if (c.pacer) {
      await c.pacer.pace(n);
      c.touch?.(); // waiting for the limit is not the server going quiet
    }
    off += await c.conn.write(bytes.subarray(off, off + n));
    c.touch?.();
  }
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
  async toEnd(limit = Infinity): Promise<{ body: Uint8Array; cut: boolean }> {
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

async function readResponse(
  c: Conn,
  method: string,
  opts: RequestOptions,
): Promise<
  { status: number; headers: Headers; body: Uint8Array; keepAlive: boolean; trailedMs: number }
> {
  const r = new Reader(c);
  let head = await r.head();
  const headAt = performance.now();
  // 100 Continue carries nothing for us.
  while (/^HTTP\/1\.[01] 100 /.test(head)) head = await r.head();
  const [statusLine, ...lines] = head.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP/1.x response: ${statusLine.slice(0, 40)}`);
  const status = Number(m[2]);
  const headers = new Headers();
  for (const l of lines) {
    const colon = l.indexOf(":");
    if (colon > 0) headers.append(l.slice(0, colon).trim(), l.slice(colon + 1).trim());
  }
  let keepAlive = m[1] === "1" && !/close/i.test(headers.get("connection") ?? "");
  if (method === "HEAD" || status === 204 || status === 304) {
    r.finish();
    return { status, headers, body: new Uint8Array(0), keepAlive, trailedMs: 0 };
  }
  const ok = status >= 200 && status < 300;
  // A successful body over the caller's limit is refused; an error body is cut short instead
  // (its S3 code comes first), and the connection dropped rather than drained.
  const limit = ok ? opts.maxBody ?? Infinity : MAX_ERROR_BODY;
  const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
  const lengthText = chunked ? null : headers.get("content-length");
  const length = lengthText === null ? undefined : Number(lengthText);
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
    throw new Error(`bad Content-Length '${lengthText!.slice(0, 40)}'`);
  }
  // The sink sees the head before any body byte is read, and may refuse it by throwing (it
  // knows more, e.g. the whole object's size in Content-Range).
  const into = ok ? opts.sink?.(length, headers, status) : undefined;
  if (ok && length !== undefined && length > limit) {
    throw new BodyTooLargeError(limit, length, true);
  }
  let read: { body: Uint8Array; cut: boolean };
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
 * A chunked body, stopped (`cut`, with the first `limit` bytes) as soon as it would pass
 * `limit`: a chunk's size is checked before the chunk is read.
 */
async function readChunked(r: Reader, limit: number): Promise<{ body: Uint8Array; cut: boolean }> {
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
