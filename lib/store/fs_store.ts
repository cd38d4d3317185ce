/**
 * Local-directory store: object KEY of bucket B lives at ROOT/B/KEY. ETags are quoted MD5s, as
 * S3 gives for single-part uploads, so manifests stay comparable.
 *
 * Only regular files are objects. Below the bucket directory a symbolic link, FIFO, device or
 * socket is never read, written through, listed or deleted: reading one is an IntegrityError
 * (exit 4), `list` skips it and does not walk into symlinked directories, so `delete` and
 * `cleanup`, which act on what is listed or on a manifest's keys, never touch what `list` does
 * not show. The store root and the bucket directory themselves may be symlinks: that is where
 * an administrator chose to keep the data. Every path is checked with lstat (and its real path)
 * before it is opened, since opening a FIFO blocks until a writer comes; the opened file is
 * checked again (same inode, still a regular file), so a swap in between is caught too.
 *
 * Durability: an object is written to a temporary name, fsync'd, and renamed (or linked) into
 * place, then its directory is fsync'd; a directory is fsync'd into its parent when created (and
 * once per process before the first object goes into it, in case an earlier run created it and
 * died before it was durable). So once `put` returns, a power loss keeps the object, and a
 * manifest, written last, never names a chunk the file system can still lose. Deletes fsync
 * the directories they changed, so "chunks first, manifest last" holds across a power loss too.
 */
import {
  ExistsError,
  IntegrityError,
  NotFoundError,
  OversizeObjectError,
  StoreError,
} from "../errors.ts";
import { md5Hex } from "../crypto/hash.ts";
import type { Pacer } from "./bandwidth.ts";
import {
  isDir,
  isMissing,
  kindOf,
  md5Of,
  notRegular,
  openRegular,
  readPaced,
  readWhole,
} from "./fs_files.ts";
import { type FoundFile, listed, walk } from "./fs_list.ts";
import { DurableDirs, fsyncDir, linkNew, TMP_MARK, writeSynced } from "./fs_write.ts";
import { type GetArg, getOptionsOf } from "./store.ts";
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

/** Opens an object's file only if it is the regular file lstat saw (fs_files.ts); for tests. */
export { openRegular };
export type { OpenedFile } from "./fs_files.ts";

/** A local-directory bucket (see the module comment for what it reads, writes and syncs). */
export class FsStore implements Store {
  readonly location: string;
  readonly #root: string;
  readonly #dir: string;
  /** The bucket directory's real path (it may be a symlink), resolved once. */
  #realDir?: Promise<string>;
  /** The directories below the bucket, made and fsync'd before objects go in. */
  readonly #dirs: DurableDirs;
  /** `--bandwidth-limit`: bodies move slice by slice under it. */
  #pacer?: Pacer;

  /** The bucket `bucket` as the directory `root/bucket` (`root`: the store directory). */
  constructor(root: string, bucket: string) {
    this.#root = root.replace(/\/+$/, "") || "/";
    this.#dir = `${this.#root}/${bucket}`;
    this.location = `file://${this.#dir}`;
    this.#dirs = new DurableDirs(this.#dir, this.location);
  }

