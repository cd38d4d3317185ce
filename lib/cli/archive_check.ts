/**
 * The check `get` and `verify --deep` run before downloading: archived (GLACIER /
 * DEEP_ARCHIVE) chunks fail early with a hint to run `s3duct restore`, instead of midway.
 * @module
 */
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import { assertRestored, restoreHint } from "../pipeline/archive.ts";
import type { Store } from "../store/store.ts";
import { hasReadKey, type KeySettings, type StoreSettings } from "./settings.ts";

/**
 * The hook run before downloading: archived chunks fail early. Only the chunks to be fetched
 * (`records`, a range's) are checked; the hint repeats the store options and whether a key
 * was given, so the suggested restore command works as typed.
 */
export function archiveCheck(
  store: Store,
  layout: StreamLayout,
  s: { store: StoreSettings; keys: KeySettings },
): (m: Manifest, records?: readonly ChunkRecord[]) => Promise<void> {
  const hint = restoreHint({
    bucket: s.store.bucket,
    name: layout.name,
    prefix: s.store.prefix,
    endpointUrl: s.store.endpointUrl,
    keyed: hasReadKey(s.keys),
  });
  return (m, records) => assertRestored(store, layout, m, hint, records);
}
