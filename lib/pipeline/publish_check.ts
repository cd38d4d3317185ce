/**
 * The last gate before a manifest is written: the manifest passes the same validation `get`
 * applies, and one listing confirms that every chunk it names is in the store with its
 * recorded ETag and size. A put that cannot pass writes no manifest (exit 4), so exit 0 always
 * means `get` can restore.
 */
import { IntegrityError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import { type Manifest, validateManifest } from "../format/manifest.ts";
import { compareWithStore, type ExpectedObject } from "../resume/recheck.ts";
import type { Store } from "../store/store.ts";
import { sealedSizeLimit } from "../crypto/cipher.ts";
import { storedSize } from "./compress_step.ts";

/** What the check cost, for the summary and the benchmark. */
export interface PublishCheck {
  /** Listing pages read (ListObjectsV2 requests on S3). */
  listRequests: number;
  /** Wall time of the check, in milliseconds. */
  elapsedMs: number;
}

/**
 * Refuses to publish `manifest` unless `get` would accept it and the store holds its chunks.
 * @param objectSizes stored size of each chunk by index (sealed size), where known
 * @throws {IntegrityError} naming the first chunk that is missing or differs, or the field
 *   of the manifest that `get` would reject
 */
export async function checkPublishable(
  store: Store,
  layout: StreamLayout,
  manifest: Manifest,
  objectSizes: (number | undefined)[],
): Promise<PublishCheck> {
  const started = performance.now();
  try {
    validateManifest(manifest, layout);
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    throw new IntegrityError(`refusing to publish: ${e.message}; no manifest was written`);
  }
  // get reads no more of a chunk than its record allows (sealedSizeLimit; a compressed chunk's
  // is its stored_size, sealed): an object over that would be refused, so it is not published.
  const over = manifest.chunks.find((r) =>
    (objectSizes[r.index] ?? 0) > sealedSizeLimit(storedSize(r), manifest)
  );
  if (over) {
    throw new IntegrityError(
      `refusing to publish: chunk ${over.index} of '${layout.name}' was stored as ` +
        `${objectSizes[over.index]} bytes, more than the ` +
        `${sealedSizeLimit(storedSize(over), manifest)} its record allows; no manifest was written`,
    );
  }
  const expected: ExpectedObject[] = manifest.chunks.map((r) => ({
    key: layout.full(r.s3_key),
    etag: r.etag,
    objectSize: objectSizes[r.index],
  }));
  // Local directory listings carry no ETag; re-hashing every chunk there would cost a full
  // read of the stream, so existence and size are what is checked (README: Publish check).
  const { states, pages } = await compareWithStore(store, expected, { headWhenNoEtag: false });
  const bad = states.findIndex((s) => s !== "ok");
  if (bad >= 0) {
    const r = manifest.chunks[bad];
    throw new IntegrityError(
      `chunk ${bad} of '${layout.name}' (${layout.full(r.s3_key)}) is ` +
        (states[bad] === "missing" ? "missing from" : "not what was uploaded in") +
        ` ${store.location} just before publishing; no manifest was written. ` +
        "Re-run the same put: it uploads the chunk again",
    );
  }
  return { listRequests: pages, elapsedMs: performance.now() - started };
}
