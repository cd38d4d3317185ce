/**
 * Listing a local store: the regular files below the bucket directory, found without following
 * a symlink, in S3's key order, with S3's prefix, delimiter and start-after semantics.
 * @module
 */
import { compareKeys, type ListEntry, type ListOptions } from "./store.ts";
import { TMP_MARK } from "./fs_write.ts";

/** One object file found by {@linkcode walk}: its key and size. */
export interface FoundFile {
  /** The key: the path below the bucket directory. */
  key: string;
  /** The file's size in bytes. */
  size: number;
}

/** Regular files below `base/rel`, never through a symlink (readDir does not follow them). */
export async function walk(base: string, rel: string, out: FoundFile[]): Promise<void> {
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

/**
 * The listing of `files` under `prefix` as S3 gives it: in key order, after `startAfter`, keys
 * past a `delimiter` folded into one prefix entry each.
 */
export function* listed(
  files: FoundFile[],
  prefix: string,
  opts: ListOptions,
): Iterable<ListEntry> {
  files.sort((a, b) => compareKeys(a.key, b.key));
  const seen = new Set<string>();
  for (const e of files) {
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
