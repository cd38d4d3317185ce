/**
 * Archive tiers (spec §6.11): which chunk objects need a restore before they can be read, and
 * the up-front check `get` makes so it fails before writing a byte instead of mid-stream.
 */
import { ArchivedError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import type { ObjectInfo, Store } from "../store/store.ts";

/**
 * Classes whose objects cannot be read until restored. GLACIER_IR (instant retrieval) is
 * readable like STANDARD, unlike in s3duct 0.4, which asked for restores it did not need.
 */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(["GLACIER", "DEEP_ARCHIVE"]);

/** readable: not archived; restored: archived with a readable copy; others need waiting. */
export type ChunkState = "missing" | "readable" | "restored" | "in-progress" | "needs-restore";

/** A chunk's state from its HEAD (undefined: no such object); restore status only for archives. */
export function chunkState(info: ObjectInfo | undefined): ChunkState {
  if (!info) return "missing";
  if (!info.storageClass || !ARCHIVE_CLASSES.has(info.storageClass)) return "readable";
  if (info.restore === undefined) return "needs-restore";
  return info.restore.ongoing ? "in-progress" : "restored";
}

/** `fn` over `items` with at most `limit` running at once; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** HEAD every chunk of the stream (or only `records`, a range's); states in that order. */
export function chunkStates(
  store: Store,
  layout: StreamLayout,
  manifest: Manifest,
  records: readonly ChunkRecord[] = manifest.chunks,
): Promise<ChunkState[]> {
  return mapLimit(
    records,
    16,
    async (r) => chunkState(await store.head(layout.full(r.s3_key))),
  );
}

/**
 * For a stream the manifest says was stored in an archive class: fail with ArchivedError
 * naming the restore command unless every chunk is readable. `restoreHint` is that command.
 * Missing chunks are left for the download itself to report. `records` narrows the check to
 * the chunks a range needs.
 */
export async function assertRestored(
  store: Store,
  layout: StreamLayout,
  manifest: Manifest,
  restoreHint: string,
  records: readonly ChunkRecord[] = manifest.chunks,
): Promise<void> {
  if (!manifest.storage_class || !ARCHIVE_CLASSES.has(manifest.storage_class)) return;
  const states = await chunkStates(store, layout, manifest, records);
  const waiting = states.filter((s) => s === "in-progress").length;
  const cold = states.filter((s) => s === "needs-restore").length;
  if (waiting + cold === 0) return;
  const what = [
    cold ? `${cold} not restored` : "",
    waiting ? `${waiting} still being restored` : "",
  ].filter(Boolean).join(", ");
  throw new ArchivedError(
    `stream '${layout.name}' is in ${manifest.storage_class}: ${what} of ${states.length} chunks; ` +
      (cold
        ? `run '${restoreHint}' (add --wait to block until done), then retry`
        : "retry when the restore has finished"),
  );
}

/** The restore command line for messages (no key options: they are the user's to add). */
export function restoreHint(o: {
  bucket: string;
  name: string;
  prefix?: string;
  endpointUrl?: string;
  /** A key was given: say to pass it again (never echo it: `hex:` specs are secret). */
  keyed?: boolean;
}): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
  return [
    "s3duct restore --bucket",
    q(o.bucket),
    "--name",
    q(o.name),
    ...(o.prefix ? ["--prefix", q(o.prefix)] : []),
    ...(o.endpointUrl ? ["--endpoint-url", q(o.endpointUrl)] : []),
    ...(o.keyed ? ["<same --key/--age-identity>"] : []),
  ].join(" ");
}
