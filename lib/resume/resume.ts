/**
 * Deciding where an interrupted `put` stands: from the local log when there is one, else from
 * the chunk objects' own metadata in the bucket (cross-host resume). Either way the chain is
 * re-verified from chunk 0, and the result is bound to chunk size and key.
 */
import { ExitCode, isPermissionError, S3ductError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { chainLink, fromHex, toHex } from "../format/chain.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { Store } from "../store/store.ts";
import { decodeChunkMeta } from "./chunk_meta.ts";
import {
  logPath,
  readLog,
  type ResumeEntry,
  type ResumeHeader,
  type ResumeIdentity,
  ResumeLog,
} from "./resume_log.ts";

/** A resume that would produce a wrong stream: refused with what to do instead. */
export class ResumeRefused extends S3ductError {
  constructor(message: string) {
    super(message, ExitCode.RESUME);
  }
}

export interface ResumeState {
  /** Chunks already stored, 0..n-1, chain verified. */
  entries: ResumeEntry[];
  source: "none" | "local log" | "bucket";
  /** undefined when the state folder cannot be used (e.g. no --allow-write for it). */
  log?: ResumeLog;
  /** Why there is no local log, for a warning. */
  noLog?: string;
}

export interface ResumeSetup {
  store: Store;
  layout: StreamLayout;
  identity: ResumeIdentity;
  chunkSize: number;
  keyFingerprint: string;
  cipher: Cipher;
  dir: string;
  /** Skip the bucket scan (e.g. after --clobber, where old chunks are not ours). */
  fresh: boolean;
}

export async function loadResume(s: ResumeSetup): Promise<ResumeState> {
  const path = logPath(s.dir, s.identity);
  const header: ResumeHeader = {
    s3duct_resume: 1,
    ...s.identity,
    chunk_size: s.chunkSize,
    key_fingerprint: s.keyFingerprint,
  };
  const local = s.fresh ? undefined : await readLog(path).catch((e) => {
    if (isPermissionError(e)) return undefined;
    throw e;
  });
  let entries: ResumeEntry[] = [];
  let source: ResumeState["source"] = "none";
  if (local?.header && local.entries.length > 0) {
    const h = local.header;
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
    entries = verifiedPrefix(local.entries);
    source = "local log";
  } else if (!s.fresh) {
    entries = await fromBucket(s);
    if (entries.length) source = "bucket";
  }
  try {
    return { entries, source, log: await ResumeLog.create(path, header, entries) };
  } catch (e) {
    if (!isPermissionError(e)) throw e;
    // Still resumable from the bucket (plain and AES streams); say what is missing.
    return {
      entries,
      source,
      noLog: `cannot write the resume log in ${s.dir} (${(e as Error).message})`,
    };
  }
}

/** The longest prefix whose chain re-computes (a log edited or damaged is cut there). */
function verifiedPrefix(entries: ResumeEntry[]): ResumeEntry[] {
  let chain: Uint8Array | undefined;
  const out: ResumeEntry[] = [];
  for (const e of entries) {
    chain = chainLink(chain, fromHex(e.sha256), fromHex(e.sha3_256));
    if (toHex(chain) !== e.chain) break;
    out.push(e);
  }
  return out;
}

/** Rebuild from the chunk objects: contiguous from 0, each carrying a consistent record. */
async function fromBucket(s: ResumeSetup): Promise<ResumeEntry[]> {
  if (s.cipher.method === "age") return [];
  const base = s.layout.full(`${s.layout.name}/chunk-`);
  const found = new Map<number, { key: string; etag: string; size: number }>();
  for await (const e of s.store.list(base)) {
    if (e.kind !== "object") continue;
    const m = /^(\d{6,})$/.exec(e.key.slice(base.length));
    if (m) found.set(Number(m[1]), { key: e.key, etag: e.etag, size: e.size });
  }
  const entries: ResumeEntry[] = [];
  let chain: Uint8Array | undefined;
  for (let i = 0; found.has(i); i++) {
    const info = await s.store.head(found.get(i)!.key);
    if (!info) break;
    const meta = await decodeChunkMeta(info.metadata, s.cipher);
    if (!meta || meta.index !== i || meta.chunk_size !== s.chunkSize) break;
    chain = chainLink(chain, fromHex(meta.sha256), fromHex(meta.sha3_256));
    if (toHex(chain) !== meta.chain) break;
    entries.push({
      chunk: i,
      size: meta.size,
      sha256: meta.sha256,
      sha3_256: meta.sha3_256,
      chain: meta.chain,
      s3_key: s.layout.chunkKey(i),
      etag: info.etag,
    });
  }
  return entries;
}
