/**
 * put: stdin -> fixed-size chunks -> hash -> chain -> seal -> upload window -> manifest (last).
 * Chunks are recorded strictly in order, whatever order their uploads finish in.
 */
import { ExistsError, KeyError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { type DualDigest, dualDigest, DualHasher, sha256 } from "../crypto/hash.ts";
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
import { OrderedWindow } from "./window.ts";
import { loadResume, type ResumeState } from "../resume/resume.ts";
import type { ResumeIdentity } from "../resume/resume_log.ts";
import { fastForward } from "../resume/fast_forward.ts";
import { encodeChunkMeta } from "../resume/chunk_meta.ts";
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
  const upJob: ChunkJob = { ...job, layout: chunkLayout, sealer: v2?.chunks ?? job.cipher };
  // One spare chunk buffer recycles (reads, seals) without holding memory idle.
  buffers.maxFreeBytes = job.chunkSize + 65536;
  const created = pythonIsoUtc(new Date());
  const streamHash = await DualHasher.create();
  const records: ChunkRecord[] = [];
  const window = new OrderedWindow<Stored>(() => job.concurrency.current);
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
  // The stream hash is sequential by nature: chunk i's update starts when i-1's is done,
  // while chunk digests, sealing and uploads of other chunks proceed alongside.
  let streamHashing = Promise.resolve();
  let index = 0;
  let total = 0;
  const source = readChunks(job.input, job.chunkSize);
  let pending: Uint8Array | undefined;
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
    for (;;) {
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
      // The chunk's buffer goes back to the pool when both the stream hash and the upload
      // side are done with it (never on failure: an aborted write may still hold it).
      let users = 2;
      const release = () => {
        if (--users === 0) buffers.give(chunk);
      };
      streamHashing = streamHashing.then(() => streamHash.update(chunk)).then(release);
      const i = index++;
      total += chunk.length;
      const digest = dualDigest(chunk);
      const myChain = Promise.all([chainReady, digest]).then(([p, d]) =>
        v2 && params
          ? chainLinkV2(v2.mac, p ?? params.streamId, i, d.sha256, d.sha3)
          : chainLink(p, d.sha256, d.sha3)
      );
      // Failures surface through the upload task; these only must not count as unhandled.
      digest.catch(() => {});
      myChain.catch(() => {});
      chainReady = myChain;
      const c = { index: i, last, input: { chunk }, digesting: digest, chaining: myChain, release };
      window.add((signal) => uploadChunk(upJob, c, signal));
      if (job.progress) job.progress.inFlight = window.size;
      while (window.full) await record(await window.next());
    }
    while (window.size > 0) await record(await window.next());
    await streamHashing;
  } catch (e) {
    await window.close(e);
    await streamHashing.catch(() => {});
    await chainReady.catch(() => {});
    await resume?.log?.close();
    throw e;
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
    elapsedMs: performance.now() - started,
  };
}

interface Stored {
  record: ChunkRecord;
  chain: Uint8Array;
}

/**
 * Digest, seal and upload one chunk; digesting and sealing run side by side. The plaintext
 * is let go once sealed, so an in-flight AES chunk costs one chunk of memory, not two.
 */
interface ChunkJob extends PutJob {
  /** What seals chunks: the stream cipher, or format 2's per-stream one. */
  sealer: Cipher;
}

interface ChunkTask {
  index: number;
  last: boolean;
  input: { chunk?: Uint8Array };
  digesting: Promise<DualDigest>;
  chaining: Promise<Uint8Array>;
  release: () => void;
}

async function uploadChunk(job: ChunkJob, c: ChunkTask, signal: AbortSignal): Promise<Stored> {
  const index = c.index;
  const key = job.layout.chunkKey(index);
  const { size, digest, body, sealed } = await prepare(job.sealer, c);
  if (sealed) c.release();
  const chain = await c.chaining;
  // Bucket records serve resume, which format 2 uploads do not offer yet.
  const metadata = job.format === 2 ? {} : await encodeChunkMeta({
    index,
    size,
    sha256: toHex(digest.sha256),
    sha3_256: toHex(digest.sha3),
    chain: toHex(chain),
    chunk_size: job.chunkSize,
  }, job.cipher);
  const { etag } = await job.store.put(job.layout.full(key), body, {
    storageClass: job.storageClass,
    // A plain chunk's SHA-256 is already known; a sealed one needs its own.
    sha256: sealed ? await sha256(body) : digest.sha256,
    metadata,
    signal,
  });
  if (sealed) buffers.give(body);
  else c.release();
  const record = {
    index,
    s3_key: key,
    size,
    sha256: toHex(digest.sha256),
    sha3_256: toHex(digest.sha3),
    etag,
  };
  return { record, chain };
}

/** In its own frame, so nothing keeps the plaintext alive during the upload. */
async function prepare(cipher: Cipher, c: ChunkTask) {
  const chunk = c.input.chunk!;
  delete c.input.chunk;
  const [digest, body] = await Promise.all([
    c.digesting,
    cipher.seal(chunk, (n) => buffers.take(n), { index: c.index, last: c.last }),
  ]);
  return { size: chunk.length, digest, body, sealed: body !== chunk };
}
