/**
 * The transport's answer to servers that Nagle small bodies (lib/store/http1.ts): a loopback
 * server that sends each response head and body in two writes 60 ms apart (what RGW's Nagle
 * plus our delayed ACK add up to) makes the client move small GETs to fresh connections the
 * server closes, after three such bodies; big GETs and other methods stay on kept-alive ones.
 */
import assert from "node:assert/strict";
import { Http1Client } from "../../lib/store/http1.ts";

interface Seen {
  connections: number;
  closeAsked: number;
}

/** Serves "hello" (or 200 KiB for /big) with a pause between head and body. */
function server(): { url: string; seen: Seen; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: Seen = { connections: 0, closeAsked: 0 };
  const serve = async (conn: Deno.Conn) => {
    seen.connections++;
    const buf = new Uint8Array(16384);
    let text = "";
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        text += new TextDecoder().decode(buf.subarray(0, n));
        while (text.includes("\r\n\r\n")) {
          const end = text.indexOf("\r\n\r\n") + 4;
          const req = text.slice(0, end);
          text = text.slice(end);
          const close = /^connection: close$/im.test(req);
          if (close) seen.closeAsked++;
          const body = req.startsWith("GET /big")
            ? new Uint8Array(200 * 1024)
            : new TextEncoder().encode("hello");
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n` +
              (close ? "connection: close\r\n" : "") + "\r\n",
          ));
          await new Promise((r) => setTimeout(r, 60));
          await conn.write(body);
          if (close) return;
        }
      }
    } catch {
      // client went away
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  (async () => {
    for await (const c of listener) serve(c);
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => listener.close() };
}

Deno.test("http1: small GETs trailing their head move to fresh, server-closed connections", async () => {
  const s = server();
  const client = new Http1Client(true, 5000);
  try {
    const get = (path: string, maxBody: number) =>
      client.request("GET", new URL(s.url + path), new Headers(), undefined, { maxBody });
    for (let i = 0; i < 3; i++) assert.equal((await get("/small", 4096)).body.length, 5);
    assert.equal(s.seen.connections, 1, "three slow small bodies on one kept-alive connection");
    assert.equal(s.seen.closeAsked, 0);
    for (let i = 0; i < 4; i++) assert.equal((await get("/small", 4096)).body.length, 5);
    assert.equal(s.seen.closeAsked, 4, "each later small GET asks the server to close");
    assert.equal(s.seen.connections, 5, "each on a connection of its own");
    // A GET that may be big, and a HEAD, still reuse the kept-alive connection.
    assert.equal((await get("/big", 1 << 20)).body.length, 200 * 1024);
    assert.equal(s.seen.connections, 5);
  } finally {
    client.close();
    s.close();
  }
});
