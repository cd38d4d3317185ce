/**
 * Big objects over S3: multipart upload (parts in parallel, each retried alone by the
 * request function, the upload aborted on failure) so chunks of 512 MiB to 5 GiB never meet
 * the 5 GiB single-PUT limit; and parallel ranged GETs pinned to one ETag.
 */
import { XMLParser } from "fast-xml-parser";
import { createHash } from "node:crypto";
import { NotFoundError, OversizeObjectError, StoreError } from "../errors.ts";
import { fromHex, toHex } from "../format/chain.ts";
import { sha256 } from "../crypto/hash.ts";
import { buffers } from "../buffer_pool.ts";
import type { S3Request } from "./s3_request.ts";
import type { GetOptions } from "./store.ts";
import { contentMd5 } from "./object_lock.ts";

/**
 * Bodies larger than this (65 MiB) are put as multipart uploads (unless the put is conditional)
 * and read as parallel ranges; smaller ones in one request. Sealed sizes, not plaintext ones,
 * decide: a 64 MiB chunk sealed by any method (AES +28 B, age +16 B per 64 KiB) stays one PUT
 * and one GET. At 64 MiB flat, AES chunks went up as 4 parts and a 28-byte fifth, and came down
 * as five ranged GETs, a fifth of them for 28 bytes.
 */
export const MULTIPART_THRESHOLD = 65 * 1024 * 1024;
/** The most bytes per multipart part or ranged GET (16 MiB): see {@linkcode spans}. */
export const PART_SIZE = 16 * 1024 * 1024;

/**
 * How a body of `size` bytes is cut into parts (or ranges): as few as PART_SIZE allows, of
 * equal size but the last (smaller by less than one byte per part), so no part is a sliver.
 */
export function spans(size: number): { start: number; end: number }[] {
  const count = Math.max(1, Math.ceil(size / PART_SIZE));
  const span = Math.ceil(size / count);
  return Array.from({ length: count }, (_, i) => ({
    start: i * span,
    end: Math.min(size, (i + 1) * span),
  }));
}
const PARALLEL = 4;
const xml = new XMLParser({ parseTagValue: false, isArray: (n) => n === "Part" });

/** Upload `body` as a multipart upload; resolves to the object's ETag. */
export async function putMultipart(
  request: S3Request,
  key: string,
  body: Uint8Array,
  headers: Record<string, string>,
  signal?: AbortSignal,
  partMd5 = false,
): Promise<{ etag: string }> {
  const init = await request(
    { method: "POST", key, query: { uploads: "" }, headers, signal },
    async (r) => xml.parse(await r.text()),
  );
  const uploadId = String(init?.InitiateMultipartUploadResult?.UploadId ?? "");
  if (!uploadId) throw new StoreError(`multipart upload of ${key}: no UploadId in the answer`);
  const upload: Upload = { request, key, uploadId, signal };
  try {
    const etags = await putParts(upload, body, partMd5);
    return await completeUpload(upload, etags);
  } catch (e) {
    // Never leave a half-uploaded object's parts billing in the bucket.
    await request({ method: "DELETE", key, query: { uploadId } }).catch(() => {});
    throw e;
  }
}

/** A multipart upload under way: how to ask, for which key, its id. */
interface Upload {
  request: S3Request;
  key: string;
  uploadId: string;
  signal?: AbortSignal;
}

/** PUT the parts of `body`, PARALLEL at a time; resolves to their ETags, in order. */
async function putParts(u: Upload, body: Uint8Array, partMd5: boolean): Promise<string[]> {
  const cuts = spans(body.length);
  const etags = new Array<string>(cuts.length);
  await pool(cuts.length, async (i) => {
    const part = body.subarray(cuts[i].start, cuts[i].end);
    const res = await u.request({
      method: "PUT",
      key: u.key,
      query: { partNumber: String(i + 1), uploadId: u.uploadId },
      // Object Lock: AWS refuses a part of a locked object without Content-MD5.
      headers: partMd5 ? { "content-md5": contentMd5(part) } : undefined,
      body: part,
      bodySha256: toHex(await sha256(part)),
      signal: u.signal,
    });
    etags[i] = res.headers.get("etag") ?? "";
  });
  return etags;
}

