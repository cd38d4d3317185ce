/**
 * Reading a local store's object files without being fooled: opening only the regular file
 * lstat saw (a FIFO swapped in would block the open for ever), reading it whole or paced, and
 * hashing it for HEAD. The errors name the object and say what was found instead.
 * @module
 */
import { createHash } from "node:crypto";
import { IntegrityError, StoreError } from "../errors.ts";
import { md5Hex } from "../crypto/hash.ts";
import { buffers } from "../buffer_pool.ts";
import { readFull } from "../read_full.ts";
import { pacedLoop, type Pacer } from "./bandwidth.ts";

/** How often a pending open looks again at what it is opening (see openRegular). */
const OPEN_WATCH_MS = 200;

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
export async function readWhole(
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
export function readPaced(file: Deno.FsFile, buf: Uint8Array, pacer?: Pacer): Promise<number> {
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
export async function md5Of(file: Deno.FsFile, size: number, key: string): Promise<string> {
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

/** What a file that is no regular file is, in words for a message ("a FIFO"). */
export function kindOf(info: Deno.FileInfo): string {
  if (info.isSymlink) return "a symbolic link";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}

/** `subject` is a key (quoted here) or an already-worded "directory 'a/b'". */
export function notRegular(subject: string, location: string, what: string): IntegrityError {
  const name = subject.startsWith("directory '") ? subject : `object '${subject}'`;
  return new IntegrityError(
    `${name} in ${location} is ${what}; the local store reads and writes regular files ` +
      "only, and follows no symbolic link below the bucket directory",
  );
}

/** Missing, or a path through a file (ENOTDIR): either way, no such object. */
export function isMissing(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

/** Whether `path` is a directory (following symlinks); unreadable counts as not. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
