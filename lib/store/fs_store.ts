/**
 * Local-directory store: object KEY of bucket B lives at ROOT/B/KEY. Objects are written to a
 * temporary name, fsync'd and renamed, so a crash never leaves a half-written object.
 * ETags are quoted MD5s, as S3 gives for single-part uploads, so manifests stay comparable.
 */
import { ExistsError, NotFoundError, StoreError } from "../errors.ts";
import { md5Hex } from "../crypto/hash.ts";
import { buffers } from "../buffer_pool.ts";
import { readFull } from "../read_full.ts";
import { compareKeys } from "./store.ts";
import type {
  ByteRange,
  DeleteReport,
  ListEntry,
  ListOptions,
  ObjectInfo,
  PutOptions,
  RestoreRequestResult,
  Store,
} from "./store.ts";

const TMP_MARK = ".s3duct-tmp-";

export class FsStore implements Store {
  readonly location: string;
  readonly #root: string;
  readonly #dir: string;

  constructor(root: string, bucket: string) {
    this.#root = root.replace(/\/+$/, "") || "/";
    this.#dir = `${this.#root}/${bucket}`;
    this.location = `file://${this.#dir}`;
  }

  async checkBucket(): Promise<void> {
    if (!(await isDir(this.#root))) {
      throw new NotFoundError(`store directory '${this.#root}' does not exist; create it first`);
    }
    if (!(await isDir(this.#dir))) {
      throw new NotFoundError(
        `bucket '${this.#dir}' does not exist; create it with: mkdir -p '${this.#dir}'`,
      );
    }
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.#path(key);
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash);
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${dir}/${TMP_MARK}${crypto.randomUUID()}`;
    // The ETag hash runs on another thread while the file is written.
    const etag = md5Hex(body);
    etag.catch(() => {}); // awaited below; a failed write must not leave it unhandled
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      try {
        let off = 0;
        while (off < body.length) off += await file.write(body.subarray(off));
        await file.sync();
      } finally {
        file.close();
      }
      if (opts.ifNoneMatch) {
        // link() refuses to replace an existing name: an atomic create-if-absent.
        try {
          await Deno.link(tmp, path);
        } catch (e) {
          if (e instanceof Deno.errors.AlreadyExists) {
            throw new ExistsError(`object '${key}' already exists in ${this.location}`);
          }
          throw e;
        }
      } else {
        await Deno.rename(tmp, path);
      }
    } catch (e) {
      throw wrapFsError(e, key);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    return { etag: `"${await etag}"` };
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const path = this.#path(key);
    try {
      if (!range) return await readWhole(path);
      using file = await Deno.open(path, { read: true });
      await file.seek(range.start, Deno.SeekMode.Start);
      const buf = new Uint8Array(range.end - range.start + 1);
      return buf.subarray(0, await readFull(file, buf));
    } catch (e) {
      if (isMissing(e) || e instanceof Deno.errors.IsADirectory) {
        throw new NotFoundError(`object '${key}' does not exist in ${this.location}`);
      }
      throw wrapFsError(e, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await Deno.stat(this.#path(key));
      if (!st.isFile) return undefined;
      // A local store has no stored ETag: hashing on HEAD keeps `verify` meaningful here.
      const etag = `"${await md5Hex(await Deno.readFile(this.#path(key)))}"`;
      return { key, size: st.size, etag, metadata: {} };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw wrapFsError(e, key);
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    if (prefix.split("/").some((s) => s === "." || s === "..")) {
      throw new StoreError(`list prefix '${prefix}' has '.' or '..' segments`);
    }
    const start = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const entries: { key: string; size: number }[] = [];
    await walk(this.#dir, start, entries);
    entries.sort((a, b) => compareKeys(a.key, b.key));
    const seen = new Set<string>();
    for (const e of entries) {
      if (!e.key.startsWith(prefix)) continue;
      if (opts.startAfter !== undefined && compareKeys(e.key, opts.startAfter) <= 0) continue;
      if (opts.delimiter) {
        const cut = e.key.indexOf(opts.delimiter, prefix.length);
        if (cut >= 0) {
          const p = e.key.slice(0, cut + opts.delimiter.length);
          if (!seen.has(p)) {
            seen.add(p);
            yield { kind: "prefix", prefix: p };
          }
          continue;
        }
      }
      yield { kind: "object", key: e.key, size: e.size, etag: "" };
    }
  }

  async delete(keys: string[]): Promise<DeleteReport> {
    const report: DeleteReport = { deleted: [], failed: [] };
    for (const key of keys) {
      try {
        await Deno.remove(this.#path(key));
        report.deleted.push(key);
      } catch (e) {
        if (isMissing(e)) report.deleted.push(key);
        else report.failed.push({ key, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    return report;
  }

  /** A directory has no archive tiers: every object is readable now. */
  restore(key: string): Promise<RestoreRequestResult> {
    this.#path(key);
    return Promise.resolve("available");
  }

  #path(key: string): string {
    if (key === "" || key.split("/").some((s) => s === "" || s === "." || s === "..")) {
      throw new StoreError(`object key '${key}' cannot be stored in a directory`);
    }
    return `${this.#dir}/${key}`;
  }
}

/** The whole file, read into a pooled buffer of its size. */
async function readWhole(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const buf = buffers.take(size);
  if (await readFull(file, buf) < size) {
    throw new StoreError(`'${path}' shrank while being read`, { transient: true });
  }
  return buf;
}

/** Missing, or a path through a file (ENOTDIR): either way, no such object. */
function isMissing(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function walk(base: string, rel: string, out: { key: string; size: number }[]) {
  let it: AsyncIterable<Deno.DirEntry>;
  try {
    it = Deno.readDir(rel ? `${base}/${rel}` : base);
    for await (const e of it) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith(TMP_MARK)) continue;
      if (e.isDirectory) await walk(base, key, out);
      else if (e.isFile) out.push({ key, size: (await Deno.stat(`${base}/${key}`)).size });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
  }
}

function wrapFsError(e: unknown, key: string): unknown {
  if (e instanceof ExistsError || e instanceof StoreError || e instanceof NotFoundError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreError(`local store failed on '${key}': ${msg}`, { cause: e });
}
