/**
 * get: manifest -> open/validate -> prefetch window -> unseal -> verify -> stdout.
 * A chunk's bytes reach the output only after its size, both hashes and its chain link
 * have been checked; the first failure stops everything. A byte range (`job.range`) fetches
 * only the chunks covering it, verifies each whole, then writes its part.
 */
import { IntegrityError, KeyError, NotFoundError } from "../errors.ts";
import { type Cipher, plainCipher } from "../crypto/cipher.ts";
import { type DualDigest, dualDigest, DualHasher, sha256Hasher } from "../crypto/hash.ts";
import { NoMatchingIdentity } from "../crypto/age.ts";
import { chainLink, fromHex, toHex } from "../format/chain.ts";
import { chainLinkV2, chainOfRecordsV2 } from "../crypto/v2.ts";
import type { StreamLayout } from "../format/layout.ts";
import { type ChunkRecord, type Manifest, MANIFEST_VERSION_2 } from "../format/manifest.ts";
import { OversizeObjectError, type Store } from "../store/store.ts";
import { NONCE_BYTES, TAG_BYTES } from "../crypto/aes.ts";
import { payloadSize } from "../crypto/age_stream.ts";
import type { Log } from "../ui/log.ts";
import {
  chunkCipher,
  fetchManifest,
  type Keyring,
  openManifest,
  type Sealing,
} from "./manifest_io.ts";
import { OrderedWindow } from "./window.ts";
import { keptPart, planRange, type RangePlan, type RangeRequest } from "../format/range.ts";
import { v2KeyVerdict } from "./v2_key.ts";
import { buffers } from "../buffer_pool.ts";
import { Concurrency } from "./concurrency.ts";
import { inflateOpened, storedSize } from "./compress_step.ts";
import { openZstd } from "../crypto/zstd.ts";
import type { Progress } from "../ui/progress.ts";

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
  const v2 = await formatV2(
    manifest,
    base,
    layout.name,
    sealing,
    (r) => getChunk(store, layout, r, manifest),
  );
  const cipher = v2?.chunks ?? base;
  const last = manifest.chunks.length - 1;
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
  const workers = job.workersFor(manifest.chunk_size);
  const concurrency = typeof workers === "number"
    ? new Concurrency({ fixed: workers, min: 1, max: workers })
    : workers;
  // Buffers recycle within the memory the worker policy allows (see buffer_pool.ts); a chunk
  // opened by age needs a second buffer.
  const perChunk = (cipher.inPlace || !manifest.encrypted ? 1 : 2) * (manifest.chunk_size + 65536);
  buffers.maxFreeBytes = (concurrency.max + 2) * perChunk;
  let opening: Promise<unknown> = Promise.resolve();
  const window = new OrderedWindow<Opened>(() => concurrency.current, { failFast: false });
  const progress = job.progressFor?.(range.length);
  // Download, open and digest run in the window (in parallel); checks and output in order.
  const fetchChunk = (r: ChunkRecord) =>
    window.add(async (signal) => {
      const sealed = await getChunk(store, layout, r, manifest, signal);
      let plain: Uint8Array | undefined;
      try {
        // In place (AES): the plaintext is the object's middle, one buffer per chunk.
        const room = cipher.inPlace;
        const alloc = room
          ? () => sealed.subarray(room.head, sealed.length - room.tail)
          // The object's size, not n: one size of buffer recycles for downloads and plaintexts.
          : (n: number) => buffers.take(Math.max(n, sealed.length)).subarray(0, n);
        const at = { index: r.index, last: r.index === last };
        if (room) plain = await cipher.open(sealed, alloc, at);
        else {
          // Into a second buffer (age): one chunk at a time, so downloads that finish
          // together do not each hold two buffers at once (opening is fast; downloads are not).
          const turn = opening.then(() => cipher.open(sealed, alloc, at));
          opening = turn.catch(() => undefined);
          plain = await turn;
        }
        if (plain && plain.buffer !== sealed.buffer) buffers.give(sealed);
      } catch (e) {
        // No identity matches this chunk: a wrong key only if nothing has proven it right yet.
        if (!(e instanceof NoMatchingIdentity && (r.index > range.first || sealing !== "plain"))) {
          throw e;
        }
      }
      // Compressed (format 2 --compress): back to the recorded bytes before they are hashed.
      if (plain) plain = await inflateOpened(plain, r, layout.name);
      return plain ? { plain, digest: await dualDigest(plain) } : undefined;
    });
  let chain: Uint8Array | undefined;
  let next = range.first;
  const closeCodec = manifest.compression ? openZstd() : undefined;
  try {
    for (const record of wanted) {
      while (next < range.end && !window.full) fetchChunk(manifest.chunks[next++]);
      const opened = await window.next();
      if (!opened) {
        // Only a chunk opened earlier in this run (or a sealed manifest) proves the key.
        const proven = sealing !== "plain" || record.index > range.first;
        throw await openFailure(record.index, proven, manifest, cipher, store, layout);
      }
      const { plain, digest: d } = opened;
      const problems: string[] = [];
      if (plain.length !== record.size) problems.push(`size ${plain.length} != ${record.size}`);
      if (toHex(d.sha256) !== record.sha256) problems.push("SHA-256 differs");
      if (toHex(d.sha3) !== record.sha3_256) problems.push("SHA3-256 differs");
      if (problems.length) {
        throw new IntegrityError(
          `chunk ${record.index} of '${layout.name}' is corrupt: ${problems.join(", ")}`,
        );
      }
      // A range starts mid-chain: its place is the records' chain, verified before any fetch
      // (validateManifest, formatV2), and the hashes just checked against the record.
      if (range.whole) {
        chain = v2
          ? chainLinkV2(v2.mac, chain ?? v2.streamId, record.index, d.sha256, d.sha3)
          : chainLink(chain, d.sha256, d.sha3);
      }
      const [from, to] = keptPart(range, record.index, plain.length);
      await Promise.all([streamHash?.update(plain), job.write(plain.subarray(from, to))]);
      buffers.give(plain);
      concurrency.completed(plain.length);
      if (progress) {
        progress.add(plain.length);
        progress.inFlight = window.size;
      }
    }
  } catch (e) {
    await window.close(e);
    throw e;
  } finally {
    closeCodec?.();
    progress?.stop();
  }
  const outcome = { manifest, manifestSealing: sealing, range };
  if (!streamHash) return { ...outcome, elapsedMs: performance.now() - started };
  const finalChain = chain ? toHex(chain) : "";
  if (finalChain !== manifest.final_chain) {
    throw new IntegrityError(`final chain of '${layout.name}' does not match the manifest`);
  }
  const whole = await streamHash.digest();
  const [sha256, sha3] = whole instanceof Uint8Array ? [whole] : [whole.sha256, whole.sha3];
  if (
    toHex(sha256) !== manifest.stream_sha256 ||
    (sha3 && toHex(sha3) !== manifest.stream_sha3_256)
  ) {
    throw new IntegrityError(
      `stream hash of '${layout.name}' does not match the manifest (manifest inconsistent)`,
    );
  }
  return { ...outcome, elapsedMs: performance.now() - started };
}