  /** Pace every body read or written from now on (`--bandwidth-limit`). */
  setPacer(pacer: Pacer): void {
    this.#pacer = pacer;
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

  /** Durable on return: a temporary file, fsync'd, renamed (or linked) into place, dir fsync'd. */
  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.#path(key);
    const dir = path.slice(0, path.lastIndexOf("/"));
    const tmp = `${dir}/${TMP_MARK}${crypto.randomUUID()}`;
    // The ETag hash runs on another thread while the file is written.
    const etag = md5Hex(body);
    etag.catch(() => {}); // awaited below; a failed write must not leave it unhandled
    try {
      await this.#dirs.ensure(parentOf(key));
      await writeSynced(tmp, body, this.#pacer);
      if (opts.ifNoneMatch) {
        await linkNew(tmp, path, `object '${key}' already exists in ${this.location}`);
      } else if (opts.ifMatch !== undefined) {
        await this.#replaceIfMatch(key, dir, tmp, path, opts.ifMatch);
      } else {
        await Deno.rename(tmp, path);
      }
      // The new name is only durable once its directory is: without this, a power loss can
      // keep a manifest and lose the chunk renamed just before it.
      await fsyncDir(dir);
    } catch (e) {
      throw wrapFsError(e, key);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    return { etag: `"${await etag}"` };
  }

  /**
   * If-Match for a directory: under a lock file (so two replacing writers take turns), the file
   * there must still hash to the ETag read earlier, then the new one is renamed over it.
   */
  async #replaceIfMatch(key: string, dir: string, tmp: string, path: string, etag: string) {
    // A kernel lock (released when the process dies, however it dies) on a file that stays:
    // a lock file that had to be removed could outlive a SIGKILL and block every later write.
    const lockPath = `${dir}/${TMP_MARK}lock-${path.slice(dir.length + 1)}`;
    using lock = await Deno.open(lockPath, { write: true, create: true, mode: 0o600 });
    await lock.lock(true);
    try {
      const now = await this.head(key);
      if (now?.etag.replace(/"/g, "") !== etag.replace(/"/g, "")) {
        throw new ExistsError(`object '${key}' changed in ${this.location} since it was read`);
      }
      await Deno.rename(tmp, path);
    } finally {
      await lock.unlock();
    }
  }

  async get(key: string, range?: ByteRange, arg?: GetArg): Promise<Uint8Array> {
    const { maxBytes } = getOptionsOf(arg);
    const path = this.#path(key);
    try {
      const seen = await this.#regular(key, path);
      if (!seen) throw new NotFoundError(`object '${key}' does not exist in ${this.location}`);
      // Sized before a byte is read: a 3 GiB file where a 1 MiB chunk belongs costs one stat.
      if (maxBytes !== undefined && seen.size > maxBytes) {
        throw new OversizeObjectError(key, this.location, seen.size, maxBytes);
      }
      using opened = await openRegular(key, path, seen, this.location);
      const { file, info } = opened;
      if (maxBytes !== undefined && info.size > maxBytes) {
        throw new OversizeObjectError(key, this.location, info.size, maxBytes);
      }
      if (!range) return await readWhole(file, info.size, key, this.#pacer);
      await file.seek(range.start, Deno.SeekMode.Start);
      const want = Math.max(0, Math.min(range.end + 1, info.size) - range.start);
      const buf = new Uint8Array(want);
      return buf.subarray(0, await readPaced(file, buf, this.#pacer));
    } catch (e) {
      if (isMissing(e)) {
        throw new NotFoundError(`object '${key}' does not exist in ${this.location}`);
      }
      throw wrapFsError(e, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#path(key);
    try {
      const seen = await this.#regular(key, path);
      if (!seen) return undefined;
      using opened = await openRegular(key, path, seen, this.location);
      // A local store has no stored ETag: hashing on HEAD keeps `verify` meaningful here.
      const etag = `"${await md5Of(opened.file, opened.info.size, key)}"`;
      return { key, size: opened.info.size, etag, metadata: {} };
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
    const entries: FoundFile[] = [];
    // The walk never follows a symlink, including on the way down to where it starts.
    if (await this.#plainDirs(start)) await walk(this.#dir, start, entries);
    yield* listed(entries, prefix, opts);
  }

  /** Removes the regular files of `keys` (missing counts as deleted), then fsyncs their folders. */
  async delete(keys: string[]): Promise<DeleteReport> {
    const report: DeleteReport = { deleted: [], failed: [] };
    const changed = new Set<string>();
    for (const key of keys) {
      try {
        const path = this.#path(key);
        // Only what list would show: a regular file, reached without a symlink. A directory or
        // a missing file is no object, so there is nothing to delete.
        const seen = await this.#regular(key, path);
        if (seen) {
          await Deno.remove(path);
          changed.add(path.slice(0, path.lastIndexOf("/")));
        }
        report.deleted.push(key);
      } catch (e) {
        if (isMissing(e)) report.deleted.push(key);
        else report.failed.push({ key, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    // Callers delete chunks, then (in a later call) the manifest: syncing each batch keeps
    // that order across a power loss, so a surviving manifest never names a vanished chunk
    // for want of a sync.
    for (const dir of changed) await fsyncDir(dir).catch(() => {});
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

  /**
   * What is at `key`, if it is an object: a regular file (its lstat info), undefined when
   * nothing or a directory is there. A symlink or special file at the key, or a symlink on the
   * way to it, is an IntegrityError; nothing is opened.
   */
  async #regular(key: string, path: string): Promise<Deno.FileInfo | undefined> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    if (info.isDirectory) return undefined;
    if (!info.isFile) throw notRegular(key, this.location, kindOf(info));
    // lstat follows symlinked directories above the file: the real path says if one was.
    if ((await Deno.realPath(path)) !== `${await this.#bucketReal()}/${key}`) {
      throw notRegular(key, this.location, "reached through a symbolic link");
    }
    return info;
  }

  #bucketReal(): Promise<string> {
    this.#realDir ??= Deno.realPath(this.#dir);
    return this.#realDir;
  }

  /** Every directory on `rel` (below the bucket) exists and none is a symlink. */
  async #plainDirs(rel: string): Promise<boolean> {
    let at = this.#dir;
    for (const seg of rel ? rel.split("/") : []) {
      at += `/${seg}`;
      const st = await Deno.lstat(at).catch(() => undefined);
      if (!st?.isDirectory) return false;
    }
    return true;
  }
}

function parentOf(key: string): string {
  return key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "";
}

function wrapFsError(e: unknown, key: string): unknown {
  if (
    e instanceof ExistsError || e instanceof StoreError || e instanceof NotFoundError ||
    e instanceof IntegrityError
  ) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreError(`local store failed on '${key}': ${msg}`, { cause: e });
}
