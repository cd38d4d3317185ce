/**
 * put: stdin -> fixed-size chunks -> hash -> chain -> seal -> upload queue -> publish check ->
 * manifest (last). Chunks are recorded strictly in order, whatever order their uploads finish
 * in. A resumed put replays stdin over the chunks its log (or the bucket) names, keeping those
 * the store still holds intact and uploading the others again.
 */
import { ExistsError, KeyError, UsageError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { dualDigest, DualHasher } from "../crypto/hash.ts";
import { fromHex, toHex } from "../format/chain.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { Manifest, ServerSideEncryption } from "../format/manifest.ts";
import { newV2Params } from "../crypto/v2.ts";
import { pythonIsoUtc } from "../format/pyjson.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import { MAX_MANIFEST_CHUNKS, publishManifest } from "./manifest_io.ts";
import { deleteOldChunks } from "./generations.ts";
import { type ByteReader, readChunks } from "./source.ts";
import type { ChunkJob, Stored } from "./chunk_upload.ts";
import { Spill, type SpillLimits } from "./spill.ts";
import type { ResumeState } from "../resume/resume.ts";
import type { ResumeIdentity } from "../resume/resume_log.ts";
import { judgeReplay, replayEnded } from "../resume/fast_forward.ts";
import { buffers } from "../buffer_pool.ts";
import type { Concurrency } from "./concurrency.ts";
import type { Progress } from "../ui/progress.ts";
import { UploadQueue } from "./upload_queue.ts";
import { openTarget, type PutTarget } from "./put_target.ts";
import { buildManifest } from "./manifest_build.ts";
import { checkPublishable, type PublishCheck } from "./publish_check.ts";
import { chainStep } from "./chain_step.ts";
import { planResume, type Replay, type ResumePlan } from "./resume_plan.ts";
import { type Compression, openZstd } from "../crypto/zstd.ts";

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

/** What the chunk loop produced. */
interface Streamed {
  stored: Stored[];
  whole: { sha256: Uint8Array; sha3: Uint8Array };
  kept: number;
  reuploaded: { missing: number; differs: number };
  spilled: number;
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
  const v2Params = job.format === 2 ? newV2Params() : undefined;
  const v2 = v2Params && job.cipher.formatV2?.(v2Params);
  if (v2Params && !v2) throw new KeyError("--format 2 needs an AES --key");
  // Compressed chunks need format 2's manifest fields, and its AES sealer (in place).
  if (job.compress && !v2) throw new UsageError("--compress needs --format 2 and an AES --key");
  const upJob: ChunkJob = {
    store: job.store,
    layout: target.chunkLayout,
    chunkSize: job.chunkSize,
    cipher: job.cipher,
    sealer: v2?.chunks ?? job.cipher,
    storageClass: job.storageClass,
    format: job.format,
    compress: job.compress,
  };
  const created = pythonIsoUtc(new Date());
  const plan = await planResume(job, target);
  const streamed = await streamChunks(job, upJob, plan, v2 && v2Params && { ...v2Params, ...v2 });
  const manifest = buildManifest({
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
    v2: v2Params,
    compression: job.compress?.codec,
    sse: job.sse,
  });
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
  const keep = new Set(manifest.chunks.map((r) => r.s3_key));
  // Published: from here on nothing may turn exit 0 into a failure; `cleanup` can finish this.
  const orphansDeleted = await deleteOldChunks(
    job.store,
    job.layout,
    keep,
    target.generationsBefore,
    job.log,
  ).catch((e) => {
    job.log.warn(`stream published; removing chunks it no longer uses failed: ${e.message}`);
    return 0;
  });
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

/** Yields each chunk with whether it is the last (format 2 seals that in: one chunk ahead). */
async function* withLast(
  source: AsyncGenerator<Uint8Array>,
  lookahead: boolean,
): AsyncGenerator<{ chunk: Uint8Array; last: boolean }> {
  let cur = await source.next();
  while (!cur.done) {
    if (!lookahead) {
      yield { chunk: cur.value, last: false };
      cur = await source.next();
      continue;
    }
    const peek = await source.next();
    yield { chunk: cur.value, last: peek.done === true };
    cur = peek;
  }
}

/** Read, hash, chain and queue every chunk; replayed ones are checked and kept or redone. */
async function streamChunks(
  job: PutJob,
  upJob: ChunkJob,
  plan: ResumePlan,
  v2?: { mac: Uint8Array; streamId: Uint8Array },
): Promise<Streamed> {
  const room = upJob.sealer.inPlace ?? { head: 0, tail: 0 };
  // Buffers recycle within the memory the worker policy allows (see buffer_pool.ts).
  buffers.maxFreeBytes = (job.concurrency.max + 2) *
    (room.head + job.chunkSize + room.tail + 65536);
  const stored: Stored[] = [];
  const out: Streamed = {
    stored,
    whole: { sha256: new Uint8Array(), sha3: new Uint8Array() },
    kept: 0,
    reuploaded: { missing: 0, differs: 0 },
    spilled: 0,
  };
  const spill = job.spill ? await Spill.open(job.spill, job.log) : undefined;
  const queue = new UploadQueue(upJob, job.concurrency, spill, async (s) => {
    stored.push(s);
    if (s.record.index >= plan.logged) await plan.log?.append(entryOf(s));
    job.concurrency.completed(s.record.size);
    job.progress?.add(s.record.size);
    job.log.debug(`  chunk ${s.record.index} stored (${s.record.size} bytes)`);
  });
  const step = chainStep(v2);
  const streamHash = await DualHasher.create();
  let chainReady: Promise<Uint8Array | undefined> = Promise.resolve(undefined);
  let streamHashing = Promise.resolve();
  // A cipher that seals into a second buffer (age) holds the plaintext until sealed and
  // hashed: reading the next chunk waits for the last one to get there, so no more than two
  // plaintexts are alive beside the sealed chunks in flight.
  const twoBuffers = upJob.sealer.method !== null && !upJob.sealer.inPlace;
  const sealing: Promise<unknown>[] = [];
  let index = 0;
  let replaying = plan.replay.length > 0;
  const closeCodec = upJob.compress ? openZstd() : undefined;
  try {
    const source = withLast(readChunks(job.input, job.chunkSize, room), v2 !== undefined);
    for (;;) {
      if (twoBuffers && sealing.length > 0) await sealing.shift();
      const next = await source.next();
      if (next.done) break;
      const { chunk, last } = next.value;
      const i = index++;
      if (i >= MAX_MANIFEST_CHUNKS) throw tooManyChunks(job.chunkSize);
      // The stream hash is sequential by nature: chunk i's update starts when i-1's is done,
      // while chunk digests, sealing and uploads of other chunks proceed alongside.
      const hashed = streamHashing.then(() => streamHash.update(chunk));
      streamHashing = hashed;
      let digest: Promise<Awaited<ReturnType<typeof dualDigest>>>;
      const r: Replay | undefined = replaying ? plan.replay[i] : undefined;
      if (r) {
        const d = await dualDigest(chunk);
        if (judgeReplay(r.entry, chunk, d, plan.rules) === "tail") replaying = false;
        else if (r.state === "ok") {
          await hashed;
          buffers.give(chunk);
          chainReady = Promise.resolve(fromHex(r.entry.chain));
          await queue.addStored(storedOf(r));
          out.kept++;
          continue;
        } else out.reuploaded[r.state]++;
        digest = Promise.resolve(d);
      } else {
        replaying = false;
        digest = dualDigest(chunk);
      }
      const prev = chainReady;
      const myChain = Promise.all([prev, digest]).then(([p, d]) => step(p, i, d));
      // Failures surface through the upload task; these only must not count as unhandled.
      for (const p of [hashed, digest, myChain]) p.catch(() => {});
      chainReady = myChain;
      const c = { index: i, last, chunk, digesting: digest, hashed, chaining: myChain };
      const queued = await queue.add(c);
      if (queued) sealing.push(queued.preparing.catch(() => {}));
      if (job.progress) job.progress.inFlight = queue.inFlight;
    }
    if (replaying && index < plan.replay.length) {
      replayEnded(index, plan.replay.length, plan.rules);
    }
    await queue.finish();
    await streamHashing;
  } catch (e) {
    await queue.close(e);
    await streamHashing.catch(() => {});
    await chainReady.catch(() => {});
    await plan.log?.close();
    throw e;
  } finally {
    closeCodec?.();
    await spill?.close();
  }
  out.whole = await streamHash.digest();
  out.spilled = spill?.written ?? 0;
  return out;
}

/** More chunks than a manifest `get` reads may hold: refused before one more is uploaded. */
function tooManyChunks(chunkSize: number): UsageError {
  return new UsageError(
    `the stream needs more than ${MAX_MANIFEST_CHUNKS} chunks of ${chunkSize} bytes, the most ` +
      "a manifest may list; nothing was published: re-run with a larger --chunk-size",
  );
}

/** A kept chunk, as the queue records it. */
function storedOf(r: Replay): Stored {
  const e = r.entry;
  return {
    record: {
      index: e.chunk,
      s3_key: e.s3_key,
      size: e.size,
      sha256: e.sha256,
      sha3_256: e.sha3_256,
      etag: e.etag,
    },
    chain: fromHex(e.chain),
    objectSize: r.objectSize,
  };
}

/** The log line for a stored chunk. */
function entryOf(s: Stored) {
  return {
    chunk: s.record.index,
    size: s.record.size,
    sha256: s.record.sha256,
    sha3_256: s.record.sha3_256,
    chain: toHex(s.chain),
    s3_key: s.record.s3_key,
    etag: s.record.etag,
    object_size: s.objectSize,
  };
}
