/** End-of-command summaries (stderr): human text, or one JSON object for scripts. */
import { humanSize, withCommas } from "../format/size.ts";
import type { Manifest } from "../format/manifest.ts";
import { VERSION } from "../version.ts";
import type { RangePlan } from "../format/range.ts";

/** `--summary`: a few human lines, one JSON object (keys as s3duct 0.4's first), or nothing. */
export type SummaryFormat = "text" | "json" | "none";

function rate(bytes: number, ms: number): string {
  return ms > 0 ? `${humanSize(Math.round(bytes / (ms / 1000)))}/s` : "-";
}

/** What a finished put reports, beyond its manifest. */
export interface PutFacts {
  /** The manifest just published. */
  manifest: Manifest;
  /** The bucket it went to. */
  bucket: string;
  /** The normalised `--prefix` ("" or ending in "/"). */
  prefix: string;
  /** Full key of the published manifest object. */
  manifestKey: string;
  /** Chunks uploaded by this run. */
  chunksNew: number;
  /** Chunks an interrupted run had stored, kept after re-verifying them against stdin. */
  chunksResumed: number;
  /** Logged chunks uploaded again, by why (resume re-check). */
  chunksReuploaded?: { missing: number; differs: number };
  /** Listing pages and time the publish check took. */
  publishCheck?: { listRequests: number; elapsedMs: number };
  /** "4", or "auto (6)" for adaptive. */
  workers: string;
  /** The most workers that ran at once. */
  peakWorkers: number;
  /** Wall time of the put, in milliseconds. */
  elapsedMs: number;
  /** The run's warnings, in order. */
  warnings: string[];
}

/** JSON keys follow s3duct 0.4's put summary, then ours. */
export function putSummary(f: PutFacts, format: SummaryFormat): string | undefined {
  const m = f.manifest;
  if (format === "none") return undefined;
  if (format === "json") {
    return JSON.stringify({
      version: VERSION,
      status: "complete",
      stream: m.name,
      chunks_uploaded: m.chunk_count,
      chunks_resumed: f.chunksResumed,
      chunks_new: f.chunksNew,
      total_bytes: m.total_bytes,
      chunk_size: m.chunk_size,
      stream_sha256: m.stream_sha256,
      stream_sha3_256: m.stream_sha3_256,
      final_chain: m.final_chain,
      encrypted: m.encrypted,
      encryption_method: m.encryption_method,
      manifest_key: f.manifestKey,
      upload_workers: f.workers,
      warnings: f.warnings,
      bucket: f.bucket,
      prefix: f.prefix,
      encrypted_manifest: m.encrypted_manifest,
      upload_workers_peak: f.peakWorkers,
      chunks_reuploaded_missing: f.chunksReuploaded?.missing ?? 0,
      chunks_reuploaded_changed: f.chunksReuploaded?.differs ?? 0,
      publish_check_list_requests: f.publishCheck?.listRequests ?? 0,
      publish_check_seconds: round((f.publishCheck?.elapsedMs ?? 0) / 1000),
      elapsed_seconds: round(f.elapsedMs / 1000),
      bytes_per_second: f.elapsedMs > 0 ? Math.round(m.total_bytes / (f.elapsedMs / 1000)) : null,
    });
  }
  const enc = m.encryption_method ?? "not encrypted";
  return [
    `Stored '${m.name}': ${m.chunk_count} chunks, ${withCommas(m.total_bytes)} bytes, ` +
    `${(f.elapsedMs / 1000).toFixed(1)} s (${rate(m.total_bytes, f.elapsedMs)}), ${enc}, ` +
    `workers ${f.workers}.`,
    `  stream sha256 ${m.stream_sha256}`,
    `  final chain   ${m.final_chain || "(empty stream)"}`,
  ].join("\n");
}

/** What a finished get reports, beyond the manifest. */
export interface GetFacts {
  /** The manifest of the stream written. */
  manifest: Manifest;
  /** "4", or "auto (6)" for adaptive. */
  workers: string;
  /** The most download workers that ran at once. */
  peakWorkers: number;
  /** Wall time of the get, in milliseconds. */
  elapsedMs: number;
  /** The run's warnings, in order. */
  warnings: string[];
  /** The range written, when --offset/--length asked for one. */
  range?: RangePlan;
}

/** The get summary in `format` (undefined for "none"); JSON keys follow s3duct 0.4's, then ours. */
export function getSummary(f: GetFacts, format: SummaryFormat): string | undefined {
  const m = f.manifest;
  if (format === "none") return undefined;
  if (f.range) return rangeSummary(f, f.range, format);
  if (format === "json") {
    return JSON.stringify({
      version: VERSION,
      status: "complete",
      stream: m.name,
      chunks_downloaded: m.chunk_count,
      total_bytes: m.total_bytes,
      stream_sha256: m.stream_sha256,
      stream_sha3_256: m.stream_sha3_256,
      chain_verified: true,
      raw_mode: false,
      encrypted: m.encrypted,
      encryption_method: m.encryption_method,
      download_workers: f.workers,
      elapsed_seconds: round(f.elapsedMs / 1000),
      warnings: f.warnings,
      download_workers_peak: f.peakWorkers,
    });
  }
  return `Restored '${m.name}': ${m.chunk_count} chunks, ${withCommas(m.total_bytes)} bytes, ` +
    `${(f.elapsedMs / 1000).toFixed(1)} s (${
      rate(m.total_bytes, f.elapsedMs)
    }), all chunks verified.`;
}

/** get --offset/--length: what was written, and that the stream hash was not rechecked. */
function rangeSummary(f: GetFacts, r: RangePlan, format: SummaryFormat): string {
  const m = f.manifest;
  const chunks = r.end - r.first;
  if (format === "json") {
    return JSON.stringify({
      version: VERSION,
      status: "complete",
      stream: m.name,
      offset: r.offset,
      length: r.length,
      chunks_downloaded: chunks,
      chunks_total: m.chunk_count,
      total_bytes: m.total_bytes,
      stream_sha256: m.stream_sha256,
      stream_sha256_checked: r.whole,
      chain_verified: true,
      encrypted: m.encrypted,
      encryption_method: m.encryption_method,
      download_workers: f.workers,
      elapsed_seconds: round(f.elapsedMs / 1000),
      warnings: f.warnings,
      download_workers_peak: f.peakWorkers,
    });
  }
  const what = r.length
    ? `bytes ${withCommas(r.offset)}-${withCommas(r.offset + r.length - 1)}`
    : `no bytes (offset ${withCommas(r.offset)})`;
  return `Restored ${what} of '${m.name}' (${withCommas(r.length)} of ${
    withCommas(m.total_bytes)
  } bytes${r.clamped ? ", cut at the end of the stream" : ""}): ` +
    `${chunks} of ${m.chunk_count} chunks fetched, ${(f.elapsedMs / 1000).toFixed(1)} s, ` +
    (r.whole
      ? "all chunks and the stream SHA-256 verified."
      : "each verified whole (the stream SHA-256 needs the whole stream; not rechecked).");
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
