/**
 * put: stdin -> fixed-size chunks -> hash -> chain -> seal -> upload queue -> publish check ->
 * manifest (last). Chunks are recorded strictly in order, whatever order their uploads finish
 * in. A resumed put replays stdin over the chunks its log (or the bucket) names, keeping those
 * the store still holds intact and uploading the others again.
 */
import { ExistsError, ResumeRefused } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { fromHex, toHex } from "../format/chain.ts";
import { type ChainedRecord, toManifestJson } from "../format/chunk_record.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { Manifest, ServerSideEncryption } from "../format/manifest.ts";
import { pythonIsoUtc } from "../format/pyjson.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import { publishManifest } from "./manifest_io.ts";
import { deleteOldChunks } from "./generations.ts";
import type { ByteReader } from "./source.ts";
import type { ChunkJob, Stored } from "./chunk_upload.ts";
import type { SpillLimits } from "./spill.ts";
import type { ResumeState } from "../resume/resume.ts";
import type { ResumeIdentity } from "../resume/resume_log.ts";
import type { Concurrency } from "./concurrency.ts";
import type { Progress } from "../ui/progress.ts";
import { openTarget, type PutTarget } from "./put_target.ts";
import { buildManifest } from "./manifest_build.ts";
import { checkPublishable, type PublishCheck } from "./publish_check.ts";
import { planResume, type Replay, type ResumePlan } from "./resume_plan.ts";
import type { Compression } from "../crypto/zstd.ts";
import { type BufferPool, buffers } from "../buffer_pool.ts";
import { newStreamFormat, type StreamFormat } from "./stream_format.ts";
import { type ChunkHooks, streamChunks, type Streamed } from "./put_chunks.ts";

/** Everything one put needs. */
export interface PutJob {
  /** The store the chunks, then the manifest, are written to. */
  store: Store;
  /** The stream's keys: its manifest, and where its chunk generations go. */
  layout: StreamLayout;
  /** The stream's bytes: stdin, or a `--from-command` producer. */
  input: ByteReader;
  /** Plaintext bytes per chunk (the last may hold fewer). */
  chunkSize: number;
  /** The stream's cipher (a plain one when not encrypted). */
  cipher: Cipher;
  /** Seal the manifest object with `cipher` too. */
  encryptManifest: boolean;
  /** `--description` text for the manifest. */
  description: string;
  /** `--tag` pairs for the manifest. */
  tags: Record<string, string>;
  /** Storage class of the chunk objects (the manifest stays in the default class). */
  storageClass: string;
  /** Replace an existing stream of this name (else {@linkcode ExistsError}). */
  clobber: boolean;
  /** The upload worker count, fixed or adaptive. */
  concurrency: Concurrency;
  /** Progress display fed with each chunk; absent = none. */
  progress?: Progress;
  /** Where messages and warnings go. */
  log: Log;
  /** Manifest format: 1 (s3duct 0.4 compatible, default) or 2 (keyed chain, bound chunks). */
  format?: 1 | 2;
  /** `--compress`: compress each chunk before sealing (format 2 only; no resume). */
  compress?: Compression;
  /** The server-side encryption the store was opened with, recorded in the manifest. */
  sse?: ServerSideEncryption;
  /** Scratch spill: where and how much; absent = chunks wait in memory only. */
  spill?: SpillLimits;
  /** Where chunk buffers come from and go back to; the process-wide pool by default. */
  pool?: BufferPool;
  /** Resume support: where logs live and what binds them; absent = no resume (tests). */
  resume?: {
    dir: string;
    identity: ResumeIdentity;
    keyFingerprint: string;
    /** Fail if stdin ends before every stored chunk was re-read and matched. */
    strict: boolean;
  };
}

/** What a finished put did. */
export interface PutOutcome {
  /** The manifest published. */
  manifest: Manifest;
  /** Chunks this run uploaded. */
  chunksNew: number;
  /** Chunks kept from an interrupted upload (re-verified against stdin). */
  chunksResumed: number;
  /** Logged chunks uploaded again because the store no longer held them intact. */
  reuploaded: { missing: number; differs: number };
  /** Where the kept chunks' records came from: "none", "local log" or "bucket". */
  resumedFrom: ResumeState["source"];
  /** True when the put replaced an existing stream (--clobber). */
  replaced: boolean;
  /** Chunk objects removed after publishing: the replaced stream's and interrupted uploads'. */
  orphansDeleted: number;
  /** Chunks that waited in the scratch spill. */
  chunksSpilled: number;
  /** What the publish check cost. */
  publishCheck: PublishCheck;
  /** Wall time of the put, in milliseconds. */
  elapsedMs: number;
}

/**
 * Store a stream and publish its manifest.
 * @throws {ExistsError} the stream exists (no --clobber) or another put published it first
 * @throws {IntegrityError} the publish check found a chunk missing or different
 * @throws {ResumeRefused} stdin does not replay the interrupted upload
 */
