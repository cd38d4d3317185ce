/**
 * One signed, retried S3 request of an {@linkcode S3Store}: signing, the transport, mapping
 * answers to typed errors, and checking server-side encryption on every answer that must show
 * it. The store's methods say what to ask; this says how.
 * @module
 */
import { EMPTY_SHA256 } from "../format/hex.ts";
import { OversizeObjectError, S3ductError, StoreError } from "../errors.ts";
import { toHex } from "../format/chain.ts";
import { sha256 } from "../crypto/hash.ts";
import type { S3Signer } from "./s3_signer.ts";
import { type RetryPolicy, withRetry } from "./retry.ts";
import { errorCode, parseRetryAfter, s3Error } from "./s3_errors.ts";
import {
  type BodySink,
  BodyTooLargeError,
  type Http1Client,
  type HttpResponse,
  TimeoutError,
} from "./http1.ts";
import {
  answerMustShowSse,
  checkSseAnswer,
  sseHeaders,
  SseNotAppliedError,
  sseRefusal,
  type SseSettings,
} from "./sse.ts";

/** A whole S3 response. */
export interface S3Response extends HttpResponse {
  /** The body decoded as UTF-8 (S3's XML documents). */
  text(): Promise<string>;
}

/** One S3 request, as S3Store makes it. */
export interface S3Call {
  /** The HTTP method. */
  method: string;
  /** The object key; undefined addresses the bucket itself. */
  key?: string;
  /** Query parameters (e.g. `{ uploads: "" }`), signed with the request. */
  query?: Record<string, string>;
  /** Request headers besides the signature's own; all are signed. */
  headers?: Record<string, string>;
  /** The request body, sent from this buffer in one write. */
  body?: Uint8Array;
  /** The body's SHA-256 in hex, when already known; otherwise it is computed for the signature. */
  bodySha256?: string;
  /** Aborts the request and its retries. */
  signal?: AbortSignal;
  /** Where a successful response body lands (see {@linkcode BodySink}). */
  sink?: BodySink;
  /** The most bytes a successful response body may have (RequestOptions.maxBody). */
  maxBody?: number;
  /** Retries of a transient failure for this request alone; default the store's policy. */
  retries?: number;
}

/** One signed, retried S3 request (S3Store's), as the helpers here need it. */
export type S3Request = <T = S3Response>(
  call: S3Call,
  read?: (res: S3Response) => Promise<T>,
) => Promise<T>;

/** What requests are made with: the store's bucket, endpoint, signer, transport and policies. */
export interface S3RequesterOptions {
  /** The bucket name. */
  bucket: string;
  /** `s3://bucket`, for messages. */
  location: string;
  /** The endpoint (origin and any path prefix). */
  base: URL;
  /** Whether the bucket goes in the path (custom endpoints, dotted names). */
  pathStyle: boolean;
  /** Signs each attempt (SigV4). */
  signer: S3Signer;
  /** The HTTP/1.1 transport. */
  http: Http1Client;
  /** Retries of transient failures. */
  retry: RetryPolicy;
  /** Server-side encryption for every request that needs it. */
  sse?: SseSettings;
}

/** Sends S3 requests for one store; see the module comment. */
export class S3Requester {
  readonly #o: S3RequesterOptions;
  /** Settles once the first SSE write has shown the server encrypts (see #sseInTurn). */
  #sseFirst?: Promise<void>;
  /** Calls let through #sseInTurn already. */
  readonly #sseLetThrough = new WeakSet<S3Call>();

  /** A requester for the store `o` describes. */
  constructor(o: S3RequesterOptions) {
    this.#o = o;
  }

  /** {@linkcode S3Requester.send}, bound, for the large-object and lock helpers. */
  readonly request: S3Request = (call, read) => this.send(call, read);