/**
 * Format 2: the per-stream chunk cipher and MAC key, after checking the keyed chain of the
 * records against the manifest (before anything is fetched or written).
 */
async function formatV2(
  manifest: Manifest,
  base: Cipher,
  name: string,
  sealing: Sealing,
  fetch: (r: ChunkRecord) => Promise<Uint8Array>,
) {
  if (manifest.version !== MANIFEST_VERSION_2) return undefined;
  if (!base.formatV2) throw new KeyError(`stream '${name}' is format 2: pass its --key`);
  const streamId = fromHex(manifest.stream_id!);
  const { chunks, mac } = base.formatV2({ salt: fromHex(manifest.format_salt!), streamId });
  if (chainOfRecordsV2(mac, streamId, manifest.chunks) !== manifest.final_chain) {
    // A sealed manifest that opened proves the key; a plain one does not: ask a chunk.
    if (sealing === "plain" && (await v2KeyVerdict(chunks, manifest, fetch)) === "wrong") {
      throw new KeyError(
        `the key given does not decrypt the chunks of format 2 stream '${name}': wrong key`,
      );
    }
    throw new IntegrityError(
      `manifest of '${name}': field 'final_chain' does not match the keyed chain of its records`,
    );
  }
  return { chunks, mac, streamId };
}

