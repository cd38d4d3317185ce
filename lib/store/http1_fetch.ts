/**
 * A `fetch` for the credential chain (STS, SSO, ECS, IMDS) over our own HTTP/1.1 transport, so
 * those calls follow the same proxy, NO_PROXY and CA rules as the store's (Deno's fetch has its
 * own reading of the proxy variables and cannot be told to skip them for one host). The
 * instance metadata and container services are always reached directly, as the AWS SDKs do.
 * Credential calls are a handful per hour: no connection is kept alive.
 * @module
 */
import { Http1Client } from "./http1.ts";
import { DIRECT, isMetadataService, type Network } from "./network.ts";

/** Credential service answers are small JSON or XML documents. */
const MAX_BODY = 1024 * 1024;
/** The transport's idle timeout; callers bound the whole call with their own signals. */
const TIMEOUT_MS = 30_000;

/** A `fetch` over http1.ts, connecting as `network` says (metadata services: directly). */
export function http1Fetch(network: Network): typeof fetch {
  const proxied = new Http1Client(false, TIMEOUT_MS, network);
  const direct = new Http1Client(false, TIMEOUT_MS, { ...DIRECT, ca: network.ca });
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`cannot fetch ${url.protocol} URLs`);
    }
    const signal = init?.signal ?? req.signal;
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const client = isMetadataService(url) ? direct : proxied;
    try {
      const res = await client.request(req.method, url, req.headers, body, {
        signal,
        maxBody: MAX_BODY,
      });
      const empty = req.method === "HEAD" || [101, 204, 205, 304].includes(res.status);
      return new Response(empty ? null : res.body as Uint8Array<ArrayBuffer>, {
        status: res.status,
        headers: res.headers,
      });
    } catch (e) {
      // What fetch would throw for an aborted or timed-out signal (callers test for it).
      if (signal?.aborted) throw signal.reason;
      throw e;
    }
  };
}
