/**
 * `s3duct verify`: every chunk object exists with the recorded size and ETag, from listings
 * (a 5000-chunk stream costs ~5 requests, not 5000 HEADs). --deep checks the data itself.
 */
import { Command } from "./command.ts";
import { IntegrityError } from "../errors.ts";
import { fetchManifest, openManifest } from "../pipeline/manifest_io.ts";
import { AES_OVERHEAD } from "../crypto/aes.ts";
import { compareWithStore } from "../resume/recheck.ts";
import { storedSize } from "../pipeline/compress_step.ts";
import { runDeepVerify } from "./verify_deep.ts";
import { addVerifyOptions, guardKeys } from "./auth.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  storeOf,
} from "./common.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { addRangeOptions, refuseRange } from "./range_options.ts";
import { lockJson, lockLines, streamLocks } from "./verify_lock.ts";

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
  if (o.deep) return await runDeepVerify(o);
  // Listings check every chunk for the price of a few requests: a range saves nothing there.
  refuseRange(o, "apply to verify --deep only (plain verify checks every chunk from listings)");
  const log = makeLog(o);
  const layout = layoutOf(o);
  const keys = await keyringOf(o, log);
  const store = await storeOf(o, log);
  await guardKeys(keys, o, store, log);
  const { manifest } = await openManifest(await fetchManifest(store, layout), layout, keys);
  const missing: number[] = [];
  const mismatched: number[] = [];
  // One listing per chunk folder (1 request per 1000 chunks), not a HEAD per chunk. Object
  // size is the plaintext size for plain chunks, +28 for AES; age varies with segments.
  const sealed = (n: number) =>
    manifest.encryption_method === null
      ? n
      : manifest.encryption_method === "aes-256-gcm"
      ? n + AES_OVERHEAD
      : undefined;
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
  const lockCheck = await streamLocks(store, layout, present);
  const weaker = lockCheck.different.filter((d) => d.weaker).length;
  if (o.summary !== "json" && o.summary !== "none") {
    lockLines(lockCheck).forEach((l) => log.info(l));
  }
  const errors = missing.length + mismatched.length;
  if (o.summary === "json") {
    log.always(JSON.stringify({
      status: errors + weaker ? "fail" : "ok",
      stream: layout.name,
      chunks_total: manifest.chunk_count,
      chunks_ok: manifest.chunk_count - errors,
      chunks_mismatched: mismatched,
      chunks_missing: missing,
      errors: errors + weaker,
      object_lock: lockJson(lockCheck),
    }));
  } else if (o.summary !== "none" && errors === 0) {
    log.info(`All ${manifest.chunk_count} chunks of '${layout.name}' present with matching ETags.`);
  }
  if (errors) {
    throw new IntegrityError(
      `verify failed for '${layout.name}': ${missing.length} missing, ${mismatched.length} mismatched chunks`,
    );
  }
  if (weaker) {
    throw new IntegrityError(
      `verify failed for '${layout.name}': ${weaker} objects are less protected by Object ` +
        "Lock than its manifest (listed above); re-put the stream or extend their retention",
    );
  }
}
