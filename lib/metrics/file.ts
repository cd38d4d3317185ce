/**
 * The metrics file on disk, replaced atomically: the new text goes to a temporary file in the
 * same directory (named so node_exporter's `*.prom` glob never picks it up), is fsync'd, then
 * renamed over the old one, so a scrape sees the old file or the new one, never half of
 * either. A lock file beside it (`.NAME.lock`, flock) makes read-update-write one step, so two
 * cron jobs sharing a file never lose each other's update. Synchronous on purpose: it also
 * runs inside a signal handler, where the process is about to exit.
 */

/** A metrics file bigger than this is not ours to merge into (ours are a few KiB per job). */
const MAX_BYTES = 16 * 1024 * 1024;

/**
 * Replace `path` with `update(its current text)` ("" when it does not exist yet).
 * @param path the metrics file
 * @param update the new text from the old
 * @throws Error when the directory cannot be written or the old file cannot be read
 */
export function updateFile(path: string, update: (old: string) => string): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  const lock = Deno.openSync(`${dir}/.${base}.lock`, { create: true, write: true, mode: 0o644 });
  try {
    lock.lockSync(true);
    const text = update(readOld(path));
    const tmp = `${dir}/.${base}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      writeSynced(tmp, new TextEncoder().encode(text));
      Deno.renameSync(tmp, path);
    } catch (e) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // never created, or already renamed
      }
      throw e;
    }
  } finally {
    lock.close(); // releases the lock
  }
}

/** The current file's text; "" when there is none. */
function readOld(path: string): string {
  let size: number;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile) throw new Error(`'${path}' is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
  if (size > MAX_BYTES) {
    throw new Error(`'${path}' is ${size} bytes, over ${MAX_BYTES}: not an s3duct metrics file`);
  }
  return Deno.readTextFileSync(path);
}

/** Write all of `bytes` to a new file and fsync it; readable by the collector's user (0644). */
function writeSynced(path: string, bytes: Uint8Array): void {
  const f = Deno.openSync(path, { createNew: true, write: true, mode: 0o644 });
  try {
    for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
    f.syncSync();
  } finally {
    f.close();
  }
}
