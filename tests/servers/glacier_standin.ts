/**
 * A tiny S3 stand-in for what Ceph Pacific lacks: archive storage classes and RestoreObject.
 * It answers only what restore/get/list need, from an in-memory map the test fills:
 * ListObjectsV2 (prefix, delimiter, start-after, 1000-key pages), HEAD (x-amz-storage-class,
 * x-amz-restore), GET (403 InvalidObjectState while archived), POST ?restore, POST ?delete. SigV4 is not
 * checked, but a request without an Authorization header is refused, so unsigned calls show up.
 */
import { createHash } from "node:crypto";

export interface StandinObject {
  body: Uint8Array;
  storageClass: string;
  /** undefined: never asked; "ongoing": thawing; "done": a readable copy exists. */
  restore?: "ongoing" | "done";
}

export interface StandinRequest {
  method: string;
  key: string;
  query: URLSearchParams;
}

const ARCHIVED = new Set(["GLACIER", "DEEP_ARCHIVE"]);
const PAGE = 1000;

export class GlacierStandin {
  readonly objects = new Map<string, StandinObject>();
  readonly requests: StandinRequest[] = [];
  /** Bodies of RestoreObject calls, for checking Days and Tier. */
  readonly restoreBodies: string[] = [];
  /** Keys that multi-object delete reports as failed (AccessDenied), to test partial failure. */
  readonly undeletable = new Set<string>();
  readonly bucket: string;
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(bucket = "standin") {
    this.bucket = bucket;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  put(key: string, body: Uint8Array, storageClass = "STANDARD"): void {
    this.objects.set(key, { body, storageClass });
  }

  /** Every ongoing restore finishes (what AWS does after minutes to hours). */
  finishRestores(): void {
    for (const o of this.objects.values()) if (o.restore === "ongoing") o.restore = "done";
  }

  count(method: string, pred: (r: StandinRequest) => boolean = () => true): number {
    return this.requests.filter((r) => r.method === method && pred(r)).length;
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = decodeURIComponent(url.pathname).replace(/^\//, "");
    const [bucket, ...rest] = path.split("/");
    const key = rest.join("/");
    this.requests.push({ method: req.method, key, query: url.searchParams });
    const body = req.body ? new TextDecoder().decode(await req.arrayBuffer()) : "";
    if (!req.headers.get("authorization")) return error(403, "AccessDenied");
    if (bucket !== this.bucket) return error(404, "NoSuchBucket");
    if (key === "" && req.method === "GET") return this.#list(url.searchParams);
    if (key === "" && req.method === "POST" && url.searchParams.has("delete")) {
      return this.#deleteObjects(body);
    }
    const obj = this.objects.get(key);
    if (req.method === "POST" && url.searchParams.has("restore")) {
      if (!obj) return error(404, "NoSuchKey");
      if (!ARCHIVED.has(obj.storageClass)) return error(403, "InvalidObjectState");
      this.restoreBodies.push(body);
      if (obj.restore === "ongoing") return error(409, "RestoreAlreadyInProgress");
      if (obj.restore === "done") return new Response(null, { status: 200 });
      obj.restore = "ongoing";
      return new Response(null, { status: 202 });
    }
    if (!obj) return error(404, "NoSuchKey", req.method === "HEAD");
    if (req.method === "HEAD") return new Response(null, { headers: headersOf(obj) });
    if (req.method === "GET") {
      if (ARCHIVED.has(obj.storageClass) && obj.restore !== "done") {
        return error(403, "InvalidObjectState");
      }
      return new Response(obj.body as Uint8Array<ArrayBuffer>, { headers: headersOf(obj) });
    }
    return error(501, "NotImplemented");
  }

  #deleteObjects(body: string): Response {
    const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unesc(m[1]));
    const errors = keys.filter((k) => this.undeletable.has(k));
    for (const k of keys) if (!this.undeletable.has(k)) this.objects.delete(k);
    const xml = `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>` +
      errors.map((k) => `<Error><Key>${esc(k)}</Key><Code>AccessDenied</Code></Error>`).join("") +
      `</DeleteResult>`;
    return new Response(xml, { headers: { "content-type": "application/xml" } });
  }

  #list(q: URLSearchParams): Response {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const after = q.get("continuation-token") ?? q.get("start-after") ?? "";
    const entries: { key: string; prefix: boolean }[] = [];
    const seen = new Set<string>();
    for (const key of [...this.objects.keys()].sort()) {
      if (!key.startsWith(prefix) || key <= after) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const p = key.slice(0, cut + delimiter.length);
        // A prefix already returned on an earlier page is not repeated.
        if (!seen.has(p) && !(after.startsWith(p))) entries.push({ key: p, prefix: true });
        seen.add(p);
      } else entries.push({ key, prefix: false });
    }
    const page = entries.slice(0, PAGE);
    const truncated = entries.length > PAGE;
    // The token is the last key or prefix returned; the next page starts after everything under it.
    const last = page.at(-1);
    const token = last ? (last.prefix ? last.key + "\uffff" : last.key) : "";
    const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>` +
      `<Name>${this.bucket}</Name><Prefix>${
        esc(prefix)
      }</Prefix><KeyCount>${page.length}</KeyCount>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (truncated ? `<NextContinuationToken>${esc(token)}</NextContinuationToken>` : "") +
      page.filter((e) => !e.prefix).map((e) => {
        const o = this.objects.get(e.key)!;
        return `<Contents><Key>${esc(e.key)}</Key><Size>${o.body.length}</Size>` +
          `<ETag>${esc(etagOf(o))}</ETag><StorageClass>${o.storageClass}</StorageClass></Contents>`;
      }).join("") +
      page.filter((e) => e.prefix).map((e) =>
        `<CommonPrefixes><Prefix>${esc(e.key)}</Prefix></CommonPrefixes>`
      ).join("") +
      `</ListBucketResult>`;
    return new Response(xml, { headers: { "content-type": "application/xml" } });
  }
}

function etagOf(o: StandinObject): string {
  return `"${createHash("md5").update(o.body).digest("hex")}"`;
}

function headersOf(o: StandinObject): Headers {
  const h = new Headers({ "content-length": String(o.body.length), etag: etagOf(o) });
  // Like S3: STANDARD is implied by the header's absence.
  if (o.storageClass !== "STANDARD") h.set("x-amz-storage-class", o.storageClass);
  if (o.restore === "ongoing") h.set("x-amz-restore", 'ongoing-request="true"');
  if (o.restore === "done") {
    h.set(
      "x-amz-restore",
      `ongoing-request="false", expiry-date="${new Date(Date.now() + 7 * 864e5).toUTCString()}"`,
    );
  }
  return h;
}

function error(status: number, code: string, head = false): Response {
  const body = head
    ? null
    : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code></Error>`;
  return new Response(body, { status, headers: { "content-type": "application/xml" } });
}

function unesc(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
