/**
 * `s3duct verify --deep`: download, decrypt and check every chunk exactly as `get` does (sizes,
 * both hashes, chain, stream hashes) but write the data nowhere. Plain `verify` only compares
 * ETags, which an attacker or a buggy tool can rewrite along with the data (spec §8 item 17).
 */
import { IntegrityError } from "../errors.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import { getStream } from "../pipeline/get_stream.ts";
import { keyringOf, layoutOf, makeLog, type RawOptions, storeOf } from "./common.ts";
import { concurrencyOf } from "./transfer.ts";
import { archiveCheck } from "./restore.ts";
import { guardKeys } from "./auth.ts";
import { OversizeObjectError } from "../store/store.ts";
import { describeRange, rangeOf } from "./range_options.ts";
import type { RangePlan } from "../format/range.ts";

/**
 * Runs `verify --deep`: fetches and checks every chunk in range exactly as `get` would, writing
 * the data nowhere, then reports (text or JSON summary).
 * @throws {IntegrityError} After the report, when a chunk or the stream failed a check.
 */
export async function runDeepVerify(o: RawOptions): Promise<void> {
  const log = makeLog(o);
  const layout = layoutOf(o);
  const range = rangeOf(o);
  const keys = await keyringOf(o, log);
  const store = await storeOf(o, log);
  await guardKeys(keys, o, store, log);
  const checkArchive = archiveCheck(store, layout, o);
  let manifest: Manifest | undefined;
  let wanted: readonly ChunkRecord[] = [];
  let plan: RangePlan | undefined;
  let verified = 0;
  const missing: number[] = [];
  const corrupt: number[] = [];
  const problems: string[] = [];
  try {
    await getStream({
      store,
      layout,
      keys,
      // Each call is one chunk that passed every check; the bytes are dropped.
      write: () => {
        verified++;
        return Promise.resolve();
      },
      workersFor: (chunkSize) => concurrencyOf({}, "download", 2 * chunkSize + 65536),
      streamSha3: true,
      log,
      beforeChunks: async (m, chunks, r) => {
        manifest = m;
        wanted = chunks;
        plan = range && r;
        await checkArchive(m, chunks);
      },
      range,
    });
  } catch (e) {
    // Damage to the stream is a finding; a missing stream, wrong key or dead store is not.
    if (!(e instanceof IntegrityError) || !manifest) throw e;
    problems.push(e.message);
    const record = wanted[verified];
    if (!record) {
      log.info(`  STREAM: ${e.message}`);
    } else if (
      // Refused for its size, it is there: a HEAD of the local store would hash all of it.
      !(e instanceof OversizeObjectError) && !(await store.head(layout.full(record.s3_key)))
    ) {
      missing.push(record.index);
      log.info(`  MISSING chunk ${record.index}: ${e.message}`);
    } else {
      corrupt.push(record.index);
      log.info(`  CORRUPT chunk ${record.index}: ${e.message}`);
    }
  }
  const m = manifest!;
  const errors = problems.length;
  if (o.summary === "json") {
    log.always(JSON.stringify({
      status: errors ? "fail" : "ok",
      stream: layout.name,
      deep: true,
      chunks_total: m.chunk_count,
      ...(plan ? { offset: plan.offset, length: plan.length, chunks_in_range: wanted.length } : {}),
      chunks_ok: verified,
      chunks_mismatched: corrupt,
      chunks_missing: missing,
      errors,
      problems,
    }));
  } else if (o.summary !== "none" && errors === 0 && plan && !plan.whole) {
    log.info(
      `${wanted.length} chunks of '${layout.name}' covering ${
        describeRange(plan, m.chunk_count)
      } downloaded and verified: sizes, SHA-256, SHA3-256 and chain position (the stream ` +
        `hashes need the whole stream).`,
    );
  } else if (o.summary !== "none" && errors === 0) {
    log.info(
      `All ${m.chunk_count} chunks of '${layout.name}' downloaded and verified: sizes, SHA-256, ` +
        `SHA3-256, chain and stream hashes match the manifest.`,
    );
  }
  if (errors) {
    throw new IntegrityError(
      `deep verify failed for '${layout.name}': ${verified} of ${wanted.length} chunks verified ` +
        `before the first problem (checking stops there, as get would)`,
    );
  }
}
