/**
 * Connections for http1.ts: connecting with a timeout, and the idle watchdog that closes a
 * connection on which no byte has moved for the timeout (a stalled or black-holed server).
 */

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
}

/** Idle timeout (and connect timeout) when the store is given none: 60 s without a byte moving. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** No byte moved for the idle timeout (or the connect took longer). */
export class TimeoutError extends Error {}

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
 * A fresh connection to `url`'s origin (TLS for https:, no Nagle delay).
 * @throws {TimeoutError} The connection took longer than `timeoutMs`.
 */
export async function connect(url: URL, timeoutMs: number): Promise<Conn> {
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const connecting = url.protocol === "https:"
    ? Deno.connectTls({ hostname, port })
    : Deno.connect({ hostname, port });
  // Deno.connect takes no signal: race it, and close a connection that arrives too late.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const conn = await Promise.race([
    connecting,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        connecting.then(safeClose, () => {});
        reject(new TimeoutError(`connecting took over ${timeoutMs / 1000} s`));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  return { conn, rest: new Uint8Array(0), received: 0 };
}

/** Closes `conn`, ignoring that it may be closed already (abort, watchdog). */
export function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed (abort, watchdog)
  }
}
