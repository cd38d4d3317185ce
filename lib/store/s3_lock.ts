/**
 * Object Lock and versions over S3: the bucket's lock configuration, applying and reading back
 * an object's retention and legal hold, listing object versions and deleting them by version
 * id. S3Store's methods are thin wrappers over these, so its own file stays about transport.
 */
import { XMLParser } from "fast-xml-parser";
import { NotFoundError, StoreError } from "../errors.ts";
import {
  type BucketLock,
  contentMd5,
  describeLock,
  legalHoldXml,
  type LockSettings,
  type ObjectVersion,
  parseLegalHold,
  parseLockConfiguration,
  parseRetention,
  protectsAsMuch,
  retentionXml,
  type VersionDeleteReport,
  type VersionRef,
} from "./object_lock.ts";
import type { S3Request } from "./s3_request.ts";

const xml = new XMLParser({
  parseTagValue: false,
  removeNSPrefix: true,
  isArray: (n) => ["Version", "DeleteMarker", "Error"].includes(n),
});

/**
 * GetObjectLockConfiguration. A bucket without Object Lock answers 404
 * (Ceph: ObjectLockConfigurationNotFoundError, AWS: ObjectLockConfigurationNotFoundError too):
 * `{ enabled: false }`. A missing bucket is told apart by `checkBucket`, which then throws.
 * @param retries retries of a transient failure (0 when the answer is only reported)
 */
export async function bucketLock(
  request: S3Request,
  checkBucket: () => Promise<void>,
  retries?: number,
): Promise<BucketLock> {
  try {
    return await request(
      { method: "GET", query: { "object-lock": "" }, retries },
      async (r) => parseLockConfiguration(await r.text()),
    );
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    await checkBucket(); // NoSuchBucket is a 404 too: that one must stay an error
    return { enabled: false };
  }
}

/** GetObjectRetention and GetObjectLegalHold of one object (version): what it provably has. */
export async function readLock(
  request: S3Request,
  key: string,
  versionId?: string,
): Promise<LockSettings> {
  const v: Record<string, string> = versionId ? { versionId } : {};
  // Ceph answers 404 ObjectLockConfigurationNotFoundError for a version without one.
  const none = (e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  };
  const retention = await request(
    { method: "GET", key, query: { retention: "", ...v } },
    async (r) => parseRetention(await r.text()),
  ).catch(none);
  const hold = await request(
    { method: "GET", key, query: { "legal-hold": "", ...v } },
    async (r) => parseLegalHold(await r.text()),
  ).catch(none);
  return { ...(retention ?? {}), legalHold: hold ?? false };
}

/**
 * PutObjectRetention and PutObjectLegalHold on an object that was written without them (Ceph
 * ignores lock headers on CreateMultipartUpload), then read back: the put fails unless the
 * object now carries at least `lock`.
 */
export async function applyLock(
  request: S3Request,
  key: string,
  lock: LockSettings,
  signal?: AbortSignal,
): Promise<void> {
  const send = async (query: Record<string, string>, text: string) => {
    const body = new TextEncoder().encode(text);
    await request({
      method: "PUT",
      key,
      query,
      body,
      headers: { "content-md5": contentMd5(body), "content-type": "application/xml" },
      signal,
    });
  };
  if (lock.mode && lock.retainUntil) {
    await send({ retention: "" }, retentionXml(lock.mode, lock.retainUntil));
  }
  if (lock.legalHold) await send({ "legal-hold": "" }, legalHoldXml(true));
  const got = await readLock(request, key);
  if (!protectsAsMuch(got, lock)) {
    throw new StoreError(
      `object '${key}' was asked for ${describeLock(lock)} but the server reports ` +
        `${describeLock(got)}; refusing to publish a stream that is not locked as asked`,
    );
  }
}

/**
 * ListObjectVersions under `prefix`, every page: versions and delete markers. The first page
 * is tried once: a server without versioning (Swift's s3api answers 501) is not waited for
 * through every retry; the caller decides what a failure means.
 */
export async function* listVersions(
  request: S3Request,
  prefix: string,
): AsyncIterable<ObjectVersion> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (let page = 0;; page++) {
    const query: Record<string, string> = { versions: "", prefix };
    if (keyMarker !== undefined) query["key-marker"] = keyMarker;
    if (versionMarker !== undefined) query["version-id-marker"] = versionMarker;
    const doc = await request(
      { method: "GET", query, maxBody: 16 * 1024 * 1024, retries: page === 0 ? 0 : undefined },
      async (r) => xml.parse(await r.text()),
    );
    const res = doc?.ListVersionsResult ?? {};
    for (const [tag, marker] of [["Version", false], ["DeleteMarker", true]] as const) {
      for (const v of res[tag] ?? []) {
        yield {
          key: String(v.Key),
          versionId: String(v.VersionId ?? "null"),
          deleteMarker: marker,
          isLatest: String(v.IsLatest) === "true",
          size: Number(v.Size ?? 0),
        };
      }
    }
    if (String(res.IsTruncated) !== "true") return;
    const next = [String(res.NextKeyMarker ?? ""), String(res.NextVersionIdMarker ?? "")];
    // A server that says "more" without moving on would keep us listing forever.
    if (next[0] === "" || (next[0] === keyMarker && next[1] === versionMarker)) {
      throw new StoreError(
        `version listing of '${prefix}' does not advance; the server is misbehaving`,
      );
    }
    [keyMarker, versionMarker] = next;
  }
}

/**
 * DeleteObjects by version id, 1000 a request. `bypass` sends
 * x-amz-bypass-governance-retention (needs s3:BypassGovernanceRetention): GOVERNANCE versions
 * go too; COMPLIANCE ones and legal holds never do.
 */
export async function deleteVersions(
  request: S3Request,
  refs: VersionRef[],
  bypass: boolean,
): Promise<VersionDeleteReport> {
  const report: VersionDeleteReport = { deleted: [], failed: [] };
  for (let i = 0; i < refs.length; i += 1000) {
    const batch = refs.slice(i, i + 1000);
    const body = new TextEncoder().encode(
      "<Delete><Quiet>true</Quiet>" +
        batch.map((r) =>
          `<Object><Key>${escapeXml(r.key)}</Key><VersionId>${escapeXml(r.versionId)}` +
          "</VersionId></Object>"
        ).join("") + "</Delete>",
    );
    const headers: Record<string, string> = { "content-md5": contentMd5(body) };
    if (bypass) headers["x-amz-bypass-governance-retention"] = "true";
    const doc = await request(
      { method: "POST", query: { delete: "" }, headers, body },
      async (r) => xml.parse(await r.text()),
    );
    const failed = new Map<string, string>();
    for (const e of doc?.DeleteResult?.Error ?? []) {
      failed.set(`${e.Key}\n${e.VersionId ?? ""}`, String(e.Code));
    }
    for (const r of batch) {
      const reason = failed.get(`${r.key}\n${r.versionId}`);
      if (reason !== undefined) report.failed.push({ ...r, reason });
      else report.deleted.push(r);
    }
  }
  return report;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
