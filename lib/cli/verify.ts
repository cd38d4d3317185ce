/**
 * `s3duct verify`: every chunk object exists with the recorded size and ETag, from listings
 * (a 5000-chunk stream costs ~5 requests, not 5000 HEADs). --deep checks the data itself.
 */
import { Command } from "./command.ts";
import { IntegrityError } from "../errors.ts";
import { fetchManifest, openManifest } from "../pipeline/manifest_io.ts";
import { sealedSizes } from "../crypto/cipher.ts";
import { compareWithStore } from "../resume/recheck.ts";
import { storedSize } from "../pipeline/compress_step.ts";
import { runDeepVerify } from "./verify_deep.ts";
import { addVerifyOptions } from "./auth.ts";
import { addKeyOptions, addOutputOptions, addStoreOptions, type RawOptions } from "./common.ts";
import { verifySettings } from "./command_settings.ts";
import { commandContext } from "./context.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { addRangeOptions } from "./range_options.ts";
import { type LockCheck, lockJson, lockLines, streamLocks } from "./verify_lock.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { Manifest } from "../format/manifest.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import type { SummaryFormat } from "../ui/summary.ts";

/** The `verify` command: checks chunk objects from listings, or (--deep) their data. */
export function verifyCommand(): Command {
  const cmd = new Command("verify").description(
    "Check that every chunk object of a stream exists with the recorded ETag and expected size (from listings; no data is downloaded). --deep checks the data itself.",
  );
  addStoreOptions(cmd);
  addVerifyOptions(addKeyOptions(cmd)).option(
    "--deep",
    "download, decrypt and hash every chunk and check the chain and stream hashes, writing nothing (catches damage behind a matching ETag)",
  );
  addRangeOptions(cmd, "verify");
  addOutputOptions(cmd);
  addMetricsOption(cmd);
  return cmd.action(runVerify);
}

async function runVerify(o: RawOptions): Promise<void> {
  const s = verifySettings(o);
  const ctx = await commandContext(s);
  if (s.deep) return await runDeepVerify(s, ctx);
  const { log, layout, keys, store } = ctx;
  const { manifest } = await openManifest(await fetchManifest(store, layout), layout, keys);
  const found = await checkChunks(store, layout, manifest, log);
  const lockCheck = await streamLocks(store, layout, found.present);
  reportVerify(found, lockCheck, manifest, layout.name, s.output.summary, log);
}

/** What the listings said of the chunk objects. */
interface ChunkCheck {
  /** Indexes of the chunks missing from the store. */
  missing: number[];
  /** Indexes of the chunks whose size or ETag differs. */
  mismatched: number[];
  /** Full keys of the chunk objects present. */
  present: string[];
}

/** Compare every chunk object with its record, from listings; each finding logged. */
async function checkChunks(
  store: Store,
  layout: StreamLayout,
  manifest: Manifest,
  log: Log,
): Promise<ChunkCheck> {
  const missing: number[] = [];
  const mismatched: number[] = [];
  // One listing per chunk folder (1 request per 1000 chunks), not a HEAD per chunk. Object
  // size is the plaintext size for plain chunks, +28 for AES; age varies with its header.
  const { sealedSize: sealed } = sealedSizes(manifest.encryption_method);
  const expected = manifest.chunks.map((r) => ({
    key: layout.full(r.s3_key),
    etag: r.etag,
    objectSize: sealed(storedSize(r)), // compressed chunks: their stored_size, sealed
  }));
  const { states, sizes, pages } = await compareWithStore(store, expected, {
    headWhenNoEtag: true,
  });
  log.debug(`  ${manifest.chunk_count} chunks checked with ${pages} listing pages`);
  for (const [i, r] of manifest.chunks.entries()) {
    if (states[i] === "missing") {
      missing.push(r.index);
      log.info(`  MISSING chunk ${r.index}: ${r.s3_key}`);
    } else if (states[i] === "differs") {
      mismatched.push(r.index);
      const want = expected[i].objectSize;
      const what = want !== undefined && sizes[i] !== want
        ? `size ${sizes[i]}, expected ${want}`
        : "ETag differs";
      log.info(`  MISMATCH chunk ${r.index}: ${what}`);
    } else {
      log.debug(`  ok chunk ${r.index}`);
    }
  }
  const present = expected.filter((_, i) => states[i] !== "missing").map((e) => e.key);
  return { missing, mismatched, present };
}

/**
 * The findings as the summary asks (text lines or one JSON line).
 * @throws {IntegrityError} for missing or mismatched chunks, or weaker locks
 */
function reportVerify(
  found: ChunkCheck,
  lockCheck: LockCheck,
  manifest: Manifest,
  name: string,
  summary: SummaryFormat,
  log: Log,
): void {
  const { missing, mismatched } = found;
  const weaker = lockCheck.different.filter((d) => d.weaker).length;
  if (summary !== "json" && summary !== "none") {
    lockLines(lockCheck).forEach((l) => log.info(l));
  }
  const errors = missing.length + mismatched.length;
  if (summary === "json") {
    log.always(JSON.stringify({
      status: errors + weaker ? "fail" : "ok",
      stream: name,
      chunks_total: manifest.chunk_count,
      chunks_ok: manifest.chunk_count - errors,
      chunks_mismatched: mismatched,
      chunks_missing: missing,
      errors: errors + weaker,
      object_lock: lockJson(lockCheck),
    }));
  } else if (summary !== "none" && errors === 0) {
    log.info(`All ${manifest.chunk_count} chunks of '${name}' present with matching ETags.`);
  }
  if (errors) {
    throw new IntegrityError(
      `verify failed for '${name}': ${missing.length} missing, ${mismatched.length} mismatched chunks`,
    );
  }
  if (weaker) {
    throw new IntegrityError(
      `verify failed for '${name}': ${weaker} objects are less protected by Object ` +
        "Lock than its manifest (listed above); re-put the stream or extend their retention",
    );
  }
}
