/**
 * put: stdin -> fixed-size chunks -> hash -> chain -> seal -> upload window -> manifest (last).
 * Chunks are recorded strictly in order, whatever order their uploads finish in.
 */
import { ExistsError, KeyError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { dualDigest, DualHasher } from "../crypto/hash.ts";
import { chainLink, fromHex, toHex } from "../format/chain.ts";
import { newGeneration, type StreamLayout } from "../format/layout.ts";
import {
  type ChunkRecord,
  type Manifest,
  MANIFEST_VERSION,
  MANIFEST_VERSION_2,
} from "../format/manifest.ts";
import { chainLinkV2, newV2Params } from "../crypto/v2.ts";
import { pythonIsoUtc } from "../format/pyjson.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import { VERSION } from "../version.ts";
import { publishManifest } from "./manifest_io.ts";
import { deleteOldChunks } from "./generations.ts";
import { type ByteReader, readChunks } from "./source.ts";
import {
  type ChunkJob,
  type ChunkTask,
  maxObjectSize,
  prepare,
  type Prepared,
  type Stored,
  uploadPrepared,
} from "./chunk_upload.ts";
import { Spill, type SpillLimits } from "./spill.ts";
import { OrderedWindow } from "./window.ts";
import { loadResume, type ResumeState } from "../resume/resume.ts";
import type { ResumeIdentity } from "../resume/resume_log.ts";
import { fastForward } from "../resume/fast_forward.ts";
import { buffers } from "../buffer_pool.ts";
import type { Concurrency } from "./concurrency.ts";
import type { Progress } from "../ui/progress.ts";

export interface PutJob {
  store: Store;
  layout: StreamLayout;
  input: ByteReader;
  chunkSize: number;
  cipher: Cipher;
  encryptManifest: boolean;
  description: string;
  tags: Record<string, string>;
  storageClass: string;
  clobber: boolean;
  concurrency: Concurrency;
  progress?: Progress;
  log: Log;
  /** Manifest format: 1 (s3duct 0.4 compatible, default) or 2 (keyed chain, bound chunks). */
  format?: 1 | 2;
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

export interface PutOutcome {
  manifest: Manifest;
  chunksNew: number;
  chunksResumed: number;
  resumedFrom: ResumeState["source"];
  replaced: boolean;
  orphansDeleted: number;
  /** Chunks that waited in the scratch spill. */
  chunksSpilled: number;
  elapsedMs: number;
}

export async function putStream(job: PutJob): Promise<PutOutcome> {
  const started = performance.now();
  const { store, layout, log } = job;
  await store.checkBucket();
  const existing = await store.head(layout.full(layout.manifestKey));
  if (existing && !job.clobber) {
    throw new ExistsError(
      `stream '${layout.name}' already exists in ${store.location}; ` +
        "pass --clobber to replace it, or choose another --name",
    );
  }
  // Replacing a stream writes the new chunks beside the old ones (a fresh generation), so an
  // interrupted --clobber leaves the old stream whole; the old chunks go once the new
  // manifest is in place.
  const chunkLayout = existing ? layout.withGeneration(newGeneration()) : layout;
  // Format 2: chunks sealed with per-stream subkeys, bound to their position; keyed chain.
  const params = job.format === 2 ? newV2Params() : undefined;
  const v2 = params && job.cipher.formatV2?.(params);
  if (params && !v2) throw new KeyError("--format 2 needs an AES --key");
  const upJob: ChunkJob = {
    store,
    layout: chunkLayout,
    chunkSize: job.chunkSize,
    cipher: job.cipher,
    sealer: v2?.chunks ?? job.cipher,
    storageClass: job.storageClass,
    format: job.format,
  };
  // Buffers recycle within the memory the worker policy allows (see buffer_pool.ts).
  const room = upJob.sealer.inPlace ?? { head: 0, tail: 0 };
  const span = room.head + job.chunkSize + room.tail;
  buffers.maxFreeBytes = (job.concurrency.max + 2) * (span + 65536);
  const created = pythonIsoUtc(new Date());
  const streamHash = await DualHasher.create();
  const records: ChunkRecord[] = [];
  const window = new OrderedWindow<Stored>(() => job.concurrency.current);
  // Sealed chunks waiting for a worker, oldest first (on disk when spilled).
  const waiting: Prepared[] = [];
  const resume = job.resume
    ? await loadResume({
      store,
      layout,
      identity: job.resume.identity,
      chunkSize: job.chunkSize,
      keyFingerprint: job.resume.keyFingerprint,
      cipher: job.cipher,
      dir: job.resume.dir,
      fresh: existing !== undefined,
    })
    : undefined;
  if (resume?.noLog) log.warn(`${resume.noLog}; an interrupted put resumes only from the bucket`);
  let chain: Uint8Array | undefined;
  // Chain values in stream order, as promises: chunk i's metadata needs chain_i before its
  // upload, and chain_i needs chunk i-1's digest only (digests are fast; uploads are not).
  let chainReady: Promise<Uint8Array | undefined> = Promise.resolve(undefined);
  let streamHashing = Promise.resolve();
  let index = 0;
  let total = 0;
  const source = readChunks(job.input, job.chunkSize, room);
  let pending: Uint8Array | undefined;
  const spill = job.spill ? await Spill.open(job.spill, log) : undefined;
  const submit = (p: Prepared | Promise<Prepared>) =>
    window.add(async (signal) => uploadPrepared(upJob, await p, spill, signal));
  // Chunks waiting on disk go to free workers first, in index order.
  const drain = () => {
    while (waiting.length && !window.full) submit(waiting.shift()!);
  };
  try {
    if (resume && resume.entries.length) {
      const ff = await fastForward(resume.entries, source, streamHash, {
        name: layout.name,
        strict: job.resume?.strict ?? true,
        log,
      });
      for (const e of ff.kept) {
        records.push({
          index: e.chunk,
          s3_key: e.s3_key,
          size: e.size,
          sha256: e.sha256,
          sha3_256: e.sha3_256,
          etag: e.etag,
        });
        total += e.size;
      }
      index = ff.kept.length;
      chain = ff.kept.length ? fromHex(ff.kept[ff.kept.length - 1].chain) : undefined;
      chainReady = Promise.resolve(chain);
      pending = ff.pending;
      log.info(
        `resuming '${layout.name}' from the ${resume.source}: ${ff.kept.length} chunks ` +
          "already stored and re-verified against stdin",
      );
    }
    const record = async (s: Stored) => {
      chain = s.chain;
      records.push(s.record);
      await resume?.log?.append({
        chunk: s.record.index,
        size: s.record.size,
        sha256: s.record.sha256,
        sha3_256: s.record.sha3_256,
        chain: toHex(s.chain),
        s3_key: s.record.s3_key,
        etag: s.record.etag,
      });
      job.concurrency.completed(s.record.size);
      job.progress?.add(s.record.size);
      log.debug(`  chunk ${s.record.index} stored (${s.record.size} bytes)`);
    };
    // A cipher that seals into a second buffer (age) holds the plaintext until sealed and
    // hashed: reading the next chunk waits for the last one to get there, so no more than two
    // plaintexts are alive beside the sealed chunks in flight.
    const twoBuffers = upJob.sealer.method !== null && !upJob.sealer.inPlace;
    const sealing: Promise<unknown>[] = [];
    for (;;) {
      if (twoBuffers && sealing.length > 0) await sealing.shift();
      const next = pending ? { done: false, value: pending } : await source.next();
      pending = undefined;
      if (next.done) break;
      const chunk: Uint8Array = next.value;
      // Format 2 seals "last" into the final chunk: look one chunk ahead to know it.
      let last = false;
      if (v2) {
        const peek = await source.next();
        if (peek.done) last = true;
        else pending = peek.value;
      }
      // The stream hash is sequential by nature: chunk i's update starts when i-1's is done,
      // while chunk digests, sealing and uploads of other chunks proceed alongside.
      const hashed = streamHashing.then(() => streamHash.update(chunk));
      streamHashing = hashed;
      const i = index++;
      total += chunk.length;
      const digest = dualDigest(chunk);
      const myChain = Promise.all([chainReady, digest]).then(([p, d]) =>
        v2 && params
          ? chainLinkV2(v2.mac, p ?? params.streamId, i, d.sha256, d.sha3)
          : chainLink(p, d.sha256, d.sha3)
      );
      // Failures surface through the upload task; these only must not count as unhandled.
      for (const p of [hashed, digest, myChain]) p.catch(() => {});
      chainReady = myChain;
      const c = { index: i, last, chunk, digesting: digest, hashed, chaining: myChain };
      // In index order: a new chunk goes to a worker if one is free and nothing waits, else
      // to disk if there is room, else we wait for an upload to finish (reading pauses:
      // memory stays within its budget).
      for (;;) {
        drain();
        if (!waiting.length && !window.full) {
          const p = prepare(upJob, c);
          sealing.push(p.catch(() => {}));
          submit(p);
          break;
        }
        if (spill?.hasRoom(maxObjectSize(job.chunkSize))) {
          waiting.push(await spillChunk(upJob, c, spill));
          break;
        }
        await record(await window.next());
      }
      if (job.progress) job.progress.inFlight = window.size + waiting.length;
    }
    while (waiting.length || window.size > 0) {
      drain();
      await record(await window.next());
    }
    await streamHashing;
  } catch (e) {
    await window.close(e);
    await streamHashing.catch(() => {});
    await chainReady.catch(() => {});
    await resume?.log?.close();
    throw e;
  } finally {
    await spill?.close();
  }
  const whole = streamHash.digest();
  const manifest: Manifest = {
    version: params ? MANIFEST_VERSION_2 : MANIFEST_VERSION,
    name: layout.name,
    description: job.description,
    created,
    tool_version: VERSION,
    chunk_count: records.length,
    chunk_size: job.chunkSize,
    total_bytes: total,
    encrypted: job.cipher.method !== null,
    encrypted_manifest: job.encryptManifest,
    encryption_method: job.cipher.method,
    encryption_recipient: job.cipher.recipient,
    storage_class: job.storageClass,
    tags: job.tags,
    chunks: records,
    final_chain: chain ? toHex(chain) : "",
    stream_sha256: toHex(whole.sha256),
    stream_sha3_256: toHex(whole.sha3),
    ...(params ? { format_salt: toHex(params.salt), stream_id: toHex(params.streamId) } : {}),
  };
  await publishManifest(store, layout, manifest, job.encryptManifest ? job.cipher : undefined, {
    // Another put of the same name that finished meanwhile must not be overwritten.
    ifNoneMatch: !existing,
  });
  log.debug(`manifest stored at ${layout.full(layout.manifestKey)}`);
  await resume?.log?.remove();
  const orphansDeleted = existing
    ? await deleteOldChunks(store, chunkLayout, new Set(records.map((r) => r.s3_key)), log)
    : 0;
  return {
    manifest,
    chunksNew: records.length - (resume ? Math.min(resume.entries.length, records.length) : 0),
    chunksResumed: resume ? Math.min(resume.entries.length, records.length) : 0,
    resumedFrom: resume?.source ?? "none",
    replaced: existing !== undefined,
    orphansDeleted,
    chunksSpilled: spill?.written ?? 0,
    elapsedMs: performance.now() - started,
  };
}

/** Seal a chunk now and park it on disk; in memory if the disk turned out to be full. */
async function spillChunk(job: ChunkJob, c: ChunkTask, spill: Spill): Promise<Prepared> {
  const p = await prepare(job, c);
  const spilled = await spill.write(p.index, p.body!);
  if (!spilled) return p;
  buffers.give(p.body);
  return { ...p, body: undefined, spilled };
}
