/**
 * What the store really holds of a stream's chunks, from listings (one request per 1000
 * objects, never a HEAD per chunk). Resume compares its log with this before reusing a chunk,
 * and `put` compares its records with it right before publishing the manifest.
 */
import { chunkName, folderOf, isGeneration, type StreamLayout } from "../format/layout.ts";
import type { Store } from "../store/store.ts";

/** One listed object. An empty `etag` means the store's listing has none (local directory). */
export interface ListedObject {
  /** The object's full key. */
  key: string;
  /** The object's stored size in bytes. */
  size: number;
  /** The listing's ETag as the store gives it (quotes included); "" when it lists none. */
  etag: string;
}

const CHUNK = /^chunk-(\d{6,})$/;

/**
 * The chunk objects (full keys) in the folders these full keys live in: one listing per
 * distinct folder, restricted to `chunk-*` directly in it.
 */
export async function listFolders(
  store: Store,
  keys: Iterable<string>,
): Promise<{ objects: Map<string, ListedObject>; pages: number }> {
  const objects = new Map<string, ListedObject>();
  let pages = 0;
  for (const folder of new Set([...keys].map(folderOf))) {
    let n = 0;
    for await (const e of store.list(`${folder}chunk-`, { delimiter: "/" })) {
      if (e.kind === "object") objects.set(e.key, { key: e.key, size: e.size, etag: e.etag });
      n++;
    }
    // ListObjectsV2 returns up to 1000 keys a page.
    pages += Math.max(1, Math.ceil(n / 1000));
  }
  return { objects, pages };
}

/**
 * Every chunk object of a stream by index, in the standard layout and in each generation
 * folder (a folder holding a manifest is a stream of its own, written before such names were
 * refused, and is left out).
 */
export async function chunkCandidates(
  store: Store,
  layout: StreamLayout,
): Promise<Map<number, ListedObject[]>> {
  const base = layout.full(`${layout.name}/`);
  const folders = [base, ...[...await generationsOf(store, layout)].map((g) => `${base}${g}/`)];
  const out = new Map<number, ListedObject[]>();
  for (const folder of folders) {
    const inFolder: ListedObject[] = [];
    let nested = false;
    for await (const e of store.list(folder, { delimiter: "/" })) {
      if (e.kind !== "object") continue;
      const name = e.key.slice(folder.length);
      if (name === ".manifest.json" && folder !== base) nested = true;
      if (CHUNK.test(name)) inFolder.push({ key: e.key, size: e.size, etag: e.etag });
    }
    if (nested) continue;
    for (const o of inFolder) {
      const i = Number(CHUNK.exec(o.key.slice(folder.length))![1]);
      if (o.key.slice(folder.length) !== chunkName(i)) continue; // chunk-0000001: not ours
      out.set(i, [...(out.get(i) ?? []), o]);
    }
  }
  return out;
}

/** How a chunk the records name stands in the store. */
export type ChunkState = "ok" | "missing" | "differs";

/** A chunk as some record describes it: where, and what its object must look like. */
export interface ExpectedObject {
  /** Full key. */
  key: string;
  /** The ETag the record saw when the chunk was stored. */
  etag: string;
  /** Stored (sealed) size; undefined when the record does not know it. */
  objectSize?: number;
}

/**
 * Compare records with listings. Where a listing carries no ETag (local directory store), the
 * ETag is read with a HEAD only for objects whose size already matched: never a whole file for
 * an object that is wrong anyway, and none at all when `headWhenNoEtag` is false.
 */
export async function compareWithStore(
  store: Store,
  expected: ExpectedObject[],
  opts: { headWhenNoEtag: boolean },
): Promise<{ states: ChunkState[]; sizes: (number | undefined)[]; pages: number }> {
  const { objects: listed, pages } = await listFolders(store, expected.map((e) => e.key));
  const out: ChunkState[] = [];
  for (const e of expected) {
    const o = listed.get(e.key);
    if (!o) {
      out.push("missing");
    } else if (e.objectSize !== undefined && o.size !== e.objectSize) {
      out.push("differs");
    } else if (o.etag !== "") {
      out.push(o.etag === e.etag ? "ok" : "differs");
    } else if (opts.headWhenNoEtag) {
      const info = await store.head(e.key);
      out.push(!info ? "missing" : info.etag === e.etag ? "ok" : "differs");
    } else {
      out.push("ok");
    }
  }
  return { states: out, sizes: expected.map((e) => listed.get(e.key)?.size), pages };
}

/** Generation folders under a stream's name now (one delimiter listing). */
export async function generationsOf(store: Store, layout: StreamLayout): Promise<Set<string>> {
  const base = layout.full(`${layout.name}/`);
  const out = new Set<string>();
  for await (const e of store.list(base, { delimiter: "/" })) {
    if (e.kind !== "prefix" || !e.prefix.startsWith(base)) continue;
    const name = e.prefix.slice(base.length, -1);
    if (isGeneration(name)) out.add(name);
  }
  return out;
}
