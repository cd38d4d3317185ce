/**
 * Deciding where an interrupted `put` stands: from the local log when there is one, else from
 * the chunk objects' own metadata in the bucket (cross-host resume). Either way the chain is
 * re-verified from chunk 0, and the result is bound to chunk size and key. What the log or
 * the records claim is then re-checked against one listing of the store (recheck.ts): a log
 * is a hint, the bucket is the truth.
 */
import { ExitCode, isPermissionError, ResumeRefused, S3ductError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { chainAfter, chainedPrefix } from "../format/chain.ts";
import type { ChainedRecord } from "../format/chunk_record.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { Store } from "../store/store.ts";
import { decodeChunkMeta, recordOfMeta } from "./chunk_meta.ts";
import { chunkCandidates } from "./recheck.ts";
import {
  logPath,
  readLog,
  type ResumeHeader,
  type ResumeIdentity,
  ResumeLog,
} from "./resume_log.ts";

/** Where an interrupted upload stands, before the store re-check. */
export interface ResumeState {
  /** Chunks already stored, 0..n-1, chain verified. */
  entries: ChainedRecord[];
  /** Where the entries came from. */
  source: "none" | "local log" | "bucket";
  /**
   * Start the new log with the chunks kept after the store re-check (a contiguous prefix;
   * later chunks are appended as they are stored). `log` is undefined, with `noLog` saying
   * why, when the state folder cannot be used (e.g. no --allow-write for it).
   */
  openLog(keep: ChainedRecord[]): Promise<{ log?: ResumeLog; noLog?: string }>;
  /** The local log's path (named in refusals: removing it discards the interrupted upload). */
  path: string;
}

/** What binds a resume: target, chunk size, key, and where logs live. */
export interface ResumeSetup {
  /** The store the interrupted upload wrote to (for rebuilding from chunk records). */
  store: Store;
  /** The stream being put; the log's keys are respelled to its prefix. */
  layout: StreamLayout;
  /** Which log belongs to this target (endpoint, bucket, prefix, name). */
  identity: ResumeIdentity;
  /** This run's chunk size; a log made with another is refused. */
  chunkSize: number;
  /** Fingerprint of this run's key or recipients; a log made with another is refused. */
  keyFingerprint: string;
  /** Opens the chunks' sealed records when rebuilding from the bucket. */
  cipher: Cipher;
  /** The state folder that holds resume logs. */
  dir: string;
  /** Skip the bucket scan (e.g. after --clobber, where the listed chunks are the old stream's). */
  fresh: boolean;
}

/**
 * Load the local log (or rebuild from the bucket) and start a new log holding what was kept.
 * @throws {ResumeRefused} when the log was made with another chunk size or key
 */
export async function loadResume(s: ResumeSetup): Promise<ResumeState> {
  const path = logPath(s.dir, s.identity);
  const header: ResumeHeader = {
    s3duct_resume: 1,
    ...s.identity,
    chunk_size: s.chunkSize,
    key_fingerprint: s.keyFingerprint,
  };
  const local = await readLog(path).catch((e) => {
    if (isPermissionError(e)) return undefined;
    throw e;
  });
  let entries: ChainedRecord[] = [];
  let source: ResumeState["source"] = "none";
  if (local?.header && local.entries.length > 0) {
    checkHeader(local.header, s, path);
    entries = respell(chainedPrefix(local.entries), local.header.prefix, s.layout);
    source = "local log";
  } else if (!s.fresh) {
    entries = await fromBucket(s);
    if (entries.length) source = "bucket";
  }
  const openLog = async (keep: ChainedRecord[]) => {
    try {
      return { log: await ResumeLog.create(path, header, keep) };
    } catch (e) {
      if (!isPermissionError(e)) throw e;
      // Still resumable from the bucket (plain and AES streams); say what is missing.
      return { noLog: `cannot write the resume log in ${s.dir} (${(e as Error).message})` };
    }
  };
  return { entries, source, openLog, path };
}

function checkHeader(h: ResumeHeader, s: ResumeSetup, path: string): void {
  const discard = `or discard the interrupted upload: rm '${path}' and run s3duct cleanup`;
  if (h.chunk_size !== s.chunkSize) {
    throw new ResumeRefused(
      `'${s.layout.name}' has an interrupted upload made with --chunk-size ${h.chunk_size}; ` +
        `re-run with that chunk size, ${discard}`,
    );
  }
  if (h.key_fingerprint !== s.keyFingerprint) {
    throw new ResumeRefused(
      `'${s.layout.name}' has an interrupted upload made with a different key or encryption ` +
        `(${h.key_fingerprint.split(":")[0]}); re-run with the same one, ${discard}`,
    );
  }
}

/**
 * Log keys are logical under the prefix the log was written with; the same objects spelled
 * with another prefix (`--prefix p --name X` vs `--name p/X`) get their keys re-spelled.
 */
function respell(entries: ChainedRecord[], from: string, layout: StreamLayout): ChainedRecord[] {
  if (from === layout.prefix) return entries;
  return entries.map((e) => ({ ...e, s3_key: (from + e.s3_key).slice(layout.prefix.length) }));
}

/**
 * Rebuild from the chunk objects: contiguous from 0, each carrying a record that continues the
 * chain. Chunk i may be in any generation of the stream (a resumed put writes its new chunks
 * into a generation of its own), so every candidate for i is tried until one fits.
 */
async function fromBucket(s: ResumeSetup): Promise<ChainedRecord[]> {
  if (!s.cipher.carriesRecords) return [];
  const candidates = await chunkCandidates(s.store, s.layout);
  const entries: ChainedRecord[] = [];
  for (let i = 0; candidates.has(i); i++) {
    let found: ChainedRecord | undefined;
    for (const c of candidates.get(i)!) {
      const info = await s.store.head(c.key);
      const meta = info && await decodeChunkMeta(info.metadata, s.cipher);
      if (!meta || meta.index !== i || meta.chunk_size !== s.chunkSize) continue;
      if (chainAfter(entries.at(-1)?.chain ?? "", meta) !== meta.chain) continue;
      const where = { s3_key: c.key.slice(s.layout.prefix.length), etag: info!.etag };
      found = recordOfMeta(meta, { ...where, object_size: c.size });
      break;
    }
    if (!found) break;
    entries.push(found);
  }
  return entries;
}
