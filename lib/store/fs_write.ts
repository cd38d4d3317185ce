/**
 * Durable writes for the local store: an object's bytes go to a temporary name, fsync'd, then
 * to their name (renamed, or linked for a create-if-absent), and the directory is fsync'd; a
 * directory is fsync'd into its parent when created, and once per process before the first
 * object goes into it (an earlier run may have created it and died before it was durable).
 * @module
 */
import { ExistsError, StoreError } from "../errors.ts";
import { pacedLoop, type Pacer } from "./bandwidth.ts";
import { notRegular } from "./fs_files.ts";

/** The name prefix of temporary files and lock files: never listed as objects. */
export const TMP_MARK = ".s3duct-tmp-";

/** fsync a directory, which makes the names created, renamed or removed in it durable. */
export async function fsyncDir(path: string): Promise<void> {
  using dir = await Deno.open(path, { read: true });
  await dir.sync();
}

/** Write `body` to the new file `tmp` (slice by slice under `pacer`) and fsync it. */
export async function writeSynced(tmp: string, body: Uint8Array, pacer?: Pacer): Promise<void> {
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    await pacedLoop(body.length, pacer, (off, n) => file.write(body.subarray(off, off + n)));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Give `tmp` the name `path` only if nothing has it: link() refuses to replace an existing
 * name, an atomic create-if-absent.
 * @throws {ExistsError} `path` exists (with the message `refusal`).
 */
export async function linkNew(tmp: string, path: string, refusal: string): Promise<void> {
  try {
    await Deno.link(tmp, path);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) throw new ExistsError(refusal);
    throw e;
  }
}

/** The directories below one bucket directory, created and fsync'd before objects go in. */
export class DurableDirs {
  /**
   * Directories (relative to the bucket) fsync'd into their parent by this process: the sync,
   * shared by the uploads into a directory that run at once.
   */
  readonly #synced = new Map<string, Promise<void>>();

  /** The directories below `dir`, the bucket directory of the store at `location`. */
  constructor(readonly dir: string, readonly location: string) {}

  /**
   * Create the directories of `rel` (below the bucket) that are missing, refusing symlinks on
   * the way (mkdir -p would follow them out of the bucket). Each is fsync'd into its parent
   * when created, and once per process otherwise, before an object is placed below it.
   */
  async ensure(rel: string): Promise<void> {
    if (!rel) return;
    const segs = rel.split("/");
    for (let i = 1; i <= segs.length; i++) {
      const sub = segs.slice(0, i).join("/");
      const abs = `${this.dir}/${sub}`;
      const created = await this.#made(sub, abs);
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

  /** Make sure `abs` (`sub` below the bucket) is a directory, no symlink; true if created now. */
  async #made(sub: string, abs: string): Promise<boolean> {
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
    return created;
  }
}
