/**
 * `s3duct verify --deep`: download, decrypt and check every chunk exactly as `get` does (sizes,
 * both hashes, chain, stream hashes) but write the data nowhere. Plain `verify` only compares
 * ETags, which an attacker or a buggy tool can rewrite along with the data (spec §8 item 17).
 */
import { IntegrityError, OversizeObjectError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import type { RangePlan } from "../format/range.ts";
import { getStream } from "../pipeline/get_stream.ts";
import { type Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import type { SummaryFormat } from "../ui/summary.ts";
import { archiveCheck } from "./archive_check.ts";
import type { VerifySettings } from "./command_settings.ts";
import type { CommandContext } from "./context.ts";
import { describeRange } from "./range_options.ts";
import { concurrencyOf } from "./transfer.ts";
import { chunkMemory } from "../buffer_pool.ts";
import { DEFAULT_TRANSFER } from "./transfer_settings.ts";

/** What a deep verify found. */
interface DeepFindings {
  /** The manifest, once read (undefined only if the run failed before it). */
  manifest?: Manifest;
  /** The chunks in range. */
  wanted: readonly ChunkRecord[];
  /** The range, when one was asked for. */
  plan?: RangePlan;
  /** Chunks that passed every check. */
  verified: number;
  /** Indexes of the chunks found missing. */
  missing: number[];
  /** Indexes of the chunks found damaged. */
  corrupt: number[];
  /** The problems' messages. */
  problems: string[];
}

/**
 * Runs `verify --deep`: fetches and checks every chunk in range exactly as `get` would, writing
 * the data nowhere, then reports (text or JSON summary).
 * @throws {IntegrityError} After the report, when a chunk or the stream failed a check.
 */
export async function runDeepVerify(
  s: VerifySettings,
  ctx: CommandContext<StreamLayout>,
): Promise<void> {
  const f: DeepFindings = { wanted: [], verified: 0, missing: [], corrupt: [], problems: [] };
  try {
    await checkEveryChunk(s, ctx, f);
  } catch (e) {
    // Damage to the stream is a finding; a missing stream, wrong key or dead store is not.
    if (!(e instanceof IntegrityError) || !f.manifest) throw e;
    await classify(e, f, ctx.store, ctx.layout, ctx.log);
  }
  reportDeep(f, f.manifest!, ctx.layout.name, s.output.summary, ctx.log);
}

/** get's whole pipeline, counting the chunks that pass and dropping their bytes. */
async function checkEveryChunk(
  s: VerifySettings,
  { store, layout, keys, log }: CommandContext<StreamLayout>,
  f: DeepFindings,
): Promise<void> {
  const checkArchive = archiveCheck(store, layout, s);
  await getStream({
    store,
    layout,
    keys,
    // Each call is one chunk that passed every check; the bytes are dropped.
    write: () => {
      f.verified++;
      return Promise.resolve();
    },
    workersFor: (chunkSize) =>
      concurrencyOf(DEFAULT_TRANSFER, "download", chunkMemory(chunkSize, 2)),
    streamSha3: true,
    log,
    beforeChunks: async (m, chunks, r) => {
      f.manifest = m;
      f.wanted = chunks;
      f.plan = s.range && r;
      await checkArchive(m, chunks);
    },
    range: s.range,
  });
}

/** Record the problem: the stream's, or the first failing chunk's (missing or corrupt). */
async function classify(
  e: IntegrityError,
  f: DeepFindings,
  store: Store,
  layout: StreamLayout,
  log: Log,
): Promise<void> {
  f.problems.push(e.message);
  const record = f.wanted[f.verified];
  if (!record) {
    log.info(`  STREAM: ${e.message}`);
  } else if (
    // Refused for its size, it is there: a HEAD of the local store would hash all of it.
    !(e instanceof OversizeObjectError) && !(await store.head(layout.full(record.s3_key)))
  ) {
    f.missing.push(record.index);
    log.info(`  MISSING chunk ${record.index}: ${e.message}`);
  } else {
    f.corrupt.push(record.index);
    log.info(`  CORRUPT chunk ${record.index}: ${e.message}`);
  }
}

/**
 * The findings as the summary asks (text or one JSON line).
 * @throws {IntegrityError} when anything failed a check
 */
function reportDeep(
  f: DeepFindings,
  m: Manifest,
  name: string,
  summary: SummaryFormat,
  log: Log,
): void {
  const { plan, wanted, verified } = f;
  const errors = f.problems.length;
  if (summary === "json") {
    log.always(JSON.stringify({
      status: errors ? "fail" : "ok",
      stream: name,
      deep: true,
      chunks_total: m.chunk_count,
      ...(plan ? { offset: plan.offset, length: plan.length, chunks_in_range: wanted.length } : {}),
      chunks_ok: verified,
      chunks_mismatched: f.corrupt,
      chunks_missing: f.missing,
      errors,
      problems: f.problems,
    }));
  } else if (summary !== "none" && errors === 0 && plan && !plan.whole) {
    log.info(
      `${wanted.length} chunks of '${name}' covering ${
        describeRange(plan, m.chunk_count)
      } downloaded and verified: sizes, SHA-256, SHA3-256 and chain position (the stream ` +
        `hashes need the whole stream).`,
    );
  } else if (summary !== "none" && errors === 0) {
    log.info(
      `All ${m.chunk_count} chunks of '${name}' downloaded and verified: sizes, SHA-256, ` +
        `SHA3-256, chain and stream hashes match the manifest.`,
    );
  }
  if (errors) {
    throw new IntegrityError(
      `deep verify failed for '${name}': ${verified} of ${wanted.length} chunks verified ` +
        `before the first problem (checking stops there, as get would)`,
    );
  }
}
