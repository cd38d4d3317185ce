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
import { ExistsError, IntegrityError, NotFoundError, StoreError } from "../errors.ts";
import { createHash } from "node:crypto";
import { md5Hex } from "../crypto/hash.ts";
import { buffers } from "../buffer_pool.ts";
import { readFull } from "../read_full.ts";
import { pacedLoop, type Pacer } from "./bandwidth.ts";
import { compareKeys, type GetArg, getOptionsOf, OversizeObjectError } from "./store.ts";
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
/** How often a pending open looks again at what it is opening (see openRegular). */
const OPEN_WATCH_MS = 200;

/** A local-directory bucket (see the module comment for what it reads, writes and syncs). */
export class FsStore implements Store {
  readonly location: string;
  readonly #root: string;
  readonly #dir: string;
  /** The bucket directory's real path (it may be a symlink), resolved once. */
  #realDir?: Promise<string>;
  /**
   * Directories (relative to the bucket) fsync'd into their parent by this process: the sync,
   * shared by the uploads into a directory that run at once.
   */
  readonly #synced = new Map<string, Promise<void>>();
  /** `--bandwidth-limit`: bodies move slice by slice under it. */
  #pacer?: Pacer;

  /** The bucket `bucket` as the directory `root/bucket` (`root`: the store directory). */
  constructor(root: string, bucket: string) {
    this.#root = root.replace(/\/+$/, "") || "/";
    this.#dir = `${this.#root}/${bucket}`;
    this.location = `file://${this.#dir}`;
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
      await this.#ensureDir(parentOf(key));
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      try {
        await pacedLoop(
          body.length,
          this.#pacer,
          (off, n) => file.write(body.subarray(off, off + n)),
        );
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
    const entries: { key: string; size: number }[] = [];
    // The walk never follows a symlink, including on the way down to where it starts.
    if (await this.#plainDirs(start)) await walk(this.#dir, start, entries);
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

  /**
   * Create the directories of `rel` (below the bucket) that are missing, refusing symlinks on
   * the way (mkdir -p would follow them out of the bucket). Each is fsync'd into its parent
   * when created, and once per process otherwise, before an object is placed below it.
   */
  async #ensureDir(rel: string): Promise<void> {
    if (!rel) return;
    const segs = rel.split("/");
    for (let i = 1; i <= segs.length; i++) {
      const sub = segs.slice(0, i).join("/");
      const abs = `${this.#dir}/${sub}`;
      let st = await Deno.lstat(abs).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      });
      let created = false;
      if (!st) {
        try {
          await Deno.mkdir(abs);
          created = true;
        } catch (e) {
          // Another upload into the same new directory got there first: fine.
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        }
        st = await Deno.lstat(abs);
      }
      if (st.isSymlink) throw notRegular(`directory '${sub}'`, this.location, "a symbolic link");
      if (!st.isDirectory) {
        throw new StoreError(`cannot store below '${sub}' in ${this.location}: not a directory`);
      }
      let synced = this.#synced.get(sub);
      if (created || !synced) {
        synced = fsyncDir(abs.slice(0, abs.lastIndexOf("/")));
        this.#synced.set(sub, synced);
        const mine = synced;
        // Failed: forget it, so the next put tries again (the error reaches this put below).
        mine.catch(() => this.#synced.get(sub) === mine && this.#synced.delete(sub));
      }
      await synced;
    }
  }
}

/** What an opened object file is, and its fstat (the size to read). */
export interface OpenedFile {
  /** The open file, checked to be the regular file lstat saw. */
  file: Deno.FsFile;
  /** The open file's fstat: its size is what there is to read. */
  info: Deno.FileInfo;
  /** Closes the file (`using` does it on leaving the scope). */
  [Symbol.dispose](): void;
}

/**
 * Open `path`, which lstat saw as the regular file `seen`, and make sure the file opened is
 * that one. Opening blocks (forever) if the name was swapped for a FIFO in between, so while
 * the open is pending the path is looked at again every OPEN_WATCH_MS: if it is no longer that
 * file, this fails at once (a slow but unchanged file just keeps waiting). Exported for tests.
 */
export async function openRegular(
  key: string,
  path: string,
  seen: Deno.FileInfo,
  location: string,
): Promise<OpenedFile> {
  const same = (st: Deno.FileInfo | undefined) =>
    st !== undefined && st.isFile && st.ino === seen.ino && st.dev === seen.dev;
  const opening = Deno.open(path, { read: true });
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = new Promise<never>((_, reject) => {
    const look = async () => {
      const now = await Deno.lstat(path).catch(() => undefined);
      if (done) return;
      if (!same(now)) reject(notRegular(key, location, "replaced while being opened"));
      else timer = setTimeout(look, OPEN_WATCH_MS);
    };
    timer = setTimeout(look, OPEN_WATCH_MS);
  });
  let file: Deno.FsFile;
  try {
    file = await Promise.race([opening, watch]);
  } catch (e) {
    // If the blocked open ever completes (a writer came), close what it opened.
    opening.then((f) => f.close(), () => {});
    throw e;
  } finally {
    done = true;
    clearTimeout(timer);
  }
  try {
    const info = await file.stat();
    if (!same(info)) throw notRegular(key, location, "replaced while being opened");
    return { file, info, [Symbol.dispose]: () => file.close() };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** The first `size` bytes of an open file, in a pooled buffer of that size. */
async function readWhole(
  file: Deno.FsFile,
  size: number,
  key: string,
  pacer?: Pacer,
): Promise<Uint8Array> {
  const buf = buffers.take(size);
  if (await readPaced(file, buf, pacer) < size) {
    throw new StoreError(`'${key}' shrank while being read`, { transient: true });
  }
  return buf;
}

/** readFull, slice by slice under `pacer` when there is one. */
function readPaced(file: Deno.FsFile, buf: Uint8Array, pacer?: Pacer): Promise<number> {
  if (!pacer) return readFull(file, buf);
  return pacedLoop(buf.length, pacer, (off, n) => readFull(file, buf.subarray(off, off + n)));
}

/**
 * Up to this size HEAD hashes the file in one buffer (MD5 on another thread); above it, piece
 * by piece, so a HEAD of a huge file (a 5 GiB chunk, or a 3 GiB file where a small chunk
 * belongs) costs one piece of memory, not the file's size. (node:crypto's MD5 ran ~450 MB/s
 * here against ~600 for the threaded one.)
 */
const HEAD_ONE_SHOT = 64 * 1024 * 1024;
const HEAD_PIECE = 8 * 1024 * 1024;

/** MD5 (hex) of the first `size` bytes of an open file. */
async function md5Of(file: Deno.FsFile, size: number, key: string): Promise<string> {
  if (size <= HEAD_ONE_SHOT) {
    const bytes = await readWhole(file, size, key);
    try {
      return await md5Hex(bytes);
    } finally {
      buffers.give(bytes);
    }
  }
  const h = createHash("md5");
  const piece = new Uint8Array(HEAD_PIECE);
  for (let left = size; left > 0;) {
    const n = await readFull(file, piece.subarray(0, Math.min(left, HEAD_PIECE)));
    if (n === 0) throw new StoreError(`'${key}' shrank while being read`, { transient: true });
    h.update(piece.subarray(0, n));
    left -= n;
  }
  return h.digest("hex");
}

/** fsync a directory, which makes the names created, renamed or removed in it durable. */
async function fsyncDir(path: string): Promise<void> {
  using dir = await Deno.open(path, { read: true });
  await dir.sync();
}

function parentOf(key: string): string {
  return key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "";
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isSymlink) return "a symbolic link";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}

/** `subject` is a key (quoted here) or an already-worded "directory 'a/b'". */
function notRegular(subject: string, location: string, what: string): IntegrityError {
  const name = subject.startsWith("directory '") ? subject : `object '${subject}'`;
  return new IntegrityError(
    `${name} in ${location} is ${what}; the local store reads and writes regular files ` +
      "only, and follows no symbolic link below the bucket directory",
  );
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

/** Regular files below `base/rel`, never through a symlink (readDir does not follow them). */
async function walk(base: string, rel: string, out: { key: string; size: number }[]) {
  let it: AsyncIterable<Deno.DirEntry>;
  try {
    it = Deno.readDir(rel ? `${base}/${rel}` : base);
    for await (const e of it) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith(TMP_MARK)) continue;
      if (e.isDirectory) await walk(base, key, out);
      else if (e.isFile) {
        // lstat, not stat: a name swapped for a symlink since readDir is not followed.
        const st = await Deno.lstat(`${base}/${key}`).catch(() => undefined);
        if (st?.isFile) out.push({ key, size: st.size });
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
  }
}

function wrapFsError(e: unknown, key: string): unknown {
  if (
    e instanceof ExistsError || e instanceof StoreError || e instanceof NotFoundError ||
    e instanceof IntegrityError
  ) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreError(`local store failed on '${key}': ${msg}`, { cause: e });
}
