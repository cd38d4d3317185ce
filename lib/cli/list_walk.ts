/**
 * Finding manifests without listing chunks (spec §8 item 21: s3duct 0.4 lists every object).
 * Each "directory" level is listed with delimiter "/" in two ranges that skip the chunk keys:
 * keys before `chunk-` (where `.manifest.json` and most sub-prefixes sort), stopping at the
 * first chunk key, and keys after `chunk-:` (":" sorts right after the digits) via start-after.
 * So a level costs about two list requests however many chunks it holds.
 */
import type { ListEntry, Store } from "../store/store.ts";

const MANIFEST = ".manifest.json";
const CHUNKS = "chunk-";
/** Past every `chunk-<digits>` key: ':' is the character after '9'. */
const AFTER_CHUNKS = "chunk-:";
const GENERATION_FOLDER = /(^|\/)g[0-9a-z]{8}\/$/;

/** Full keys of every `.manifest.json` at or below `prefix`, in key order. */
export async function* manifestKeys(store: Store, prefix: string): AsyncIterable<string> {
  const before: ListEntry[] = [];
  for await (const e of store.list(prefix, { delimiter: "/" })) {
    // Entries come in key order, so the first chunk key means only chunks follow until `chunk-:`.
    if (keyOf(e) >= prefix + CHUNKS) break;
    before.push(e);
  }
  const after: ListEntry[] = [];
  for await (
    const e of store.list(prefix, { delimiter: "/", startAfter: prefix + AFTER_CHUNKS })
  ) {
    after.push(e);
  }
  for (const e of [...before, ...after]) {
    // `{name}/g1a2b3c4d/` folders hold a stream's chunks; put refuses stream names there.
    if (e.kind === "prefix") {
      if (!GENERATION_FOLDER.test(e.prefix)) yield* manifestKeys(store, e.prefix);
    } else if (e.key === prefix + MANIFEST) yield e.key;
  }
}

function keyOf(e: ListEntry): string {
  return e.kind === "object" ? e.key : e.prefix;
}
