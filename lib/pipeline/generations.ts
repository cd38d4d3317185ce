/** Chunk generations: what a finished --clobber removes. */
import type { StreamLayout } from "../format/layout.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";

/**
 * After a publish: remove the replaced stream's chunks (standard layout and other
 * generations) and any left by interrupted uploads, keeping `keep` and any nested stream
 * (a name like `{name}/g12345678` with a manifest of its own). Only generation folders that
 * existed when this put started (`before`) are touched: a folder that appeared since belongs
 * to a put that started later, which may legitimately replace this one.
 * @param keep logical keys the published manifest names
 * @param before generation names (`g1a2b3c4d`) listed when the put started
 * @returns how many chunk objects were removed
 */
export async function deleteOldChunks(
  store: Store,
  layout: StreamLayout,
  keep: Set<string>,
  before: Set<string>,
  log: Log,
): Promise<number> {
  const base = layout.full(`${layout.name}/`);
  const old: string[] = [];
  const nested = new Set<string>();
  for await (const e of store.list(base)) {
    if (e.kind !== "object" || !e.key.startsWith(base)) continue;
    const rest = e.key.slice(base.length);
    const stream = /^(g[0-9a-z]{8})\/\.manifest\.json$/.exec(rest);
    if (stream) nested.add(stream[1]);
    const m = /^(?:(g[0-9a-z]{8})\/)?chunk-\d{6,}$/.exec(rest);
    const ours = m && (m[1] === undefined || before.has(m[1]));
    if (ours && !keep.has(e.key.slice(layout.prefix.length))) old.push(e.key);
  }
  const doomed = old.filter((k) => !nested.has(k.slice(base.length).split("/")[0]));
  if (doomed.length === 0) return 0;
  const report = await store.delete(doomed);
  for (const f of report.failed) log.warn(`could not delete old chunk '${f.key}': ${f.reason}`);
  return report.deleted.length;
}
