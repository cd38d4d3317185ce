/**
 * One chunk's facts in memory ({@linkcode ChunkRecord}), and the two text forms they travel in:
 * the manifest's chunk record and the resume log's line. The third form, the binary record on
 * the chunk object itself, is lib/resume/chunk_meta.ts (it is sealed with the stream's key).
 * Each form has exactly one pair of mappers, so a field is renamed (`index` here, `chunk` in
 * the log) or dropped in one place only. Pure.
 */
import { IntegrityError } from "../errors.ts";
import { FieldReader, isObject } from "./fields.ts";
import { isHex64 } from "./hex.ts";

/**
 * A chunk's facts, whichever form they came from. A manifest record holds the first six fields
 * (s3duct 0.4 rejects records with others) plus `stored_size` on the compressed chunks of a
 * compressed format 2 stream; the resume log and the bucket records add `chain`, and the
 * resume log and listings `object_size`.
 */
export interface ChunkRecord {
  /** The chunk's 0-based position in the stream. */
  index: number;
  /** Logical key under the stream's prefix: `{name}/chunk-NNNNNN`, or in a generation folder. */
  s3_key: string;
  /** Plaintext bytes: `chunk_size` for every chunk but the last, which holds 1 to `chunk_size`. */
  size: number;
  /** SHA-256 of the plaintext, lower-case hex. */
  sha256: string;
  /** SHA3-256 of the plaintext, lower-case hex. */
  sha3_256: string;
  /** The ETag the store returned for the chunk object ("" when unknown). */
  etag: string;
  /**
   * Format 2 with `compression` only: the chunk is stored as a zstd frame of this many bytes
   * (before sealing), fewer than `size`. Absent: stored as it is (incompressible).
   */
  stored_size?: number;
  /** The chain value after this chunk, lower-case hex; not in manifests (only their end). */
  chain?: string;
  /** Bytes of the stored (sealed) object, for the store re-check; absent in older logs. */
  object_size?: number;
}

/** A record whose chain value is known: what resume works with (log lines, bucket records). */
export type ChainedRecord = ChunkRecord & { chain: string };

/** A chunk record in manifest JSON: these fields, in {@linkcode toManifestJson}'s order. */
export type ManifestRecordJson = Pick<
  ChunkRecord,
  "index" | "s3_key" | "size" | "sha256" | "sha3_256" | "etag" | "stored_size"
>;

/** The manifest form of a record: only the fields a manifest holds, in 0.4's order. */
export function toManifestJson(r: ChunkRecord): ManifestRecordJson {
  return {
    index: r.index,
    s3_key: r.s3_key,
    size: r.size,
    sha256: r.sha256,
    sha3_256: r.sha3_256,
    etag: r.etag,
    ...(r.stored_size !== undefined ? { stored_size: r.stored_size } : {}),
  };
}

/**
 * A record from parsed manifest JSON, checking each field's type (`etag` defaults to "", as
 * 0.4 does). Values are checked against the stream by validateManifest, not here.
 * @param i the record's position in `chunks`, for messages
 * @throws {IntegrityError} naming the first field that is missing or of the wrong type
 */
export function fromManifestJson(raw: unknown, i: number): ChunkRecord {
  if (!isObject(raw)) throw new IntegrityError(`manifest field 'chunks[${i}]' is not an object`);
  const r = new FieldReader(raw, `chunks[${i}].`);
  return {
    index: r.get("index", "integer", undefined) as number,
    s3_key: r.get("s3_key", "string", undefined) as string,
    size: r.get("size", "integer", undefined) as number,
    sha256: r.get("sha256", "string", undefined) as string,
    sha3_256: r.get("sha3_256", "string", undefined) as string,
    etag: r.get("etag", "string", "") as string,
    ...(raw.stored_size !== undefined
      ? { stored_size: r.get("stored_size", "integer", undefined) as number }
      : {}),
  };
}

/**
 * One resume-log line: a stored chunk with the chain after it; the index is `chunk` here, and
 * `object_size` is absent in older logs.
 */
export type ResumeLine =
  & Pick<
    ChainedRecord,
    "size" | "sha256" | "sha3_256" | "chain" | "s3_key" | "etag" | "object_size"
  >
  & {
    /** {@linkcode ChunkRecord.index} */
    chunk: number;
  };

/** The log line of a record, fields in the order the log has always had them. */
export function toResumeLine(r: ChainedRecord): ResumeLine {
  return {
    chunk: r.index,
    size: r.size,
    sha256: r.sha256,
    sha3_256: r.sha3_256,
    chain: r.chain,
    s3_key: r.s3_key,
    etag: r.etag,
    ...(r.object_size !== undefined ? { object_size: r.object_size } : {}),
  };
}

/** The record of a parsed log line; undefined when the line is not a well-formed entry. */
export function fromResumeLine(v: unknown): ChainedRecord | undefined {
  if (!isObject(v)) return undefined;
  const e = v as Partial<Record<keyof ResumeLine, unknown>>;
  const ok = Number.isSafeInteger(e.chunk) && Number.isSafeInteger(e.size) &&
    isHex64(e.sha256) && isHex64(e.sha3_256) && isHex64(e.chain) &&
    typeof e.s3_key === "string" && typeof e.etag === "string" &&
    (e.object_size === undefined || Number.isSafeInteger(e.object_size));
  if (!ok) return undefined;
  const line = v as unknown as ResumeLine;
  return {
    index: line.chunk,
    s3_key: line.s3_key,
    size: line.size,
    sha256: line.sha256,
    sha3_256: line.sha3_256,
    etag: line.etag,
    chain: line.chain,
    ...(line.object_size !== undefined ? { object_size: line.object_size } : {}),
  };
}
