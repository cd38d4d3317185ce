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

import { BodyTooLargeError } from "../errors.ts";
import type { Pacer } from "./bandwidth.ts";
import {
  type Conn,
  connect,
  DEFAULT_TIMEOUT_MS,
  safeClose,
  TimeoutError,
  Watchdog,
} from "./http1_conn.ts";
import { readResponse, SMALL_BODY } from "./http1_response.ts";
import { DIRECT, type Network } from "./network.ts";

/** A successful body over `maxBody` (lib/errors.ts), and the transport's timeout and its error. */
export { BodyTooLargeError, DEFAULT_TIMEOUT_MS, TimeoutError };

const enc = new TextEncoder();
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
      await writeRequest(c, method, url, headers, body);
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
      if (watchdog.fired && !signal?.aborted) throw this.#timedOut(c, e);
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

  /** The error of an exchange the idle watchdog cut (`cause`: what the closed socket threw). */
  #timedOut(c: Conn, cause: unknown): TimeoutError {
    return new TimeoutError(
      `no data moved for ${this.#timeoutMs / 1000} s` +
        (c.received > 0 ? ` after ${c.received} response bytes` : ""),
      { cause },
    );
  }
}

/** The request line, `headers` (host and content-length ours) and the body, from its buffer. */
async function writeRequest(
  c: Conn,
  method: string,
  url: URL,
  headers: Headers,
  body: Uint8Array | undefined,
): Promise<void> {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  headers.forEach((v, k) => {
    if (k !== "host" && k !== "content-length") head += `${k}: ${v}\r\n`;
  });
  head += `content-length: ${body?.length ?? 0}\r\n\r\n`;
  await writeAll(c, enc.encode(head));
  if (body?.length) await writeAll(c, body);
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
