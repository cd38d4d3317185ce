/**
 * A fault-injecting HTTP/1.1 proxy for tests, in front of a real S3 (Ceph RGW) on 127.0.0.1.
 *
 * Requests are forwarded byte for byte (head and body unchanged, Host included), so SigV4
 * signatures made for the proxy's host:port still verify upstream: Ceph's path-style
 * addressing accepts any Host. Each request gets its own upstream connection with an added
 * `connection: close` (not a signed header), so the response is simply everything upstream
 * sends until it closes; the client side stays kept-alive.
 *
 * At `rate`, a request is answered with a fault instead, chosen by a seeded PRNG:
 *   reset-request   part of the request body reaches upstream, then both sockets close
 *   reset-response  the full request is served, part of the response sent, then closed
 *   error-500       500 InternalError (request body consumed, never forwarded)
 *   slowdown-503    503 SlowDown, every other one with Retry-After: 1
 *   stall           the response is held (before its head or halfway through its body)
 *                   for `stallMs`, longer than the client's idle timeout, then closed
 *   truncate        Content-Length N but N/2 bytes, then closed
 * Bounded: the listener closes itself after `lifetimeMs` even if a test forgets to.
 */

export const FAULT_KINDS = [
  "reset-request",
  "reset-response",
  "error-500",
  "slowdown-503",
  "stall",
  "truncate",
] as const;
export type FaultKind = typeof FAULT_KINDS[number];

export interface FaultProxyOptions {
  /** Upstream origin, e.g. http://127.0.0.1:43851 (plain HTTP only). */
  upstream: string;
  /** Probability of a fault per request (0..1). */
  rate?: number;
  seed?: number;
  /** Kinds to choose from (default: all). */
  kinds?: readonly FaultKind[];
  /** Faults for the first requests, in order ("none" = forward), before `rate` applies. */
  plan?: (FaultKind | "none")[];
  stallMs?: number;
  lifetimeMs?: number;
}

