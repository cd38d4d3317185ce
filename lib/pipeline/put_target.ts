/** Where a put writes: a fresh chunk generation of its own, and what it may replace. */
import { ExistsError } from "../errors.ts";
import { newGeneration, type StreamLayout } from "../format/layout.ts";
import type { ObjectInfo, Store } from "../store/store.ts";
import { generationsOf } from "../resume/recheck.ts";

/** The target of one put run. */
export interface PutTarget {
  /** The manifest being replaced (--clobber), whose ETag the publish must still find. */
  replacing?: ObjectInfo;
  /**
   * This run's own chunk folder (`{name}/g1a2b3c4d/`). Every run writes into a fresh one, so
   * two puts of one name never write the same key, and an interrupted --clobber leaves the
   * old stream whole.
   */
  chunkLayout: StreamLayout;
  /** Generation folders of the stream when this put started: what its clean-up may touch. */
  generationsBefore: Set<string>;
}

/**
 * The target of a put: a fresh chunk generation, and the manifest it replaces, if any.
 * @throws {ExistsError} when the stream exists and `clobber` is not set
 */
export async function openTarget(
  store: Store,
  layout: StreamLayout,
  clobber: boolean,
): Promise<PutTarget> {
  const existing = await store.head(layout.full(layout.manifestKey));
  if (existing && !clobber) {
    throw new ExistsError(
      `stream '${layout.name}' already exists in ${store.location}; ` +
        "pass --clobber to replace it, or choose another --name",
    );
  }
  return {
    replacing: existing,
    chunkLayout: layout.withGeneration(newGeneration()),
    generationsBefore: await generationsOf(store, layout),
  };
}
