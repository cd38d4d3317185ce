/**
 * Big objects over S3: multipart upload (parts in parallel, each retried alone by the
 * request function, the upload aborted on failure) so chunks of 512 MiB to 5 GiB never meet
 * the 5 GiB single-PUT limit; and parallel ranged GETs pinned to one ETag.
 */
import { XMLParser } from "fast-xml-parser";
import { createHash } from "node:crypto";
import { NotFoundError, StoreError } from "../errors.ts";
import { fromHex, toHex } from "../format/chain.ts";
import { sha256 } from "../crypto/hash.ts";
import { buffers } from "../buffer_pool.ts";
import type { BodySink, HttpResponse } from "./http1.ts";

/** A whole S3 response. */
export interface S3Response extends HttpResponse {
  text(): Promise<string>;
}

/** One S3 request, as S3Store makes it. */
export interface S3Call {
  method: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  bodySha256?: string;
  signal?: AbortSignal;
  sink?: BodySink;
}

/** One signed, retried S3 request (S3Store's), as the helpers here need it. */
export type S3Request = <T = S3Response>(
  call: S3Call,
  read?: (res: S3Response) => Promise<T>,
) => Promise<T>;

export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
export const PART_SIZE = 16 * 1024 * 1024;
export const RANGE_SIZE = 16 * 1024 * 1024;
const PARALLEL = 4;
const xml = new XMLParser({ parseTagValue: false, isArray: (n) => n === "Part" });

/** Upload `body` as a multipart upload; resolves to the object's ETag. */
export async function putMultipart(
  request: S3Request,
  key: string,
  body: Uint8Array,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ etag: string }> {
  const init = await request(
    { method: "POST", key, query: { uploads: "" }, headers, signal },
    async (r) => xml.parse(await r.text()),
  );
  const uploadId = String(init?.InitiateMultipartUploadResult?.UploadId ?? "");
  if (!uploadId) throw new StoreError(`multipart upload of ${key}: no UploadId in the answer`);
  try {
    const count = Math.ceil(body.length / PART_SIZE);
    const etags = new Array<string>(count);
    await pool(count, async (i) => {
      const part = body.subarray(i * PART_SIZE, Math.min(body.length, (i + 1) * PART_SIZE));
      const res = await request({
        method: "PUT",
        key,
        query: { partNumber: String(i + 1), uploadId },
        body: part,
        bodySha256: toHex(await sha256(part)),
        signal,
      });
      etags[i] = res.headers.get("etag") ?? "";
    });
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
    return { etag: String(done?.CompleteMultipartUploadResult?.ETag ?? "") };
  } catch (e) {
    // Never leave a half-uploaded object's parts billing in the bucket.
    await request({ method: "DELETE", key, query: { uploadId } }).catch(() => {});
    throw e;
  }
}

/**
 * GET a whole object in parallel ranges (one request when it is small), read straight into
 * one pooled buffer of the object's size.
 */
export async function getRanged(
  request: S3Request,
  key: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  let out: Uint8Array = new Uint8Array(0);
  let total = 0;
  const first = await request({
    method: "GET",
    key,
    headers: { range: `bytes=0-${RANGE_SIZE - 1}` },
    signal,
    sink: (length, headers, status) => {
      const whole = Number(/\/(\d+)$/.exec(headers.get("content-range") ?? "")?.[1]);
      total = status === 206 && Number.isFinite(whole) ? whole : length;
      // A retried first range (truncated, reset) reuses the buffer taken the first time.
      if (out.length !== total) out = buffers.take(total);
      return out.subarray(0, length);
    },
  });
  if (total <= first.body.length) return first.body.length === out.length ? out : first.body;
  const etag = first.headers.get("etag") ?? "";
  const rest = Math.ceil((total - RANGE_SIZE) / RANGE_SIZE);
  await pool(rest, async (i) => {
    const start = (i + 1) * RANGE_SIZE;
    const end = Math.min(total, start + RANGE_SIZE) - 1;
    const slot = out.subarray(start, end + 1);
    const part = await request({
      method: "GET",
      key,
      // Pinned to the first answer's ETag: a replaced object fails instead of mixing.
      headers: { range: `bytes=${start}-${end}`, "if-match": etag },
      signal,
      sink: () => slot,
    });
    if (part.body !== slot) {
      throw new StoreError(`GET ${key}: range ${start}-${end} came back short`, {
        transient: true,
      });
    }
  });
  return out;
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
