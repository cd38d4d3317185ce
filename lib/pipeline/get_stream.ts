/**
 * get: manifest -> open/validate -> prefetch window -> unseal -> verify -> stdout.
 * A chunk's bytes reach the output only after its size, both hashes and its chain link
 * have been checked; the first failure stops everything. A byte range (`job.range`) fetches
 * only the chunks covering it, verifies each whole, then writes its part.
 */
import { plainCipher } from "../crypto/cipher.ts";
import { DualHasher, type Incremental, sha256Hasher } from "../crypto/hash.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import {
  chunkCipher,
  fetchManifest,
  type Keyring,
  openManifest,
  type Sealing,
} from "./manifest_io.ts";
import { keptPart, planRange, type RangePlan, type RangeRequest } from "../format/range.ts";
import { type BufferPool, buffers } from "../buffer_pool.ts";
import { Concurrency } from "./concurrency.ts";
import { openZstd } from "../crypto/zstd.ts";
import type { Progress } from "../ui/progress.ts";
import { ChunkFetcher, getChunk } from "./chunk_fetch.ts";
import { verifyChunk, verifyTotals } from "./chunk_check.ts";
import { storedStreamFormat, type StreamFormat } from "./stream_format.ts";

/** The chunk size limit `get` applies (defined with the Cipher's sizes). */
export { sealedSizeLimit } from "../crypto/cipher.ts";

/** Everything one get (or `verify --deep`) needs. */
export interface GetJob {
  /** The store holding the stream's manifest and chunks. */
  store: Store;
  /** Which stream (prefix and name); the manifest's key follows from it. */
  layout: StreamLayout;
  /** Keys to open the manifest and chunks with, and the manifest's guard. */
  keys: Keyring;
  /** Receives verified bytes only, in stream order. */
  write: (bytes: Uint8Array) => Promise<void>;
  /** Parallel downloads for a given chunk size (decided once the manifest is read). */
  workersFor: (chunkSize: number) => number | Concurrency;
  /** Progress display for a stream of this many bytes. */
  progressFor?: (totalBytes: number) => Progress;
  /** Where notes and warnings go (never stdout, which carries the stream). */
  log: Log;
  /**
   * Also recompute the stream's SHA3-256 (verify --deep). Every chunk's SHA-256 and SHA3-256
   * are checked either way; the stream's SHA-256 always is.
   */
  streamSha3?: boolean;
  /**
   * Runs once the manifest is open, before any chunk is fetched (e.g. the archive check);
   * `chunks` are the records the range needs (all of them without a range).
   */
  beforeChunks?: (
    manifest: Manifest,
    chunks: readonly ChunkRecord[],
    range: RangePlan,
  ) => Promise<void>;
  /**
   * Only these bytes of the stream (get --offset/--length). The chain of the records is
   * verified up front and each chunk against its record, as for a whole get; the stream's own
   * hashes can only be rechecked when the range is the whole stream.
   */
  range?: RangeRequest;
  /** Where chunk buffers come from and go back to; the process-wide pool by default. */
  pool?: BufferPool;
}

/** What a finished get did. */
export interface GetOutcome {
  /** The stream's manifest, validated. */
  manifest: Manifest;
  /** How the manifest object was stored (plain or sealed). */
  manifestSealing: Sealing;
  /** Wall time of the get, in milliseconds. */
  elapsedMs: number;
  /** The range written (the whole stream without job.range). */
  range: RangePlan;
}

/**
 * Writes the stream (or `job.range` of it) to `job.write`, each chunk only once verified.
 * @throws {IntegrityError} A chunk or the manifest fails a check; bytes before it were written.
 * @throws {KeyError} The keys given do not open the stream.
 */
export async function getStream(job: GetJob): Promise<GetOutcome> {
  const started = performance.now();
  const { store, layout } = job;
  const { manifest, sealing } = await openManifest(
    await fetchManifest(store, layout),
    layout,
    job.keys,
  );
  // Checked against the stream's size before anything else is fetched (exit 2 past the end).
  const range = planRange(manifest.chunks.map((r) => r.size), job.range, layout.name);
  const wanted = manifest.chunks.slice(range.first, range.end);
  await job.beforeChunks?.(manifest, wanted, range);
  const base = chunkCipher(manifest.encryption_method, layout.name, job.keys, plainCipher);
  const format = await storedStreamFormat(
    manifest,
    base,
    layout.name,
    sealing,
    (r) => getChunk({ store, layout, manifest }, r),
  );
  if (manifest.encryption_method === null && (job.keys.aes || job.keys.age)) {
    job.log.info(`note: stream '${layout.name}' is not encrypted; the key given is not needed`);
  }
  // Each chunk is checked against both its hashes, so the stream's bytes are settled; the whole-
  // stream hashes only prove the manifest agrees with itself. SHA-256 does that at 0.6 s/GiB;
  // a second SHA3-256 pass would cost ~2.5 CPU-s/GiB more (verify --deep does it).
  const streamHash = !range.whole
    ? undefined
    : job.streamSha3
    ? await DualHasher.create()
    : sha256Hasher();
  const chain = await writeChunks(job, { manifest, sealing, range, format, streamHash }, wanted);
  const outcome = { manifest, manifestSealing: sealing, range };
  if (streamHash) verifyTotals(manifest, chain, await streamHash.digest(), layout.name);
  return { ...outcome, elapsedMs: performance.now() - started };
}

/** What the chunk loop of one get works from. */
interface Plan {
  manifest: Manifest;
  sealing: Sealing;
  range: RangePlan;
  format: StreamFormat;
  /** The stream's running hash; absent for a range. */
  streamHash?: Incremental | DualHasher;
}

/**
 * Fetch, verify and write every chunk of the range in order.
 * @returns the chain value after the last chunk (whole streams only)
 */
async function writeChunks(
  job: GetJob,
  p: Plan,
  wanted: readonly ChunkRecord[],
): Promise<Uint8Array | undefined> {
  const { manifest, range } = p;
  const pool = job.pool ?? buffers;
  const workers = job.workersFor(manifest.chunk_size);
  const concurrency = typeof workers === "number"
    ? new Concurrency({ fixed: workers, min: 1, max: workers })
    : workers;
  const { store, layout } = job;
  const cipher = p.format.chunks;
  const fetcher = new ChunkFetcher(
    { store, layout, manifest, cipher, sealing: p.sealing, range, pool },
    concurrency,
  );
  const progress = job.progressFor?.(range.length);
  let chain: Uint8Array | undefined;
  const closeCodec = manifest.compression ? openZstd() : undefined;
  try {
    for (const record of wanted) {
      const { plain, digest: d } = await fetcher.next(record);
      verifyChunk(record, plain, d, layout.name);
      // A range starts mid-chain: its place is the records' chain, verified before any fetch
      // (validateManifest, storedStreamFormat), and the hashes just checked against the record.
      if (range.whole) chain = p.format.step(chain, record.index, d);
      const [from, to] = keptPart(range, record.index, plain.length);
      await Promise.all([p.streamHash?.update(plain), job.write(plain.subarray(from, to))]);
      pool.give(plain);
      concurrency.completed(plain.length);
      if (progress) {
        progress.add(plain.length);
        progress.inFlight = fetcher.inFlight;
      }
    }
  } catch (e) {
    await fetcher.close(e);
    throw e;
  } finally {
    closeCodec?.();
    progress?.stop();
  }
  return chain;
}
