/**
 * S3 store over HTTP/1.1 (http1.ts), signed with aws4fetch (SigV4). Path-style addressing for custom
 * endpoints, virtual-hosted for AWS. Every PUT carries a signed x-amz-content-sha256 of its
 * body, so the server rejects a body damaged in transit instead of storing it.
 */
import { NotFoundError, StoreError } from "../errors.ts";
import { toHex } from "../format/chain.ts";
import { sha256 } from "../crypto/hash.ts";
import type { CredentialProvider, Credentials } from "./credentials.ts";
import { S3Signer } from "./s3_signer.ts";
import { S3Requester } from "./s3_request.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
import { isUnsupported } from "./s3_errors.ts";
import { DEFAULT_TIMEOUT_MS, Http1Client } from "./http1.ts";
import type { Network } from "./network.ts";
import { admitSize, getRanged, MULTIPART_THRESHOLD, putMultipart } from "./s3_large.ts";
import {
  deleteObjects,
  listObjects,
  objectInfo,
  parseRestoreHeader,
  restoreObject,
} from "./s3_objects.ts";
import { s3Address } from "./s3_address.ts";
import { afterRefusedPut, putCheckedByHead } from "./s3_conditional.ts";
import {
  type BucketLock,
  contentMd5,
  lockHeaders,
  locks,
  type LockSettings,
  type ObjectVersion,
  type VersionDeleteReport,
  type VersionRef,
} from "./object_lock.ts";
import type { Pacer } from "./bandwidth.ts";
import { applyLock, bucketLock, deleteVersions, listVersions, readLock } from "./s3_lock.ts";
import type { SseSettings } from "./sse.ts";
import {
  type ByteRange,
  type DeleteReport,
  type GetArg,
  getOptionsOf,
  type ListEntry,
  type ListOptions,
  type ObjectInfo,
  type PutOptions,
  type RestoreRequestResult,
  type RestoreTier,
  type Store,
} from "./store.ts";

/** Where an {@linkcode S3Store} connects, and as whom. */
export interface S3StoreOptions {
  /** The bucket name (one with dots is addressed path-style, for TLS). */
  bucket: string;
  /** The region requests are signed for (and AWS endpoints named after). */
  region: string;
  /** Fixed credentials, or a provider asked before each request (refreshes temporary ones). */
  credentials: Credentials | CredentialProvider;
  /** Custom endpoint (path-style); absent = AWS (virtual-hosted). */
  endpoint?: string;
  /** Retries of transient failures; default {@linkcode DEFAULT_RETRY}. */
  retry?: RetryPolicy;
  /** Reuse connections (default). Tests turn it off so no socket outlives a test. */
  keepAlive?: boolean;
  /** Abort an attempt (and retry it) when no byte moves for this long; default 60 s. */
  timeoutMs?: number;
  /** The local clock in ms (tests pretend it is off); default Date.now. */
  clock?: () => number;
  /** Proxies and CAs (lib/store/network.ts); default direct with Deno's roots. */
  network?: Network;
  /** Object Lock every object written gets (put --object-lock-mode, --legal-hold). */
  lock?: LockSettings;
  /** Server-side encryption for every object written (and SSE-C for every object read). */
  sse?: SseSettings;
}

/** `ongoing-request="false", expiry-date=...` as a RestoreStatus (s3_objects.ts). */
export { parseRestoreHeader };

/** A bucket on S3 or an S3-compatible service, over SigV4-signed HTTP/1.1. */
export class S3Store implements Store {
  readonly location: string;
  readonly #bucket: string;
  readonly #base: URL;
  readonly #retry: RetryPolicy;
  readonly #http: Http1Client;
  /** Set once the server answered a conditional PUT "not implemented" (Swift's s3api). */
  #noConditionalPut = false;
  #lock?: LockSettings;
  readonly #sse?: SseSettings;
  /** Every request: signed, retried, its answer mapped and checked (s3_request.ts). */
  readonly #req: S3Requester;

