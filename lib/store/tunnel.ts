/**
 * An HTTP CONNECT tunnel through a proxy. Both http and https endpoints go through CONNECT
 * (curl's `--proxytunnel` way) rather than absolute-form requests: the proxy then relays bytes
 * without touching the signed request, and a tunnel is one kept-alive connection like a direct
 * one, so the connection pool in http1.ts works unchanged.
 * @module
 */
import { NetworkError } from "../errors.ts";
import type { ProxyEndpoint } from "./proxy.ts";

const MAX_PROXY_HEAD = 16 * 1024;
const enc = new TextEncoder();

/**
 * Ask `proxy` over `conn` for a tunnel to `target` (`host:port`, IPv6 bracketed). Returns the
 * bytes read past the proxy's answer (none from a well-behaved proxy).
 * @throws {NetworkError} The proxy refused: 407 (credentials), 403 or another 4xx; it names
 * the proxy with its credentials masked.
 * @throws {Error} A 5xx (the proxy could not reach the target) or a connection closed early:
 * worth a retry, like an unreachable endpoint.
 */
export async function openTunnel(
  conn: Deno.Conn,
  target: string,
  proxy: ProxyEndpoint,
): Promise<Uint8Array> {
  let head = `CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n`;
  if (proxy.authorization) head += `proxy-authorization: ${proxy.authorization}\r\n`;
  head += "\r\n";
  const bytes = enc.encode(head);
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  const { statusLine, rest } = await readHead(conn, proxy, target);
  const m = /^HTTP\/1\.[01] (\d{3})\s*(.*)$/.exec(statusLine);
  if (!m) throw new Error(`proxy ${proxy.label} sent no HTTP answer to CONNECT ${target}`);
  const status = Number(m[1]);
  if (status >= 200 && status < 300) return rest;
  const answer = `${status} ${printable(m[2])}`.trim();
  const who = `proxy ${proxy.label} (${proxy.variable})`;
  if (status >= 500) throw new Error(`${who} could not open a tunnel to ${target}: ${answer}`);
  // 407 is the standard answer; tinyproxy says 401 to a wrong password.
  if (status === 407 || (status === 401 && proxy.authorization)) {
    throw new NetworkError(
      proxy.authorization
        ? `${who} refused the credentials (${answer}); check the user and password in ${proxy.variable}`
        : `${who} needs credentials (${answer}); set ${proxy.variable}=http://USER:PASSWORD@host:port`,
      { status },
    );
  }
  throw new NetworkError(
    `${who} refused CONNECT to ${target} (${answer}); ask its admin to allow it, or list the host in NO_PROXY`,
    { status },
  );
}

async function readHead(
  conn: Deno.Conn,
  proxy: ProxyEndpoint,
  target: string,
): Promise<{ statusLine: string; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  for (;;) {
    const chunk = new Uint8Array(4096);
    const n = await conn.read(chunk);
    if (n === null) {
      throw new Deno.errors.UnexpectedEof(
        `proxy ${proxy.label} closed the connection before answering CONNECT ${target}`,
      );
    }
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    const end = findEnd(buf);
    if (end >= 0) {
      const text = new TextDecoder().decode(buf.subarray(0, end));
      return { statusLine: text.split("\r\n")[0], rest: buf.slice(end + 4) };
    }
    if (buf.length > MAX_PROXY_HEAD) {
      throw new Error(`proxy ${proxy.label} sent an answer head over 16 KiB to CONNECT`);
    }
  }
}

function findEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** A proxy's reason phrase is foreign text: printable ASCII only, and short. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 60);
}
