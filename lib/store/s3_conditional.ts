/**
 * Conditional writes (If-None-Match, If-Match) where the server's own check falls short: a
 * conditional PUT whose first answer was lost, Ceph's If-Match on a versioned bucket, and
 * servers without conditional PUTs at all (Swift's s3api). S3Store calls these with itself.
 * @module
 */
import { createHash } from "node:crypto";
import { ExistsError } from "../errors.ts";
import { MULTIPART_THRESHOLD } from "./s3_large.ts";
import type { PutOptions, Store } from "./store.ts";

/** What the checks need of the store: its name, HEAD, GET and PUT. */
export type Writer = Pick<Store, "location" | "head" | "get" | "put">;

/**
 * A conditional PUT retried after its answer was lost (reset, timeout) finds its own first
 * write and gets 412: when the object there holds exactly our bytes, the write did happen
 * (success, not "already exists"). `sse`: the store encrypts on the server, so the ETag is no
 * MD5. Any other failure `e` is rethrown.
 */
export async function afterRefusedPut(
  store: Writer,
  e: unknown,
  key: string,
  body: Uint8Array,
  opts: PutOptions,
  sse: boolean,
): Promise<{ etag: string }> {
  if (!(e instanceof ExistsError) || !(opts.ifNoneMatch || opts.ifMatch)) throw e;
  const there = await store.head(key);
  // A single-part upload's ETag is the MD5 of its bytes.
  const md5 = createHash("md5").update(body).digest("hex");
  if (there?.etag.replace(/"/g, "") === md5) return { etag: there.etag };
  // Under SSE-KMS or SSE-C, AWS's ETag is not the MD5: compare the bytes themselves (this
  // is the manifest, small next to a chunk).
  if (there && sse && there.size === body.length && body.length <= MULTIPART_THRESHOLD) {
    const stored = await store.get(key, undefined, { maxBytes: body.length }).catch(() => null);
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
  ) return await store.put(key, body, { ...opts, ifMatch: undefined });
  throw e;
}

/**
 * A conditional write on a server without conditional PUTs: HEAD, refuse as the server would
 * have (ExistsError), then write unconditionally. Weaker than the real thing: another writer
 * can slip in between the HEAD and the PUT (README "Providers").
 */
export async function putCheckedByHead(
  store: Writer,
  key: string,
  body: Uint8Array,
  opts: PutOptions,
): Promise<{ etag: string }> {
  const there = await store.head(key);
  const lost = opts.ifNoneMatch
    ? there !== undefined
    : there?.etag.replace(/"/g, "") !== opts.ifMatch!.replace(/"/g, "");
  if (lost) throw new ExistsError(`PUT ${store.location}/${key}: the object already exists`);
  return await store.put(key, body, { ...opts, ifNoneMatch: undefined, ifMatch: undefined });
}
