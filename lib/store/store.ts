/**
 * The storage seam: everything above speaks in object keys and byte arrays; only the
 * implementations (S3, local directory) know HTTP, XML or files. A Store is bound to one bucket.
 */
import { IntegrityError } from "../errors.ts";
import type {
  BucketLock,
  LockSettings,
  ObjectVersion,
  VersionDeleteReport,
  VersionRef,
} from "./object_lock.ts";

/** What a HEAD tells about one object. */
export interface ObjectInfo {
  /** The object's full key. */
  key: string;
  /** Stored size in bytes. */
  size: number;
  /** As S3 returns it, double quotes included. */
  etag: string;
  /** The storage class (`GLACIER`, ...); undefined for the store's default (STANDARD). */
  storageClass?: string;
  /** From x-amz-restore: a restore of an archived object was requested (ongoing or done). */
  restore?: RestoreStatus;
  /** User metadata (x-amz-meta-*), keys lower-case without the prefix. */
  metadata: Record<string, string>;
  /** Object Lock state from the x-amz-object-lock-* headers (S3 only). */
  lock?: LockSettings;
  /** The version id (x-amz-version-id) on a versioned bucket. */
  versionId?: string;
}

/** The restore state of an archived object (S3's x-amz-restore). */
export interface RestoreStatus {
  /** true while the thaw runs; false once a readable copy exists (until `expiry`). */
  ongoing: boolean;
  /** When the restored copy goes away, as S3 gives it (an HTTP date), once it is readable. */
  expiry?: string;
}

/** Outcome of asking for a restore: started now, already running, or a copy is readable. */
export type RestoreRequestResult = "initiated" | "in-progress" | "available";

/** How fast (and at what price) S3 thaws an archived object. */
export type RestoreTier = "Standard" | "Bulk" | "Expedited";

/** How a listing is shaped. */
export interface ListOptions {
  /** Fold keys that continue past this (usually "/") into `prefix` entries, one per folder. */
  delimiter?: string;
  /** Only keys after this one (S3 start-after): skips a run of keys without paging through it. */
  startAfter?: string;
}

/** How an object is written, and the conditions the write depends on. */
export interface PutOptions {
  /** The storage class to write with (`--storage-class`); undefined for the store's default. */
  storageClass?: string;
  /** User metadata to attach (x-amz-meta-*), keys without the prefix. */
  metadata?: Record<string, string>;
  /** Fail with ExistsError if the key exists (If-None-Match: *). */
  ifNoneMatch?: boolean;
  /**
   * Fail with ExistsError unless the object's current ETag is this one (If-Match): a replace
   * that loses to another writer since the ETag was read is refused, not silently lost.
   */
  ifMatch?: string;
  /** SHA-256 of the body, when the caller already has it (saves a pass; sent for checking). */
  sha256?: Uint8Array;
  /** Aborts the write (and its retries). */
  signal?: AbortSignal;
}

/** What a `get` may be told besides the key and range. */
export interface GetOptions {
  /** Aborts the read (and its retries). */
  signal?: AbortSignal;
  /**
   * The most bytes the object may hold (what its manifest record allows once sealed). A larger
   * object fails with IntegrityError before its body is read: S3 checks Content-Length and
   * Content-Range and drops the connection, the local store checks the file's size; a body
   * sent without a length is read no further than this. Absent: no limit.
   */
  maxBytes?: number;
}

/**
 * `get`'s third argument: options, or (as callers wrote it before GetOptions existed) just a
 * signal. Wrappers such as limited_store.ts forward it untouched, so both forms keep working.
 */
export type GetArg = GetOptions | AbortSignal | undefined;

/** The options in a `get` argument, whichever form it came in. */
export function getOptionsOf(arg: GetArg): GetOptions {
  if (arg === undefined) return {};
  return arg instanceof AbortSignal ? { signal: arg } : arg;
}

/** Inclusive byte range. */
export interface ByteRange {
  /** Offset of the first byte. */
  start: number;
  /** Offset of the last byte (inclusive, as in an HTTP Range header). */
  end: number;
}

/** One listing entry: an object, or (with a delimiter) a folded common prefix. */
export type ListEntry =
  | { kind: "object"; key: string; size: number; etag: string }
  | { kind: "prefix"; prefix: string };

/** The outcome of a batch delete: S3 reports each key on its own. */
export interface DeleteReport {
  /** Keys deleted, or already absent. */
  deleted: string[];
  /** Keys that could not be deleted, with the store's reason for each. */
  failed: { key: string; reason: string }[];
}

/** One bucket of an object store (S3 or a local directory), as the pipelines use it. */
export interface Store {
  /** For messages: `s3://bucket` or `file:///dir/bucket`. */
  readonly location: string;
  /** Fails with NotFoundError/AccessError if the bucket is unusable. */
  checkBucket(): Promise<void>;
  /** Writes the object whole (multipart when large) and returns its ETag. */
  put(key: string, body: Uint8Array, opts?: PutOptions): Promise<{ etag: string }>;
  /**
   * The object's bytes (or the range's). NotFoundError if missing; IntegrityError, before the
   * body is read, if it holds more than `maxBytes`.
   */
  get(key: string, range?: ByteRange, opts?: GetArg): Promise<Uint8Array>;
  /** undefined if missing. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Keys in ascending order; with a delimiter, common prefixes are folded (in key order). */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  /**
   * Deletes these keys (any number, batched as needed); a key refused alone is reported, not
   * thrown.
   */
  delete(keys: string[]): Promise<DeleteReport>;
  /** Ask for a temporary readable copy of an archived object (S3 RestoreObject). */
  restore(key: string, days: number, tier: RestoreTier): Promise<RestoreRequestResult>;
  /**
   * Object Lock (S3 only; absent on stores without it, lib/store/object_lock.ts). The bucket's
   * lock configuration; `quiet`: one attempt, as the answer is only reported.
   */
  bucketLock?(quiet?: boolean): Promise<BucketLock>;
  /** Give an existing object this lock (retention, legal hold), then read it back. */
  setLock?(key: string, lock: LockSettings): Promise<void>;
  /** From now on every object written carries this lock (a bucket default made explicit). */
  adoptLock?(lock: LockSettings): void;
  /** The lock of one object (version), read back with GetObjectRetention / GetObjectLegalHold. */
  objectLock?(key: string, versionId?: string): Promise<LockSettings>;
  /** Every version and delete marker under `prefix` (ListObjectVersions). */
  versions?(prefix: string): AsyncIterable<ObjectVersion>;
  /** Delete these versions for good; `bypass` sends the GOVERNANCE bypass header. */
  deleteVersions?(refs: VersionRef[], bypass: boolean): Promise<VersionDeleteReport>;
}

/** S3's listing order: UTF-8 bytes, which differs from UTF-16 order above the BMP. */
export function compareKeys(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
    if (ea[i] !== eb[i]) return ea[i] - eb[i];
  }
  return ea.length - eb.length;
}
