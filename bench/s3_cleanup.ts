/**
 * List-and-delete under a prefix with plain SigV4 calls (aws4fetch), so the benchmark's cleanup
 * does not depend on lib/store while the pipeline under test is being rewritten.
 */
import { AwsClient } from "aws4fetch";
import { XMLParser } from "fast-xml-parser";
import { createHash } from "node:crypto";

export interface S3Target {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const xml = new XMLParser({ parseTagValue: false, isArray: (n) => n === "Contents" });

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Delete every object whose key starts with `prefix`; returns how many were deleted. */
export async function deletePrefix(t: S3Target, prefix: string): Promise<number> {
  const client = new AwsClient({
    accessKeyId: t.accessKeyId,
    secretAccessKey: t.secretAccessKey,
    service: "s3",
    region: t.region,
    retries: 2,
  });
  const base = `${t.endpoint.replace(/\/+$/, "")}/${encodeURIComponent(t.bucket)}`;
  let deleted = 0;
  for (;;) {
    // Always list from the start: each round deletes what it listed.
    const q = new URLSearchParams({ "list-type": "2", prefix, "max-keys": "1000" });
    const res = await client.fetch(`${base}?${q}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`list ${prefix}: HTTP ${res.status} ${body.slice(0, 200)}`);
    const keys: string[] = (xml.parse(body).ListBucketResult?.Contents ?? [])
      .map((c: { Key: unknown }) => String(c.Key));
    if (keys.length === 0) return deleted;
    const req = new TextEncoder().encode(
      "<Delete><Quiet>true</Quiet>" +
        keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join("") +
        "</Delete>",
    );
    const del = await client.fetch(`${base}?delete`, {
      method: "POST",
      body: req,
      headers: { "content-md5": createHash("md5").update(req).digest("base64") },
    });
    const delBody = await del.text();
    if (!del.ok) {
      throw new Error(`delete under ${prefix}: HTTP ${del.status} ${delBody.slice(0, 200)}`);
    }
    if (delBody.includes("<Error>")) {
      throw new Error(`delete under ${prefix}: ${delBody.slice(0, 200)}`);
    }
    deleted += keys.length;
  }
}

/** Total size of the objects under `prefix` whose key matches `pattern` (a listing). */
export async function sumPrefix(t: S3Target, prefix: string, pattern: RegExp): Promise<number> {
  const client = new AwsClient({
    accessKeyId: t.accessKeyId,
    secretAccessKey: t.secretAccessKey,
    service: "s3",
    region: t.region,
    retries: 2,
  });
  const base = `${t.endpoint.replace(/\/+$/, "")}/${encodeURIComponent(t.bucket)}`;
  let total = 0;
  let token: string | undefined;
  do {
    const q = new URLSearchParams({ "list-type": "2", prefix, "max-keys": "1000" });
    if (token) q.set("continuation-token", token);
    const res = await client.fetch(`${base}?${q}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`list ${prefix}: HTTP ${res.status} ${body.slice(0, 200)}`);
    const list = xml.parse(body).ListBucketResult ?? {};
    for (const c of list.Contents ?? []) if (pattern.test(String(c.Key))) total += Number(c.Size);
    token = list.IsTruncated === "true" ? String(list.NextContinuationToken) : undefined;
  } while (token);
  return total;
}