  /** A store for `opts.bucket`; nothing is sent until the first request. */
  constructor(opts: S3StoreOptions) {
    this.#bucket = opts.bucket;
    this.location = `s3://${opts.bucket}`;
    const { base, pathStyle } = s3Address(opts.bucket, opts.region, opts.endpoint);
    this.#base = base;
    this.#retry = opts.retry ?? DEFAULT_RETRY;
    this.#http = new Http1Client(
      opts.keepAlive ?? true,
      opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      opts.network,
    );
    this.#lock = locks(opts.lock) ? opts.lock : undefined;
    this.#sse = opts.sse;
    this.#req = new S3Requester({
      bucket: this.#bucket,
      location: this.location,
      base,
      pathStyle,
      signer: new S3Signer(opts.credentials, opts.region, opts.clock),
      http: this.#http,
      retry: this.#retry,
      sse: this.#sse,
    });
  }

  /** Pace every request's bytes from now on (`--bandwidth-limit`), both ways. */
  setPacer(pacer: Pacer): void {
    this.#http.pacer = pacer;
  }

  async checkBucket(): Promise<void> {
    try {
      // A GET (not HEAD) so failures carry an S3 error code, e.g. SignatureDoesNotMatch.
      await this.#req.send({ method: "GET", query: { "list-type": "2", "max-keys": "0" } });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      throw new NotFoundError(`bucket '${this.#bucket}' does not exist at ${this.#base.origin}`);
    }
  }

  /**
   * A single PUT, or a multipart upload above {@linkcode MULTIPART_THRESHOLD} when unconditional.
   */
  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const conditional = opts.ifNoneMatch || opts.ifMatch !== undefined;
    if (conditional && this.#noConditionalPut) return await putCheckedByHead(this, key, body, opts);
    const headers = putHeaders(opts);
    if (body.length > MULTIPART_THRESHOLD && !opts.ifNoneMatch && !opts.ifMatch) {
      return await this.#putLarge(key, body, headers, opts.signal);
    }
    try {
      return await this.#putOne(key, body, headers, opts);
    } catch (e) {
      if (conditional && e instanceof StoreError && isUnsupported(e.status, e.code)) {
        this.#noConditionalPut = true;
        this.#retry.onFallback?.(
          `${this.location} does not support conditional writes (${e.code ?? e.status} to ` +
            "If-None-Match/If-Match): checking with HEAD before each such write instead; " +
            "two writers finishing at the same moment can both succeed",
        );
        return await putCheckedByHead(this, key, body, opts);
      }
      return await afterRefusedPut(this, e, key, body, opts, this.#sse !== undefined);
    }
  }

  /** A multipart upload, its SSE shown by a HEAD, then its lock set (Ceph ignores it before). */
  async #putLarge(
    key: string,
    body: Uint8Array,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ etag: string }> {
    const lock = this.#lock;
    const done = await putMultipart(this.#req.request, key, body, headers, signal, !!lock);
    // AWS's completion answer does not echo SSE-C: the object's HEAD shows what it got. Before
    // the lock: an unencrypted object must still be deletable.
    if (this.#sse) {
      const what = `multipart upload of ${this.location}/${key}`;
      const head = await this.#req.send({ method: "HEAD", key, signal });
      await this.#req.confirmSse(key, true, head.headers, what);
    }
    // Ceph ignores lock headers on CreateMultipartUpload: set them after, and read back.
    if (lock) await applyLock(this.#req.request, key, lock, signal);
    return done;
  }

  /** One PUT of `body` with `headers`, its lock in the request or (under SSE) after it. */
  async #putOne(
    key: string,
    body: Uint8Array,
    headers: Record<string, string>,
    opts: PutOptions,
  ): Promise<{ etag: string }> {
    const lock = this.#lock;
    // With SSE too, the lock comes after the answer proved the object encrypted: a server that
    // stored plaintext (Ceph's SSE-S3) must not leave it retained, under COMPLIANCE for good.
    const lockAfter = lock !== undefined && this.#sse !== undefined;
    // AWS refuses a locked PUT without Content-MD5 (or an x-amz-checksum-*).
    if (lock && !lockAfter) {
      Object.assign(headers, lockHeaders(lock), { "content-md5": contentMd5(body) });
    }
    const res = await this.#req.send({
      method: "PUT",
      key,
      headers,
      body,
      bodySha256: toHex(opts.sha256 ?? await sha256(body)),
      signal: opts.signal,
    });
    if (lockAfter) await applyLock(this.#req.request, key, lock, opts.signal);
    return { etag: res.headers.get("etag") ?? "" };
  }

  async get(key: string, range?: ByteRange, arg?: GetArg): Promise<Uint8Array> {
    const opts = getOptionsOf(arg);
    if (!range) return await getRanged(this.#req.request, key, this.location, opts);
    const { signal, maxBytes } = opts;
    const res = await this.#req.send({
      method: "GET",
      key,
      headers: { range: `bytes=${range.start}-${range.end}` },
      signal,
      maxBody: maxBytes,
      // Content-Range names the whole object's size: refuse it before the range is read.
      sink: (length, headers, status) => {
        admitSize(key, this.location, maxBytes, status, headers, length);
        return undefined;
      },
    });
    return res.body;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.#req.send({ method: "HEAD", key });
      return objectInfo(key, res.headers);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    return listObjects(this.#req.request, this.location, prefix, opts);
  }

  /** DeleteObjects in batches of 1000; a key S3 refuses is reported with its error code. */
  delete(keys: string[]): Promise<DeleteReport> {
    return deleteObjects(this.#req.request, keys);
  }

  restore(key: string, days: number, tier: RestoreTier): Promise<RestoreRequestResult> {
    return restoreObject(this.#req.request, key, days, tier);
  }

  /** GetObjectLockConfiguration (lib/store/s3_lock.ts); `quiet`: a single attempt. */
  bucketLock(quiet = false): Promise<BucketLock> {
    return bucketLock(this.#req.request, () => this.checkBucket(), quiet ? 0 : undefined);
  }

  /** Every later write carries `lock` (put honouring a bucket default retention). */
  adoptLock(lock: LockSettings): void {
    this.#lock = locks(lock) ? lock : undefined;
  }

  /** PutObjectRetention / PutObjectLegalHold on an existing object, read back. */
  setLock(key: string, lock: LockSettings): Promise<void> {
    return applyLock(this.#req.request, key, lock);
  }

  /** GetObjectRetention + GetObjectLegalHold of one object (version). */
  objectLock(key: string, versionId?: string): Promise<LockSettings> {
    return readLock(this.#req.request, key, versionId);
  }

  /** ListObjectVersions under `prefix`. */
  versions(prefix: string): AsyncIterable<ObjectVersion> {
    return listVersions(this.#req.request, prefix);
  }

  /** DeleteObjects by version id (`bypass`: x-amz-bypass-governance-retention). */
  deleteVersions(refs: VersionRef[], bypass: boolean): Promise<VersionDeleteReport> {
    return deleteVersions(this.#req.request, refs, bypass);
  }
}

/** The headers of every PUT of an object: type, storage class, metadata, conditions. */
function putHeaders(opts: PutOptions): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (opts.storageClass && opts.storageClass !== "STANDARD") {
    headers["x-amz-storage-class"] = opts.storageClass;
  }
  for (const [k, v] of Object.entries(opts.metadata ?? {})) headers[`x-amz-meta-${k}`] = v;
  if (opts.ifNoneMatch) headers["if-none-match"] = "*";
  // Ceph RGW compares If-Match with the bare hex digest (a quoted ETag never matches there).
  if (opts.ifMatch) headers["if-match"] = opts.ifMatch.replace(/"/g, "");
  return headers;
}
