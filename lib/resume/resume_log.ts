/**
 * The local resume log of an interrupted `put`: one JSON line per chunk known to be stored,
 * appended and fsync'd in stream order. Unlike s3duct 0.4 (a file per stream NAME), the log
 * is keyed by endpoint + bucket + prefix + name, and its header binds it to the chunk size and
 * a fingerprint of the encryption key or recipients, so a re-run with another target or key is
 * refused instead of producing a broken stream. A torn last line (crash mid-write) is dropped.
 */
import { createHash } from "node:crypto";
import { type ChainedRecord, fromResumeLine, toResumeLine } from "../format/chunk_record.ts";

/**
 * What an interrupted upload is keyed by. The log file name hashes only the canonical parts
 * (endpoint as `canonicalEndpoint` spells it, bucket, prefix + name joined), so one store
 * spelled two ways (`file:///d` and `file:///d/`, `--prefix p --name X` and `--name p/X`)
 * finds one log. `prefix` and `name` say how the log's chunk keys are spelled.
 */
export interface ResumeIdentity {
  /** The endpoint as {@linkcode canonicalEndpoint} spells it ("aws" for AWS). */
  endpoint: string;
  /** The bucket name. */
  bucket: string;
  /** The normalised `--prefix` ("" or ending in "/"). */
  prefix: string;
  /** The stream name. */
  name: string;
}

/** The first line of a log: what it is bound to. */
export interface ResumeHeader extends ResumeIdentity {
  /** Marks the line as a resume log header, format version 1. */
  s3duct_resume: 1;
  /** The chunk size the upload used; a resume needs the same. */
  chunk_size: number;
  /** "none", "aes:<16 hex>" or "age:<16 hex>": never the key itself. */
  key_fingerprint: string;
}

/**
 * The endpoint as one string whatever its spelling: no trailing slashes, lower-case scheme
 * and host, default ports dropped. `undefined` (AWS) stays "aws".
 */
export function canonicalEndpoint(url: string | undefined): string {
  if (url === undefined || url === "aws") return "aws";
  try {
    const u = new URL(url);
    if (u.protocol === "file:") return `file://${u.pathname.replace(/\/+$/, "") || "/"}`;
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return url.replace(/\/+$/, "");
  }
}

/** Where logs live: $S3DUCT_STATE_DIR, else $XDG_STATE_HOME/s3duct, else ~/.s3duct/resume. */
export function stateDir(env: (k: string) => string | undefined): string {
  const explicit = env("S3DUCT_STATE_DIR");
  if (explicit) return explicit;
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return `${xdg}/s3duct`;
  return `${env("HOME") ?? "."}/.s3duct/resume`;
}

/** File name: a hash of the identity (so `a/b` and `a__b` never share a log). */
export function logPath(dir: string, id: ResumeIdentity): string {
  const path = id.prefix + id.name;
  const h = createHash("sha256")
    .update(JSON.stringify(["s3duct-resume-2", canonicalEndpoint(id.endpoint), id.bucket, path]))
    .digest("hex");
  return `${dir}/${h.slice(0, 32)}.jsonl`;
}

/** Parse a log's text: header and the contiguous, well-formed entries (torn tail dropped). */
export function parseLog(text: string): { header?: ResumeHeader; entries: ChainedRecord[] } {
  const lines = text.split("\n");
  // Only newline-terminated lines are complete; the last piece may be torn.
  lines.pop();
  let header: ResumeHeader | undefined;
  const entries: ChainedRecord[] = [];
  for (const [i, line] of lines.entries()) {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      break;
    }
    if (i === 0) {
      if (!isHeader(v)) return { entries: [] };
      header = v;
      continue;
    }
    const r = fromResumeLine(v);
    if (!r || r.index !== entries.length) break;
    entries.push(r);
  }
  return { header, entries };
}

function isHeader(v: unknown): v is ResumeHeader {
  const h = v as ResumeHeader;
  return typeof v === "object" && v !== null && h.s3duct_resume === 1 &&
    typeof h.chunk_size === "number" && typeof h.key_fingerprint === "string" &&
    typeof h.name === "string" && typeof h.bucket === "string";
}

/** An open log being appended to. Each append is durable before it resolves. */
export class ResumeLog {
  /** The log file's path. */
  readonly path: string;
  readonly #file: Deno.FsFile;
  #queue: Promise<void> = Promise.resolve();

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Start a log with this header and the entries kept from an earlier one (rewritten, so a
   * torn tail never stays in the file).
   */
  static async create(
    path: string,
    header: ResumeHeader,
    keep: ChainedRecord[],
  ): Promise<ResumeLog> {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${crypto.randomUUID()}`;
    const text = [header, ...keep.map(toResumeLine)].map((l) => JSON.stringify(l) + "\n").join("");
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    const file = await Deno.open(tmp, { append: true });
    await file.sync();
    await Deno.rename(tmp, path);
    // The rename is durable only once the directory is: a power loss must not bring back an
    // older log that names chunks the re-check has since replaced.
    await syncDir(path.slice(0, path.lastIndexOf("/")));
    return new ResumeLog(path, file);
  }

  /** Append one chunk's line; resolves once it is on disk. Calls are kept in order. */
  append(r: ChainedRecord): Promise<void> {
    const line = new TextEncoder().encode(JSON.stringify(toResumeLine(r)) + "\n");
    this.#queue = this.#queue.then(async () => {
      let off = 0;
      while (off < line.length) off += await this.#file.write(line.subarray(off));
      await this.#file.syncData();
    });
    return this.#queue;
  }

  /** Waits for pending appends (their failures were reported to their callers), then closes. */
  async close(): Promise<void> {
    await this.#queue.catch(() => {});
    this.#file.close();
  }

  /** The upload is published: the log has served its purpose. */
  async remove(): Promise<void> {
    await this.close();
    await Deno.remove(this.path).catch(() => {});
  }
}

/** Read a log file; undefined when there is none. */
export async function readLog(
  path: string,
): Promise<{ header?: ResumeHeader; entries: ChainedRecord[] } | undefined> {
  try {
    return parseLog(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** fsync a directory, so renames and new names in it survive a power loss. */
export async function syncDir(dir: string): Promise<void> {
  using d = await Deno.open(dir, { read: true });
  await d.sync();
}
