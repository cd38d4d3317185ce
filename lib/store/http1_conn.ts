/**
 * Connections for http1.ts: connecting with a timeout, and the idle watchdog that closes a
 * connection on which no byte has moved for the timeout (a stalled or black-holed server).
 * What a connection goes through (proxy, TLS trust) is lib/store/network.ts's.
 * @module
 */
import { NetworkError, TimeoutError } from "../errors.ts";
import type { Pacer } from "./bandwidth.ts";
import { DIRECT, type Network } from "./network.ts";
import { proxyFor } from "./proxy.ts";
import { certificateProblem } from "./tls.ts";
import { openTunnel } from "./tunnel.ts";

/** One connection and its read state, reused across exchanges while kept alive. */
export interface Conn {
  /** The TCP or TLS connection. */
  conn: Deno.Conn;
  /** Bytes read past the previous response (none with well-behaved servers). */
  rest: Uint8Array;
  /** Set during an exchange: every read or write that moves bytes calls it. */
  touch?: () => void;
  /** Response bytes received in the current exchange. */
  received: number;
  /** Set during an exchange under `--bandwidth-limit`: each read and write is charged to it. */
  pacer?: Pacer;
}

/** Idle timeout (and connect timeout) when the store is given none: 60 s without a byte moving. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** No byte moved for the idle timeout (or the connect took longer): lib/errors.ts. */
export { TimeoutError };

/** Closes the connection once `ms` pass without `touch()`; one timer, re-armed lazily. */
export class Watchdog {
  #last = performance.now();
  #timer: ReturnType<typeof setTimeout>;
  /** Set once the watchdog has closed the connection, so the failure is reported as a timeout. */
  fired = false;
  /** Arms the watchdog: `onIdle` runs once `ms` pass without a {@linkcode Watchdog.touch}. */
  constructor(private ms: number, onIdle: () => void) {
    const check = () => {
      const idle = performance.now() - this.#last;
      if (idle >= this.ms) {
        this.fired = true;
        onIdle();
      } else this.#timer = setTimeout(check, this.ms - idle);
    };
    this.#timer = setTimeout(check, ms);
  }
  /** Bytes moved: the idle time starts again. */
  touch(): void {
    this.#last = performance.now();
  }
  /** Disarms the watchdog (the exchange is over). */
  stop(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * A fresh connection to `url`'s origin: TCP with no Nagle delay, through the proxy `network`
 * names for it (a CONNECT tunnel), then TLS for https: with `network`'s CAs. The TLS handshake
 * is done here, so a certificate problem surfaces as one NetworkError before any request.
 * @throws {TimeoutError} Connecting (tunnel and handshakes included) took over `timeoutMs`.
 * @throws {NetworkError} An untrusted certificate, or a proxy that refused.
 */
export async function connect(
  url: URL,
  timeoutMs: number,
  network: Network = DIRECT,
): Promise<Conn> {
  const connecting = open(url, network);
  // Deno.connect takes no signal: race it, and close a connection that arrives too late.
  let timer: ReturnType<typeof setTimeout> | undefined;
  return await Promise.race([
    connecting,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        connecting.then((c) => safeClose(c.conn), () => {});
        reject(new TimeoutError(`connecting took over ${timeoutMs / 1000} s`));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function open(url: URL, network: Network): Promise<Conn> {
  const https = url.protocol === "https:";
  const port = Number(url.port) || (https ? 443 : 80);
  const hostname = bare(url.hostname);
  const proxy = proxyFor(url, network.proxies);
  let rest: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  let conn: Deno.Conn;
  if (proxy === undefined) conn = await tcp(hostname, port);
  else {
    if (proxy.url.protocol === "https:" && https) {
      // Deno.startTls takes a TcpConn only: TLS to the endpoint inside TLS to the proxy
      // cannot be built on it. Retrying will not change that.
      throw new NetworkError(
        `proxy ${proxy.label} (${proxy.variable}) is an https:// proxy, which s3duct can use for ` +
          "http:// endpoints only; give an http:// proxy URL (the endpoint's TLS still runs " +
          "end to end through the tunnel)",
      );
    }
    const proxyPort = Number(proxy.url.port) || (proxy.url.protocol === "https:" ? 443 : 80);
    conn = await tcp(bare(proxy.url.hostname), proxyPort).catch((e) => {
      throw new Error(`proxy ${proxy.label} (${proxy.variable}): ${(e as Error).message}`, {
        cause: e,
      });
    });
    if (proxy.url.protocol === "https:") {
      const proxyHost = bare(proxy.url.hostname);
      conn = await tls(conn as Deno.TcpConn, proxyHost, network, "the proxy", proxy.url.host);
    }
    rest = await openTunnel(conn, `${url.hostname}:${port}`, proxy).catch((e) => {
      safeClose(conn);
      throw e;
    });
  }
  if (https && rest.length > 0) {
    safeClose(conn);
    throw new Error(`proxy ${proxy!.label} sent bytes after its CONNECT answer, before TLS`);
  }
  if (https) conn = await tls(conn as Deno.TcpConn, hostname, network, "the store", url.host);
  return { conn, rest, received: 0 };
}

/** A TCP connection with Nagle off (small requests must not wait for an ACK). */
async function tcp(hostname: string, port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname, port });
  conn.setNoDelay(true);
  return conn;
}

/** TLS over `conn` to `hostname`, handshake done; certificate failures as NetworkError. */
async function tls(
  conn: Deno.TcpConn,
  hostname: string,
  network: Network,
  what: string,
  shown: string,
): Promise<Deno.TlsConn> {
  const caCerts = network.ca ? [network.ca.pem] : undefined;
  let t: Deno.TlsConn | undefined;
  try {
    t = await Deno.startTls(conn, { hostname, caCerts });
    await t.handshake();
    return t;
  } catch (e) {
    safeClose(t ?? conn);
    throw certificateProblem(e, shown, network.ca, what) ?? e;
  }
}

/** A URL's hostname without IPv6 brackets, as Deno.connect takes it. */
function bare(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, "");
}

/** Closes `conn`, ignoring that it may be closed already (abort, watchdog). */
export function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed (abort, watchdog)
  }
}