/**
 * A chunk did not authenticate. Wrong key and damaged chunk look the same to GCM, so decide
 * from what else we know: a manifest or earlier chunk that opened (`proven`) proves the key
 * right; otherwise another chunk is asked (the last, or chunk 0 when this is the last).
 */
async function openFailure(
  index: number,
  proven: boolean,
  manifest: Manifest,
  cipher: Cipher,
  store: Store,
  layout: StreamLayout,
): Promise<Error> {
  const damaged = new IntegrityError(
    `chunk ${index} of '${layout.name}' fails authentication: the object was altered or damaged`,
  );
  if (proven) return damaged;
  const last = manifest.chunks.length - 1;
  const probe = index === last ? 0 : last;
  if (probe !== index) {
    const other = await cipher.open(
      await getChunk(store, layout, manifest.chunks[probe], manifest),
      undefined,
      { index: probe, last: probe === last },
    );
    if (other) return damaged;
    return new KeyError(`the key given does not decrypt the chunks of '${layout.name}': wrong key`);
  }
  return new KeyError(
    `chunk ${index} of '${layout.name}' does not decrypt: wrong key, or the chunk is damaged`,
  );
}

/**
 * Room an age header may take: ~90 bytes of frame and MAC, plus one stanza per recipient
 * (X25519 ~170 bytes, ML-KEM-768 hybrid ~1,630, measured), with slack for stanzas other tools
 * add (grease, plugins). The recipients are the manifest's comma-separated
 * `encryption_recipient`.
 */
const AGE_HEADER_BASE = 64 * 1024;
const AGE_HEADER_PER_RECIPIENT = 2 * 1024;

/**
 * The most bytes the stored object of a chunk of `size` plaintext bytes can take, sealed as the
 * manifest says: the plaintext itself (plain), + 28 (AES-GCM: 12-byte nonce, 16-byte tag), or
 * an age file (header + 16-byte nonce + 16 bytes per 64 KiB segment). `get` refuses a bigger
 * object before reading it.
 */
export function sealedSizeLimit(size: number, manifest: Manifest): number {
  switch (manifest.encryption_method) {
    case null:
      return size;
    case "aes-256-gcm":
      return size + NONCE_BYTES + TAG_BYTES;
    case "age": {
      const recipients = manifest.encryption_recipient?.split(",").length ?? 0;
      return payloadSize(size) + AGE_HEADER_BASE + AGE_HEADER_PER_RECIPIENT * recipients;
    }
  }
}

/**
 * A chunk object, no bigger than its record allows; its absence is damage to the stream, not a
 * missing stream.
 */
async function getChunk(
  store: Store,
  layout: StreamLayout,
  record: ChunkRecord,
  manifest: Manifest,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  // record.s3_key was checked against the layout (and its generation) by validateManifest.
  // A compressed chunk's object holds its stored_size bytes, sealed.
  const maxBytes = sealedSizeLimit(storedSize(record), manifest);
  try {
    return await store.get(layout.full(record.s3_key), undefined, { signal, maxBytes });
  } catch (e) {
    if (e instanceof OversizeObjectError) throw e.as(`chunk ${record.index} of '${layout.name}'`);
    if (!(e instanceof NotFoundError)) throw e;
    throw new IntegrityError(`chunk ${record.index} of '${layout.name}' is missing from the store`);
  }
}

type Opened = { plain: Uint8Array; digest: DualDigest } | undefined;