/** CompleteMultipartUpload of the parts `etags`; resolves to the object's ETag. */
async function completeUpload(u: Upload, etags: string[]): Promise<{ etag: string }> {
  const { request, key, uploadId, signal } = u;
  const doc = new TextEncoder().encode(
    "<CompleteMultipartUpload>" +
      etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
        .join("") +
      "</CompleteMultipartUpload>",
  );
  let done;
  try {
    done = await request(
      { method: "POST", key, query: { uploadId }, body: doc, signal },
      async (r) => xml.parse(await r.text()),
    );
  } catch (e) {
    // A completion retried after its answer was lost finds the upload gone (NoSuchUpload,
    // 404). If the object now has the ETag these parts make, the first try completed it.
    if (!(e instanceof NotFoundError)) throw e;
    const etag = multipartEtag(etags);
    const there = await request({ method: "HEAD", key, signal }).catch(() => undefined);
    if (there?.headers.get("etag")?.replace(/"/g, "") !== etag) throw e;
    return { etag: `"${etag}"` };
  }
  // S3 may answer 200 with an <Error> body when completion fails late.
  if (done?.Error) {
    throw new StoreError(`multipart upload of ${key} failed: ${done.Error.Code}`, {
      transient: true,
      code: String(done.Error.Code),
    });
  }
  // Ceph answers with an ETag the parser may not surface; the parts' MD5s give the same
  // value S3 computes (and lists), so the record always carries a comparable ETag.
  const told = String(done?.CompleteMultipartUploadResult?.ETag ?? "").replace(/"/g, "");
  return { etag: `"${told || multipartEtag(etags)}"` };
}

/**
 * The whole object's size from a GET's head: Content-Range's total for a 206, the body's
 * length for a 200 (undefined when neither says).
 */
export function objectSize(
  status: number,
  headers: Headers,
  length: number | undefined,
): number | undefined {
  if (status !== 206) return length;
  const whole = Number(/\/(\d+)\s*$/.exec(headers.get("content-range") ?? "")?.[1]);
  return Number.isSafeInteger(whole) ? whole : length;
}

/**
 * Refuses an object over `maxBytes` from the response head, before any body byte is read
 * (the transport then drops the connection). Resolves to the object's size, if the head says.
 */
export function admitSize(
  key: string,
  location: string,
  maxBytes: number | undefined,
  status: number,
  headers: Headers,
  length: number | undefined,
): number | undefined {
  const size = objectSize(status, headers, length);
  if (maxBytes !== undefined && size !== undefined && size > maxBytes) {
    throw new OversizeObjectError(key, location, size, maxBytes);
  }
  return size;
}

/**
 * GET a whole object in parallel ranges (one request when it is small), read straight into
 * one pooled buffer of the object's size. With `maxBytes`, an object bigger than that fails
 * with OversizeObjectError on the first answer's head: no buffer of its size is taken and
 * none of its body is read.
 */
export async function getRanged(
  request: S3Request,
  key: string,
  location: string,
  opts: GetOptions = {},
): Promise<Uint8Array> {
  const { signal, maxBytes } = opts;
  let out: Uint8Array = new Uint8Array(0);
  let total: number | undefined;
  // The size the object may have (its record's) sets the ranges; unknown: 16 MiB ones.
  const span = maxBytes === undefined ? PART_SIZE : spans(maxBytes)[0].end;
  const whole = maxBytes !== undefined && maxBytes <= MULTIPART_THRESHOLD;
  const first = await request({
    method: "GET",
    key,
    headers: whole ? {} : { range: `bytes=0-${span - 1}` },
    signal,
    // A server that ignores the range and sends the whole object without a length is
    // still read no further than the object may be.
    maxBody: maxBytes,
    sink: (length, headers, status) => {
      total = admitSize(key, location, maxBytes, status, headers, length);
      if (length === undefined || total === undefined) return undefined;
      // A retried first range (truncated, reset) reuses the buffer taken the first time.
      if (out.length !== total) out = buffers.take(total);
      return out.subarray(0, length);
    },
  });
  const got = first.body;
  // No length in the head (chunked): the object is what came, unless Content-Range says more.
  const size = total ?? got.length;
  if (size <= got.length) return got.length === out.length ? out : got;
  if (out.length !== size) out = buffers.take(size);
  if (got.buffer !== out.buffer || got.byteOffset !== out.byteOffset) out.set(got);
  const etag = first.headers.get("etag") ?? "";
  await getRest({ request, key, signal, etag, out, from: got.length, span });
  return out;
}

/** The ranges of an object after its first: where they land and what they are pinned to. */
interface Rest {
  request: S3Request;
  key: string;
  signal?: AbortSignal;
  /** The first answer's ETag. */
  etag: string;
  /** The whole object's buffer; bytes before `from` are there already. */
  out: Uint8Array;
  from: number;
  /** Bytes per range. */
  span: number;
}

/** GET `out`'s bytes from `from` on, `span` a range, PARALLEL at a time, each into its slot. */
async function getRest(r: Rest): Promise<void> {
  const { request, key, signal, etag, out, from, span } = r;
  const size = out.length;
  const rest = Math.ceil((size - from) / span);
  await pool(rest, async (i) => {
    const start = from + i * span;
    const end = Math.min(size, start + span) - 1;
    const slot = out.subarray(start, end + 1);
    const part = await request({
      method: "GET",
      key,
      // Pinned to the first answer's ETag: a replaced object fails instead of mixing.
      headers: { range: `bytes=${start}-${end}`, "if-match": etag },
      signal,
      maxBody: slot.length,
      sink: (length) => length === slot.length ? slot : undefined,
    });
    if (part.body === slot) return;
    if (part.body.length !== slot.length) {
      throw new StoreError(`GET ${key}: range ${start}-${end} came back short`, {
        transient: true,
      });
    }
    slot.set(part.body); // a chunked answer: right length, its own buffer
  });
}

/** S3's ETag of a multipart object: MD5 of the parts' binary MD5s, "-" part count. */
export function multipartEtag(partEtags: string[]): string {
  const h = createHash("md5");
  for (const e of partEtags) h.update(fromHex(e.replace(/"/g, "")));
  return `${h.digest("hex")}-${partEtags.length}`;
}

/** Run `fn(0..count-1)` with at most PARALLEL at once; the first failure wins. */
async function pool(count: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker));
}