import { BufReader, indexOfCrlfCrlf, mulberry32, safeClose, writeAll } from "./fault_proxy_io.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export class FaultProxy {
  readonly port: number;
  /** Requests received (each retry counts again). */
  requests = 0;
  readonly faults: Record<FaultKind, number> = Object.fromEntries(
    FAULT_KINDS.map((k) => [k, 0]),
  ) as Record<FaultKind, number>;
  /** Requests by method, e.g. {PUT: 40, GET: 41}. */
  readonly methods: Record<string, number> = {};
  readonly #listener: Deno.Listener;
  readonly #opts: Required<Omit<FaultProxyOptions, "plan">> & { plan: (FaultKind | "none")[] };
  readonly #upstream: { hostname: string; port: number };
  readonly #conns = new Set<Deno.Conn>();
  /** Pending stalls: close() ends them at once. */
  readonly #sleepers = new Set<() => void>();
  readonly #lifetime: ReturnType<typeof setTimeout>;
  #rng: () => number;
  #closed = false;
  readonly #serving: Promise<void>;

  constructor(opts: FaultProxyOptions) {
    this.#opts = {
      rate: 0,
      seed: 1,
      kinds: FAULT_KINDS,
      plan: [],
      stallMs: 4000,
      lifetimeMs: 10 * 60_000,
      ...opts,
    };
    const u = new URL(opts.upstream);
    this.#upstream = { hostname: u.hostname, port: Number(u.port) || 80 };
    this.#rng = mulberry32(this.#opts.seed);
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#lifetime = setTimeout(() => this.close(), this.#opts.lifetimeMs);
    this.#serving = this.#accept();
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get faultCount(): number {
    return Object.values(this.faults).reduce((a, b) => a + b, 0);
  }

  /** Change the fault rate (e.g. 0 for set-up and checks). */
  set rate(r: number) {
    this.#opts.rate = r;
  }

  async close(): Promise<void> {
    if (this.#closed) return await this.#serving;
    this.#closed = true;
    clearTimeout(this.#lifetime);
    for (const wake of this.#sleepers) wake();
    this.#listener.close();
    for (const c of this.#conns) safeClose(c);
    await this.#serving;
  }

  async #accept(): Promise<void> {
    const handlers: Promise<void>[] = [];
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        handlers.push(
          this.#serve(conn).finally(() => {
            this.#conns.delete(conn);
            safeClose(conn);
          }),
        );
      }
    } catch {
      // listener closed
    }
    await Promise.allSettled(handlers);
  }

  #pick(): FaultKind | "none" {
    const planned = this.#opts.plan[this.requests - 1];
    if (planned) return planned;
    if (this.#rng() >= this.#opts.rate) return "none";
    const kinds = this.#opts.kinds;
    return kinds[Math.floor(this.#rng() * kinds.length)];
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const reader = new BufReader(client);
    try {
      while (!this.#closed) {
        const head = await reader.head();
        if (head === null) return;
        const text = dec.decode(head);
        const method = text.slice(0, text.indexOf(" "));
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
        this.requests++;
        this.methods[method] = (this.methods[method] ?? 0) + 1;
        let fault = this.#pick();
        // A HEAD (or an empty answer) has no body to cut short: reset it instead.
        if (fault === "reset-request" && length === 0) fault = "reset-response";
        if (fault !== "none") this.faults[fault]++;
        if (fault === "reset-request") {
          const up = await this.#connect();
          try {
            await writeAll(up, head);
            await writeAll(up, await reader.exact(Math.floor(length / 2)));
          } finally {
            safeClose(up);
          }
          return;
        }
        const body = await reader.exact(length);
        if (fault === "error-500" || fault === "slowdown-503") {
          await this.#injectError(client, fault, method);
          continue;
        }
        if (!await this.#relay(client, fault, await this.#forward(head, body))) return;
      }
    } catch {
      // the client went away (e.g. it gave up on a stalled response): nothing to do
    }
  }

  /** Answer with an S3 error of our own, never reaching upstream (a SlowDown may Retry-After). */
  async #injectError(client: Deno.Conn, fault: "error-500" | "slowdown-503", method: string) {
    const code = fault === "error-500" ? "InternalError" : "SlowDown";
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
      `<Message>injected by the fault proxy</Message></Error>`;
    const retryAfter = fault === "slowdown-503" && this.faults[fault] % 2 === 0
      ? "retry-after: 1\r\n"
      : "";
    const status = fault === "error-500" ? "500 Internal Server Error" : "503 Service Unavailable";
    const bytes = enc.encode(xml);
    await writeAll(
      client,
      enc.encode(
        `HTTP/1.1 ${status}\r\ncontent-type: application/xml\r\n${retryAfter}` +
          `content-length: ${bytes.length}\r\n\r\n`,
      ),
    );
    if (method !== "HEAD") await writeAll(client, bytes);
  }

  /**
   * Pass upstream's `response` on to the client, damaged as `fault` says; false when the
   * connection is done with (reset, truncated or stalled).
   */
  async #relay(client: Deno.Conn, fault: FaultKind | "none", response: Uint8Array) {
    const split = indexOfCrlfCrlf(response) + 4;
    const resHead = response.subarray(0, split);
    const resBody = response.subarray(split);
    if (fault === "none") {
      await writeAll(client, stripConnectionClose(resHead));
      await writeAll(client, resBody);
      return true;
    }
    if (fault === "reset-response" || (fault === "truncate" && resBody.length < 2)) {
      // Cut inside the head when there is no body to cut.
      const cut = resBody.length >= 2 ? split + resBody.length / 2 : split / 2;
      await writeAll(client, response.subarray(0, Math.floor(cut)));
      return false;
    }
    if (fault === "truncate") {
      await writeAll(client, stripConnectionClose(resHead));
      await writeAll(client, resBody.subarray(0, Math.floor(resBody.length / 2)));
      return false;
    }
    // stall: nothing, or the head and half the body; then silence; then close.
    if (this.#rng() < 0.5 && resBody.length >= 2) {
      await writeAll(client, stripConnectionClose(resHead));
      await writeAll(client, resBody.subarray(0, Math.floor(resBody.length / 2)));
    }
    await this.#sleep(this.#opts.stallMs);
    return false;
  }

  /** Send one request upstream on a fresh connection and read the whole response. */
  async #forward(head: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
    const up = await this.#connect();
    try {
      const end = indexOfCrlfCrlf(head);
      await writeAll(up, head.subarray(0, end + 2));
      await writeAll(up, enc.encode("connection: close\r\n\r\n"));
      await writeAll(up, body);
      return await new BufReader(up).toEnd();
    } finally {
      safeClose(up);
    }
  }

  async #connect(): Promise<Deno.Conn> {
    const up = await Deno.connect(this.#upstream);
    this.#conns.add(up);
    return up;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.#sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}

/** Ceph answers our `connection: close` with one; the client's connection stays open. */
function stripConnectionClose(head: Uint8Array): Uint8Array {
  return enc.encode(dec.decode(head).replace(/\r\nconnection:[^\r]*/i, ""));
}