export async function putStream(job: PutJob): Promise<PutOutcome> {
  const started = performance.now();
  await job.store.checkBucket();
  const target = await openTarget(job.store, job.layout, job.clobber);
  const format = newStreamFormat(job.cipher, job.format, job.compress);
  const upJob: ChunkJob = {
    store: job.store,
    layout: target.chunkLayout,
    chunkSize: job.chunkSize,
    cipher: job.cipher,
    sealer: format.chunks,
    storageClass: job.storageClass,
    format: job.format,
    compress: job.compress,
    pool: job.pool ?? buffers,
  };
  const created = pythonIsoUtc(new Date());
  const plan = await planResume(job, target);
  const streamed = await streamChunks(job, upJob, plan, format, hooksOf(job, plan));
  const manifest = manifestOf(job, created, format, streamed);
  const sizes = streamed.stored.map((s) => s.objectSize);
  const publishCheck = await checkPublishable(job.store, job.layout, manifest, sizes)
    .catch(async (e) => {
      await plan.log?.close();
      // Chunks removed under us by another put that published meanwhile (its cleanup takes
      // what its manifest does not name): say that, not "damage".
      if (await publishedMeanwhile(job, target)) throw lostRace(job, target);
      throw e;
    });
  await publish(job, target, manifest, plan);
  job.log.debug(`manifest stored at ${job.layout.full(job.layout.manifestKey)}`);
  await plan.log?.remove();
  const orphansDeleted = await removeOrphans(job, target, manifest);
  return {
    manifest,
    chunksNew: manifest.chunk_count - streamed.kept,
    chunksResumed: streamed.kept,
    reuploaded: streamed.reuploaded,
    resumedFrom: plan.source,
    replaced: target.replacing !== undefined,
    orphansDeleted,
    chunksSpilled: streamed.spilled,
    publishCheck,
    elapsedMs: performance.now() - started,
  };
}

/** The manifest of what was stored (buildManifest is pure). */
function manifestOf(job: PutJob, created: string, f: StreamFormat, streamed: Streamed): Manifest {
  return buildManifest({
    name: job.layout.name,
    description: job.description,
    created,
    chunkSize: job.chunkSize,
    encryptionMethod: job.cipher.method,
    encryptionRecipient: job.cipher.recipient,
    encryptManifest: job.encryptManifest,
    storageClass: job.storageClass,
    tags: job.tags,
    records: streamed.stored.map((s) => s.record),
    chain: streamed.stored.at(-1)?.chain,
    whole: streamed.whole,
    v2: f.v2,
    compression: job.compress?.codec,
    sse: job.sse,
  });
}

/** What the chunk loop does with each stored chunk: log it for resume, count it, show it. */
function hooksOf(job: PutJob, plan: ResumePlan): ChunkHooks {
  return {
    async record(s) {
      if (s.record.index >= plan.logged) await plan.log?.append(entryOf(s));
      job.concurrency.completed(s.record.size);
      job.progress?.add(s.record.size);
      job.log.debug(`  chunk ${s.record.index} stored (${s.record.size} bytes)`);
    },
    kept: storedOf,
  };
}

/**
 * Remove the chunks the published manifest does not name (the replaced stream's, interrupted
 * uploads'). Published: from here on nothing may turn exit 0 into a failure; `cleanup` can
 * finish this, so a failure only warns.
 */
async function removeOrphans(job: PutJob, target: PutTarget, manifest: Manifest): Promise<number> {
  const keep = new Set(manifest.chunks.map((r) => r.s3_key));
  return await deleteOldChunks(job.store, job.layout, keep, target.generationsBefore, job.log)
    .catch((e) => {
      job.log.warn(`stream published; removing chunks it no longer uses failed: ${e.message}`);
      return 0;
    });
}

/**
 * Write the manifest: a new stream only if none appeared meanwhile (If-None-Match), a
 * replacement only if the manifest it replaces is still the one it saw (If-Match), so at most
 * one of several concurrent puts publishes. The loser removes nothing: the winner may have
 * kept some of its chunks (a resume from the bucket), and the winner's own cleanup takes the
 * rest; `s3duct cleanup` finds any left.
 */
async function publish(job: PutJob, target: PutTarget, m: Manifest, plan: ResumePlan) {
  const cond = target.replacing ? { ifMatch: target.replacing.etag } : { ifNoneMatch: true };
  const sealWith = job.encryptManifest ? job.cipher : undefined;
  try {
    await publishManifest(job.store, job.layout, m, sealWith, cond);
  } catch (e) {
    if (!(e instanceof ExistsError)) throw e;
    await plan.log?.remove();
    throw lostRace(job, target);
  }
}

/** Whether the manifest appeared, or changed, since this put started. */
async function publishedMeanwhile(job: PutJob, target: PutTarget): Promise<boolean> {
  const now = await job.store.head(job.layout.full(job.layout.manifestKey)).catch(() => undefined);
  return now !== undefined && now.etag !== target.replacing?.etag;
}

function lostRace(job: PutJob, target: PutTarget): ExistsError {
  return new ExistsError(
    `another put ${target.replacing ? "replaced" : "created"} stream '${job.layout.name}' ` +
      `in ${job.store.location} while this one ran; nothing was published (re-run with ` +
      "--clobber to replace that stream; s3duct cleanup removes this run's chunks)",
  );
}

/** A kept chunk, as the queue records it (the manifest keeps only its manifest fields). */
function storedOf(r: Replay): Stored {
  return {
    record: toManifestJson(r.entry),
    chain: fromHex(r.entry.chain),
    objectSize: r.objectSize,
  };
}

/** A stored chunk with its chain and object size, as the resume log records it. */
function entryOf(s: Stored): ChainedRecord {
  return { ...s.record, chain: toHex(s.chain), object_size: s.objectSize };
}
