/**
 * The storage seam: everything above speaks in object keys and byte arrays; only the
 * implementations (S3, local directory) know HTTP, XML or files. A Store is bound to one bucket.
 */

export interface ObjectInfo {
  key: string;
  size: number;
  /** As S3 returns it, double quotes included. */
  etag: string;
  storageClass?: string;
  /** From x-amz-restore: a restore of an archived object was requested (ongoing or done). */
  restore?: RestoreStatus;
  /** User metadata (x-amz-meta-*), keys lower-case without the prefix. */
  metadata: Record<string, string>;
}

export interface RestoreStatus {
  /** true while the thaw runs; false once a readable copy exists (until `expiry`). */
  ongoing: boolean;
  expiry?: string;
}

/** Outcome of asking for a restore: started now, already running, or a copy is readable. */
export type RestoreRequestResult = "initiated" | "in-progress" | "available";

export type RestoreTier = "Standard" | "Bulk" | "Expedited";

export interface ListOptions {
  delimiter?: string;
  /** Only keys after this one (S3 start-after): skips a run of keys without paging through it. */
  startAfter?: string;
}

export interface PutOptions {
  storageClass?: string;
  metadata?: Record<string, string>;
  /** Fail with ExistsError if the key exists (If-None-Match: *). */
  ifNoneMatch?: boolean;
  /** SHA-256 of the body, when the caller already has it (saves a pass; sent for checking). */
  sha256?: Uint8Array;
  signal?: AbortSignal;
}

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type ListEntry =
  | { kind: "object"; key: string; size: number; etag: string }
  | { kind: "prefix"; prefix: string };

export interface DeleteReport {
  deleted: string[];
  failed: { key: string; reason: string }[];
}

export interface Store {
  /** For messages: `s3://bucket` or `file:///dir/bucket`. */
  readonly location: string;
  /** Fails with NotFoundError/AccessError if the bucket is unusable. */
  checkBucket(): Promise<void>;
  put(key: string, body: Uint8Array, opts?: PutOptions): Promise<{ etag: string }>;
  /** NotFoundError if missing. */
  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array>;
  /** undefined if missing. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Keys in ascending order; with a delimiter, common prefixes are folded (in key order). */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  delete(keys: string[]): Promise<DeleteReport>;
  /** Ask for a temporary readable copy of an archived object (S3 RestoreObject). */
  restore(key: string, days: number, tier: RestoreTier): Promise<RestoreRequestResult>;
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