  /** One S3 request with retries; `read` consumes a successful response (inside the retry). */
  async send<T = S3Response>(call: S3Call, read?: (res: S3Response) => Promise<T>): Promise<T> {
    if (answerMustShowSse(this.#o.sse, call) && !this.#sseLetThrough.has(call)) {
      return await this.#sseInTurn(call, read);
    }
    const what = `${call.method} ${this.#o.location}/${call.key ?? ""}`;
    const bodySha256 = call.bodySha256 ??
      (call.body ? toHex(await sha256(call.body)) : EMPTY_SHA256);
    return await withRetry(
      async () => {
        const res = await this.#exchange(call, bodySha256, what);
        if (res.status < 200 || res.status > 299) throw await this.#refusal(call, res, what);
        if (answerMustShowSse(this.#o.sse, call)) {
          const whole = call.method === "PUT" && call.query === undefined;
          await this.confirmSse(call.key, whole, res.headers, what);
        }
        try {
          return read ? await read(res) : res as T;
        } catch (e) {
          if (e instanceof S3ductError || call.signal?.aborted) throw e;
          throw new StoreError(`${what}: connection lost while reading`, {
            transient: true,
            cause: e,
          });
        }
      },
      call.retries === undefined ? this.#o.retry : { ...this.#o.retry, retries: call.retries },
      call.signal,
    );
  }

  /** One attempt: signed and sent; a transport failure becomes a typed error. */
  async #exchange(call: S3Call, bodySha256: string, what: string): Promise<S3Response> {
    try {
      // Signed without the body: its hash is in x-amz-content-sha256 already, and the
      // body goes to the socket straight from our buffer (http1.ts).
      const req = await this.#o.signer.sign(this.url(call.key, call.query), call.method, {
        ...call.headers,
        ...sseHeaders(this.#o.sse, call),
        "x-amz-content-sha256": bodySha256,
      });
      const r = await this.#o.http.request(call.method, new URL(req.url), req.headers, call.body, {
        signal: call.signal,
        sink: call.sink,
        maxBody: call.maxBody,
      });
      return { ...r, text: () => Promise.resolve(new TextDecoder().decode(r.body)) };
    } catch (e) {
      // Refused on its head (a sink's verdict, or over maxBody): damage, never retried.
      // A definitive transport failure (untrusted certificate, a proxy's refusal) too.
      if (e instanceof OversizeObjectError || call.signal?.aborted) throw e;
      if (e instanceof StoreError && !e.transient) throw e;
      if (e instanceof BodyTooLargeError) {
        throw new OversizeObjectError(
          call.key ?? "",
          this.#o.location,
          e.size,
          e.limit,
          e.declared,
        );
      }
      // A request that stopped moving also tells the adaptive worker count to back off.
      throw new StoreError(
        e instanceof TimeoutError
          ? `${what} timed out: ${e.message}`
          : `cannot reach ${this.#o.base.origin}: ${(e as Error).message}`,
        { transient: true, cause: e, throttle: e instanceof TimeoutError },
      );
    }
  }

  /** The typed error for a non-2xx answer (learning the clock skew when that is the cause). */
  async #refusal(call: S3Call, res: S3Response, what: string): Promise<Error> {
    let code = errorCode(await res.text());
    // A HEAD's 403 has no body to name the cause: a Date header far from our clock does.
    if (code === undefined && res.status === 403 && this.#o.signer.skewed(res.headers)) {
      code = "RequestTimeTooSkewed";
    }
    if (code === "RequestTimeTooSkewed") this.#o.signer.learnSkew(res.headers, res.body);
    const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
    return sseRefusal(this.#o.sse, call, res.status, code, await res.text(), what) ??
      s3Error(res.status, code, what, this.#o.bucket, retryAfter);
  }

  /**
   * The first SSE write goes alone; the others wait for its answer. A server that does not
   * encrypt (Ceph's SSE-S3) is then caught on one object, which is deleted, instead of on
   * every chunk already in flight, some of which would land in plaintext after the put failed.
   */
  async #sseInTurn<T>(call: S3Call, read?: (res: S3Response) => Promise<T>): Promise<T> {
    const inner = { ...call };
    this.#sseLetThrough.add(inner);
    if (this.#sseFirst) {
      await this.#sseFirst; // rethrows the first write's SseNotAppliedError
      return await this.send(inner, read);
    }
    const first = this.send(inner, read);
    // Any other failure of the first write proves nothing: the rest go on, each checked.
    this.#sseFirst = first.then(() => {}, (e) => {
      if (e instanceof SseNotAppliedError) throw e;
    });
    this.#sseFirst.catch(() => {}); // awaited by later writes, if any
    return await first;
  }

  /**
   * Fails the write whose answer does not show the encryption asked for; a whole object the
   * server stored that way (PUT, completed upload) is deleted first, so no plaintext copy of a
   * chunk stays behind. Parts and uploads are aborted by putMultipart.
   */
  async confirmSse(
    key: string | undefined,
    whole: boolean,
    headers: Headers,
    what: string,
  ): Promise<void> {
    try {
      checkSseAnswer(this.#o.sse!, headers, what);
    } catch (e) {
      if (e instanceof SseNotAppliedError && whole && key !== undefined) {
        // The very version written: on a versioned bucket a plain DELETE only adds a marker
        // and the unencrypted version would stay.
        const versionId = headers.get("x-amz-version-id");
        const query = versionId && versionId !== "null" ? { versionId } : undefined;
        await this.send({ method: "DELETE", key, query }).catch(() => {});
      }
      throw e;
    }
  }

  /** The URL of `key` (or the bucket) with `query`, as signed. */
  url(key?: string, query?: Record<string, string>): string {
    let path = this.#o.base.pathname.replace(/\/+$/, "");
    if (this.#o.pathStyle) path += `/${encodeURIComponent(this.#o.bucket)}`;
    if (key !== undefined) path += "/" + key.split("/").map(encodeSegment).join("/");
    const qs = query
      ? "?" +
        Object.entries(query).map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join("&")
      : "";
    return `${this.#o.base.origin}${path}${qs}`;
  }
}

/** RFC 3986 encoding, as SigV4 canonicalises it. */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}
