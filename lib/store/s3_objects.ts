/**
 * S3Store's object requests beyond put and get: HEAD's answer as ObjectInfo, ListObjectsV2
 * paging, DeleteObjects batches and RestoreObject. Each takes the store's signed, retried
 * request function; none holds state.
 * @module
 */
import { XMLParser } from "fast-xml-parser";
import { createHash } from "node:crypto";
import { StoreError } from "../errors.ts";
import { lockFromHeaders } from "./object_lock.ts";
import type { S3Request } from "./s3_request.ts";
import {
  compareKeys,
  type DeleteReport,
  type ListEntry,
  type ListOptions,
  type ObjectInfo,
  type RestoreRequestResult,
  type RestoreStatus,
  type RestoreTier,
} from "./store.ts";

/** The largest listing page read (see listObjects). */
const LIST_MAX_BODY = 16 * 1024 * 1024;
const xml = new XMLParser({
  parseTagValue: false,
  isArray: (n) => ["Contents", "CommonPrefixes", "Error", "Deleted"].includes(n),
});

/** A HEAD's answer for `key` as ObjectInfo: size, ETag, class, restore, metadata, lock. */
export function objectInfo(key: string, headers: Headers): ObjectInfo {
  const metadata: Record<string, string> = {};
  headers.forEach((v, k) => {
    if (k.startsWith("x-amz-meta-")) metadata[k.slice(11)] = v;
  });
  return {
    key,
    size: Number(headers.get("content-length") ?? 0),
    etag: headers.get("etag") ?? "",
    storageClass: headers.get("x-amz-storage-class") ?? undefined,
    restore: parseRestoreHeader(headers.get("x-amz-restore")),
    metadata,
    lock: lockFromHeaders(headers),
    versionId: headers.get("x-amz-version-id") ?? undefined,
  };
}

/** ListObjectsV2 under `prefix`, page by page, keys and prefixes merged in key order. */
export async function* listObjects(
  request: S3Request,
  location: string,
  prefix: string,
  opts: ListOptions = {},
): AsyncIterable<ListEntry> {
  let token: string | undefined;
  do {
    const query: Record<string, string> = { "list-type": "2", prefix };
    if (opts.delimiter) query.delimiter = opts.delimiter;
    if (opts.startAfter) query["start-after"] = opts.startAfter;
    if (token) query["continuation-token"] = token;
    // A page of 1000 keys of at most 1024 bytes is ~1.5 MB of XML: anything far bigger is a
    // hostile or broken server, refused before it is read.
    const doc = await request(
      { method: "GET", query, maxBody: LIST_MAX_BODY },
      async (r) => xml.parse(await r.text()),
    );
    const result = doc.ListBucketResult ?? {};
    yield* pageEntries(result);
    const previous = token;
    token = result.IsTruncated === "true" ? String(result.NextContinuationToken ?? "") : undefined;
    // A server that says "more" without moving on would keep us listing forever.
    if (token !== undefined && (token === "" || token === previous)) {
      throw new StoreError(
        `listing '${prefix}' in ${location} does not advance (continuation token ` +
          `${token === "" ? "missing" : "repeated"}); the server is misbehaving`,
      );
    }
  } while (token);
}

// deno-lint-ignore no-explicit-any
function pageEntries(result: any): ListEntry[] {
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
  return page;
}

/** DeleteObjects in batches of 1000; a key S3 refuses is reported with its error code. */
export async function deleteObjects(request: S3Request, keys: string[]): Promise<DeleteReport> {
  const report: DeleteReport = { deleted: [], failed: [] };
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const body = new TextEncoder().encode(
      "<Delete><Quiet>true</Quiet>" +
        batch.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join("") +
        "</Delete>",
    );
    const md5 = createHash("md5").update(body).digest("base64");
    const doc = await request(
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

/** RestoreObject for `days` at `tier`: started, already available, or already in progress. */
export async function restoreObject(
  request: S3Request,
  key: string,
  days: number,
  tier: RestoreTier,
): Promise<RestoreRequestResult> {
  const body = new TextEncoder().encode(
    `<RestoreRequest xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Days>${days}</Days>` +
      `<GlacierJobParameters><Tier>${tier}</Tier></GlacierJobParameters></RestoreRequest>`,
  );
  const md5 = createHash("md5").update(body).digest("base64");
  try {
    // 202: restore started; 200: a restored copy already exists (S3 just extends its days).
    const res = await request({
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
