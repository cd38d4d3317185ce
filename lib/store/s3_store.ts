/**
 * S3 store over HTTP/1.1 (http1.ts), signed with aws4fetch (SigV4). Path-style addressing for custom
 * endpoints, virtual-hosted for AWS. Every PUT carries a signed x-amz-content-sha256 of its
 * body, so the server rejects a body damaged in transit instead of storing it.
 */
import { XMLParser } from "fast-xml-parser";
import { compareKeys } from "./store.ts";
import { createHash } from "node:crypto";
import { ExistsError, NotFoundError, StoreError } from "../errors.ts";
import { toHex } from "../format/chain.ts";
import { sha256 } from "../crypto/hash.ts";
import type { CredentialProvider, Credentials } from "./credentials.ts";
import { S3Signer } from "./s3_signer.ts";
import { S3Requester } from "./s3_request.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
import { isUnsupported } from "./s3_errors.ts";
import { DEFAULT_TIMEOUT_MS, Http1Client } from "./http1.ts";
import type { Network } from "./network.ts";
import {
  admitSize,
  getRanged,
  MULTIPART_THRESHOLD,
  putMultipart,
  type S3Call,
  type S3Request,
  type S3Response,
} from "./s3_large.ts";
import { type GetArg, getOptionsOf } from "./store.ts";
import {
  type BucketLock,
  contentMd5,
  lockFromHeaders,
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
import type {
  ByteRange,
  DeleteReport,
  ListEntry,
  ListOptions,
  ObjectInfo,
  PutOptions,
  RestoreRequestResult,
  RestoreStatus,
  RestoreTier,
  Store,
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

/** The largest listing page read (see list). */
const LIST_MAX_BODY = 16 * 1024 * 1024;
const xml = new XMLParser({
  parseTagValue: false,
  isArray: (n) => ["Contents", "CommonPrefixes", "Error", "Deleted"].includes(n),
});

type Call = S3Call;

/** A bucket on S3 or an S3-compatible service, over SigV4-signed HTTP/1.1. */
export class S3Store implements Store {
  readonly location: string;
  readonly #bucket: string;
  readonly #base: URL;
  readonly #pathStyle: boolean;
  readonly #signer: S3Signer;
  readonly #retry: RetryPolicy;
  readonly #http: Http1Client;
  /** Set once the server answered a conditional PUT "not implemented" (Swift's s3api). */
  #noConditionalPut = false;
  #lock?: LockSettings;
  readonly #sse?: SseSettings;
  readonly #req: S3Requester;

  /** A store for `opts.bucket`; nothing is sent until the first request. */
  constructor(opts: S3StoreOptions) {
    this.#bucket = opts.bucket;
    this.location = `s3://${opts.bucket}`;
    this.#pathStyle = opts.endpoint !== undefined || opts.bucket.includes(".");
    this.#base = opts.endpoint !== undefined ? new URL(opts.endpoint.replace(/\/+$/, "")) : new URL(
      this.#pathStyle
        ? `https://s3.${opts.region}.amazonaws.com`
        : `https://${opts.bucket}.s3.${opts.region}.amazonaws.com`,
    );
    this.#signer = new S3Signer(opts.credentials, opts.region, opts.clock);
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
      base: this.#base,
      pathStyle: this.#pathStyle,
      signer: this.#signer,
      http: this.#http,
      retry: this.#retry,
      sse: this.#sse,
    });
  }

  /** One signed, retried request (s3_request.ts). */
  #call<T = S3Response>(call: S3Call, read?: (res: S3Response) => Promise<T>): Promise<T> {
    return this.#req.send(call, read);
  }

  /** Pace every request's bytes from now on (`--bandwidth-limit`), both ways. */
  setPacer(pacer: Pacer): void {
    this.#http.pacer = pacer;
  }

  async checkBucket(): Promise<void> {
    try {
      // A GET (not HEAD) so failures carry an S3 error code, e.g. SignatureDoesNotMatch.
      await this.#call({ method: "GET", query: { "list-type": "2", "max-keys": "0" } });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      throw new NotFoundError(`bucket '${this.#bucket}' does not exist at ${this.#base.origin}`);
    }
  }

  /**
   * A single PUT, or a multipart upload above {@linkcode MULTIPART_THRESHOLD} when unconditional.
   */
  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (opts.storageClass && opts.storageClass !== "STANDARD") {
      headers["x-amz-storage-class"] = opts.storageClass;
    }
    for (const [k, v] of Object.entries(opts.metadata ?? {})) headers[`x-amz-meta-${k}`] = v;
    const conditional = opts.ifNoneMatch || opts.ifMatch !== undefined;
    if (conditional && this.#noConditionalPut) return await this.#putCheckedByHead(key, body, opts);
    if (opts.ifNoneMatch) headers["if-none-match"] = "*";
    // Ceph RGW compares If-Match with the bare hex digest (a quoted ETag never matches there).
    if (opts.ifMatch) headers["if-match"] = opts.ifMatch.replace(/"/g, "");
    const lock = this.#lock;
    if (body.length > MULTIPART_THRESHOLD && !opts.ifNoneMatch && !opts.ifMatch) {
      const done = await putMultipart(this.#request, key, body, headers, opts.signal, !!lock);
      // AWS's completion answer does not echo SSE-C: the object's HEAD shows what it got. Before
      // the lock: an unencrypted object must still be deletable.
      if (this.#sse) {
        const what = `multipart upload of ${this.location}/${key}`;
        const head = await this.#call({ method: "HEAD", key, signal: opts.signal });
        await this.#req.confirmSse(key, true, head.headers, what);
      }
      // Ceph ignores lock headers on CreateMultipartUpload: set them after, and read back.
      if (lock) await applyLock(this.#request, key, lock, opts.signal);
      return done;
    }
    // With SSE too, the lock comes after the answer proved the object encrypted: a server that
    // stored plaintext (Ceph's SSE-S3) must not leave it retained, under COMPLIANCE for good.
    const lockAfter = lock !== undefined && this.#sse !== undefined;
    // AWS refuses a locked PUT without Content-MD5 (or an x-amz-checksum-*).
    if (lock && !lockAfter) {
      Object.assign(headers, lockHeaders(lock), { "content-md5": contentMd5(body) });
    }
    try {
      const res = await this.#call({
        method: "PUT",
        key,
        headers,
        body,
        bodySha256: toHex(opts.sha256 ?? await sha256(body)),
        signal: opts.signal,
      });
      if (lockAfter) await applyLock(this.#request, key, lock, opts.signal);
      return { etag: res.headers.get("etag") ?? "" };
    } catch (e) {
      if (conditional && e instanceof StoreError && isUnsupported(e.status, e.code)) {
        this.#noConditionalPut = true;
        this.#retry.onFallback?.(
          `${this.location} does not support conditional writes (${e.code ?? e.status} to ` +
            "If-None-Match/If-Match): checking with HEAD before each such write instead; " +
            "two writers finishing at the same moment can both succeed",
        );
        return await this.#putCheckedByHead(key, body, opts);
      }
      // A conditional PUT retried after its answer was lost (reset, timeout) finds its own
      // first write and gets 412. If the object there holds exactly our bytes (ETag = MD5 of
      // a single-part upload), the write did happen: success, not "already exists".
      if (!(e instanceof ExistsError) || !(opts.ifNoneMatch || opts.ifMatch)) throw e;
      const there = await this.head(key);
      const md5 = createHash("md5").update(body).digest("hex");
      if (there?.etag.replace(/"/g, "") === md5) return { etag: there.etag };
      // Under SSE-KMS or SSE-C, AWS's ETag is not the MD5: compare the bytes themselves (this
      // is the manifest, small next to a chunk).
      if (there && this.#sse && there.size === body.length && body.length <= MULTIPART_THRESHOLD) {
        const stored = await this.get(key, undefined, { maxBytes: body.length }).catch(() => null);
        if (stored && stored.length === body.length && stored.every((b, i) => b === body[i])) {
          return { etag: there.etag };
        }
      }
      // Ceph 16.2 on a versioned bucket (Object Lock implies one) answers 412 to every
      // If-Match, even one that holds. When the HEAD shows the very ETag we asked for, write
      // plainly: the version replaced stays in the bucket, so a lost race loses nothing.
      const unquoted = (t: string) => t.replace(/"/g, "");
      if (
        opts.ifMatch && there?.versionId && there.versionId !== "null" &&
        unquoted(there.etag) === unquoted(opts.ifMatch)
      ) return await this.put(key, body, { ...opts, ifMatch: undefined });
      throw e;
    }
  }

  /**
   * A conditional write on a server without conditional PUTs: HEAD, refuse as the server would
   * have (ExistsError), then write unconditionally. Weaker than the real thing: another writer
   * can slip in between the HEAD and the PUT (README "Providers").
   */
  async #putCheckedByHead(key: string, body: Uint8Array, opts: PutOptions) {
    const there = await this.head(key);
    const lost = opts.ifNoneMatch
      ? there !== undefined
      : there?.etag.replace(/"/g, "") !== opts.ifMatch!.replace(/"/g, "");
    if (lost) throw new ExistsError(`PUT ${this.location}/${key}: the object already exists`);
    return await this.put(key, body, { ...opts, ifNoneMatch: undefined, ifMatch: undefined });
  }

  /** #call, bound, for the large-object helpers. */
  readonly #request: S3Request = (call, read) => this.#call(call, read);

  async get(key: string, range?: ByteRange, arg?: GetArg): Promise<Uint8Array> {
    const opts = getOptionsOf(arg);
    if (!range) return await getRanged(this.#request, key, this.location, opts);
    const { signal, maxBytes } = opts;
    const res = await this.#call({
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
      const res = await this.#call({ method: "HEAD", key });
      const metadata: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        if (k.startsWith("x-amz-meta-")) metadata[k.slice(11)] = v;
      });
      return {
        key,
        size: Number(res.headers.get("content-length") ?? 0),
        etag: res.headers.get("etag") ?? "",
        storageClass: res.headers.get("x-amz-storage-class") ?? undefined,
        restore: parseRestoreHeader(res.headers.get("x-amz-restore")),
        metadata,
        lock: lockFromHeaders(res.headers),
        versionId: res.headers.get("x-amz-version-id") ?? undefined,
      };
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    let token: string | undefined;
    do {
      const query: Record<string, string> = { "list-type": "2", prefix };
      if (opts.delimiter) query.delimiter = opts.delimiter;
      if (opts.startAfter) query["start-after"] = opts.startAfter;
      if (token) query["continuation-token"] = token;
      // A page of 1000 keys of at most 1024 bytes is ~1.5 MB of XML: anything far bigger is a
      // hostile or broken server, refused before it is read.
      const doc = await this.#call(
        { method: "GET", query, maxBody: LIST_MAX_BODY },
        async (r) => xml.parse(await r.text()),
      );
      const result = doc.ListBucketResult ?? {};
      const page: ListEntry[] = [];
      for (const c of result.Contents ?? []) {
        page.push({
          kind: "object",
          key: String(c.Key),
          size: Number(c.Size),
          etag: String(c.ETag ?? ""),
        });
      }
      for (const p of result.CommonPrefixes ?? []) {
        page.push({ kind: "prefix", prefix: String(p.Prefix) });
      }
      // S3 sends keys and prefixes as two lists; merged in key order, a caller can stop at a key.
      if (result.CommonPrefixes?.length) page.sort((a, b) => compareKeys(entryKey(a), entryKey(b)));
      yield* page;
      const previous = token;
      token = result.IsTruncated === "true"
        ? String(result.NextContinuationToken ?? "")
        : undefined;
      // A server that says "more" without moving on would keep us listing forever.
      if (token !== undefined && (token === "" || token === previous)) {
        throw new StoreError(
          `listing '${prefix}' in ${this.location} does not advance (continuation token ` +
            `${token === "" ? "missing" : "repeated"}); the server is misbehaving`,
        );
      }
    } while (token);
  }

  /** DeleteObjects in batches of 1000; a key S3 refuses is reported with its error code. */
  async delete(keys: string[]): Promise<DeleteReport> {
    const report: DeleteReport = { deleted: [], failed: [] };
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const body = new TextEncoder().encode(
        "<Delete><Quiet>true</Quiet>" +
          batch.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join("") +
          "</Delete>",
      );
      const md5 = createHash("md5").update(body).digest("base64");
      const doc = await this.#call(
        { method: "POST", query: { delete: "" }, headers: { "content-md5": md5 }, body },
        async (r) => xml.parse(await r.text()),
      );
      const failed = new Map<string, string>();
      for (const e of doc.DeleteResult?.Error ?? []) failed.set(String(e.Key), String(e.Code));
      for (const k of batch) {
        if (failed.has(k)) report.failed.push({ key: k, reason: failed.get(k)! });
        else report.deleted.push(k);
      }
    }
    return report;
  }

  async restore(key: string, days: number, tier: RestoreTier): Promise<RestoreRequestResult> {
    const body = new TextEncoder().encode(
      `<RestoreRequest xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Days>${days}</Days>` +
        `<GlacierJobParameters><Tier>${tier}</Tier></GlacierJobParameters></RestoreRequest>`,
    );
    const md5 = createHash("md5").update(body).digest("base64");
    try {
      // 202: restore started; 200: a restored copy already exists (S3 just extends its days).
      const res = await this.#call({
        method: "POST",
        key,
        query: { restore: "" },
        headers: { "content-md5": md5 },
        body,
        bodySha256: createHash("sha256").update(body).digest("hex"),
      });
      return res.status === 200 ? "available" : "initiated";
    } catch (e) {
      if (e instanceof StoreError && e.code === "RestoreAlreadyInProgress") return "in-progress";
      throw e;
    }
  }

  /** GetObjectLockConfiguration (lib/store/s3_lock.ts); `quiet`: a single attempt. */
  bucketLock(quiet = false): Promise<BucketLock> {
    return bucketLock(this.#request, () => this.checkBucket(), quiet ? 0 : undefined);
  }

  /** Every later write carries `lock` (put honouring a bucket default retention). */
  adoptLock(lock: LockSettings): void {
    this.#lock = locks(lock) ? lock : undefined;
  }

  /** PutObjectRetention / PutObjectLegalHold on an existing object, read back. */
  setLock(key: string, lock: LockSettings): Promise<void> {
    return applyLock(this.#request, key, lock);
  }

  /** GetObjectRetention + GetObjectLegalHold of one object (version). */
  objectLock(key: string, versionId?: string): Promise<LockSettings> {
    return readLock(this.#request, key, versionId);
  }

  /** ListObjectVersions under `prefix`. */
  versions(prefix: string): AsyncIterable<ObjectVersion> {
    return listVersions(this.#request, prefix);
  }

  /** DeleteObjects by version id (`bypass`: x-amz-bypass-governance-retention). */
  deleteVersions(refs: VersionRef[], bypass: boolean): Promise<VersionDeleteReport> {
    return deleteVersions(this.#request, refs, bypass);
  }
}

/** `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` */
export function parseRestoreHeader(v: string | null): RestoreStatus | undefined {
  if (!v) return undefined;
  const ongoing = /ongoing-request\s*=\s*"?(true|false)"?/i.exec(v)?.[1];
  if (ongoing === undefined) return undefined;
  const expiry = /expiry-date\s*=\s*"([^"]*)"/i.exec(v)?.[1];
  return { ongoing: ongoing.toLowerCase() === "true", ...(expiry ? { expiry } : {}) };
}

function entryKey(e: ListEntry): string {
  return e.kind === "object" ? e.key : e.prefix;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
