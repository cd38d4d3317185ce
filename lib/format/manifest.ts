/** The s3duct manifest, version 1 (spec §3.3): schema, parsing, serialisation. Pure. */
import { IntegrityError } from "../errors.ts";
import { type ChunkRecord, fromManifestJson, toManifestJson } from "./chunk_record.ts";
import { FieldReader, isObject } from "./fields.ts";
import { scanManifestText } from "./manifest_scan.ts";
import { pythonJsonDumps } from "./pyjson.ts";
import { clip } from "../ui/escape.ts";

// The record type lives with its mappers, and validation in its own module; both re-exported
// because every manifest user names them from here.
export type { ChunkRecord } from "./chunk_record.ts";
export { validateManifest } from "./manifest_validate.ts";

/** How a stream's chunks are sealed: `--key` (AES-256-GCM) or age recipients. */
export type EncryptionMethod = "aes-256-gcm" | "age";

/**
 * Server-side encryption a put asked the store for (`--sse`, `--sse-c-key`): the mode only,
 * never a key. s3duct 0.4 ignores the field (unknown top-level fields are ignored, spec §3.3).
 */
export type ServerSideEncryption = "sse-s3" | "sse-kms" | "sse-c";
const SSE_MODES: readonly string[] = ["sse-s3", "sse-kms", "sse-c"];

/** Chunk codecs a format 2 manifest may name in `compression`. */
export type Codec = "zstd";

/** Manifest v1, fields in the order s3duct 0.4 writes them. */
export interface Manifest {
  /** {@linkcode MANIFEST_VERSION} (1), or {@linkcode MANIFEST_VERSION_2} for format 2. */
  version: number;
  /** The stream name; must be the name asked for. */
  name: string;
  /** Free text from `put --description` ("" for none). */
  description: string;
  /** When the put started (UTC), as Python's isoformat writes it. */
  created: string;
  /** The s3duct version that wrote the manifest. */
  tool_version: string;
  /** How many chunks the stream has; equals `chunks.length`. */
  chunk_count: number;
  /** Plaintext bytes per chunk (the last may hold fewer), 1 to {@linkcode MAX_CHUNK_SIZE}. */
  chunk_size: number;
  /** Stream length in bytes: the sum of the chunk sizes. */
  total_bytes: number;
  /** True when the chunks are sealed (`encryption_method` is set). */
  encrypted: boolean;
  /** True when the manifest object itself is sealed too; must match how it is stored. */
  encrypted_manifest: boolean;
  /** How the chunks are sealed; null for a plain stream. */
  encryption_method: EncryptionMethod | null;
  /** The age recipients the stream was sealed to, comma-separated (age only); else null. */
  encryption_recipient: string | null;
  /** The storage class the chunks were written with (`--storage-class`); null when not recorded. */
  storage_class: string | null;
  /** User tags from `put --tag key=value`, string to string. */
  tags: Record<string, string>;
  /** Every chunk's record, in stream order. */
  chunks: ChunkRecord[];
  /** The chain value after the last chunk, lower-case hex ("" for an empty stream). */
  final_chain: string;
  /** SHA-256 of the whole stream, lower-case hex. */
  stream_sha256: string;
  /** SHA3-256 of the whole stream, lower-case hex. */
  stream_sha3_256: string;
  /** Format 2 only (lib/crypto/v2.ts): HKDF salt (64 hex) and stream id (32 hex). */
  format_salt?: string;
  /** Format 2 only: the stream id (32 hex) bound into every chunk's AAD and the chain. */
  stream_id?: string;
  /** Format 2 only: chunks were compressed with this codec before sealing (lib/crypto/zstd.ts). */
  compression?: Codec | null;
  /** The server-side encryption every object was written with; absent = none asked for. */
  server_side_encryption?: ServerSideEncryption;
}

/** The format s3duct 0.4 reads and writes, and `put`'s default. */
export const MANIFEST_VERSION = 1;
/** Opt-in format with keyed chain and position-bound chunks (lib/crypto/v2.ts). */
export const MANIFEST_VERSION_2 = 2;
/** The largest chunk put accepts (S3's limit on one PUT); a manifest claiming more is damaged. */
export const MAX_CHUNK_SIZE = 5 * 1024 ** 3;

/** Serialise as s3duct 0.4 does (Python json.dumps, indent 2, ASCII-only, no newline). */
export function serializeManifest(m: Manifest): Uint8Array {
  const ordered: Manifest = {
    version: m.version,
    name: m.name,
    description: m.description,
    created: m.created,
    tool_version: m.tool_version,
    chunk_count: m.chunk_count,
    chunk_size: m.chunk_size,
    total_bytes: m.total_bytes,
    encrypted: m.encrypted,
    encrypted_manifest: m.encrypted_manifest,
    encryption_method: m.encryption_method,
    encryption_recipient: m.encryption_recipient,
    storage_class: m.storage_class,
    tags: m.tags,
    chunks: m.chunks.map(toManifestJson),
    final_chain: m.final_chain,
    stream_sha256: m.stream_sha256,
    stream_sha3_256: m.stream_sha3_256,
  };
  if (m.version === MANIFEST_VERSION_2) {
    ordered.format_salt = m.format_salt;
    ordered.stream_id = m.stream_id;
    // Written only when set, so uncompressed format 2 manifests stay as they were.
    if (m.compression) ordered.compression = m.compression;
  }
  // Last and only when set: manifests of streams without SSE stay byte-for-byte as before.
  if (m.server_side_encryption) ordered.server_side_encryption = m.server_side_encryption;
  return new TextEncoder().encode(pythonJsonDumps(ordered));
}

/**
 * Parse manifest JSON text, checking every field's type. Missing optional fields take the
 * defaults s3duct 0.4 uses; unknown top-level fields are ignored (forward compatible). The
 * text's structure is checked first (manifest_scan.ts), so what JSON.parse builds stays in
 * proportion to the text whatever the store sent. Every failure is an IntegrityError.
 */
export function parseManifest(text: string): Manifest {
  scanManifestText(text);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new IntegrityError("manifest is not valid JSON");
  }
  if (!isObject(raw)) throw new IntegrityError("manifest is not a JSON object");
  const f = new FieldReader(raw, "");
  // Read in this order, so a manifest wrong in several fields is refused for the same one.
  const chunks = (f.get("chunks", "array", undefined) as unknown[]).map(fromManifestJson);
  const tags = readTags(f);
  const method = readChoice(f, "encryption_method", ["aes-256-gcm", "age"]);
  const compression = readChoice(f, "compression", ["zstd"], " (this s3duct reads zstd)");
  const sse = readChoice(f, "server_side_encryption", SSE_MODES);
  return {
    ...readScalars(f, chunks.length),
    encryption_method: method as EncryptionMethod | null,
    ...readTail(f),
    tags,
    chunks,
    ...readHashes(f),
    ...(raw.version === MANIFEST_VERSION_2
      ? {
        format_salt: f.get("format_salt", "string", undefined) as string,
        stream_id: f.get("stream_id", "string", undefined) as string,
      }
      : {}),
    ...(raw.compression !== undefined ? { compression: compression as Codec | null } : {}),
    ...(sse !== null ? { server_side_encryption: sse as ServerSideEncryption } : {}),
  };
}

/** `tags`: an object of strings ({} when absent). */
function readTags(f: FieldReader): Record<string, string> {
  const tags = f.get("tags", "object", {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== "string") {
      throw new IntegrityError(`manifest field 'tags.${clip(k, 40)}' is not a string`);
    }
  }
  return tags as Record<string, string>;
}

/** A string-or-null field that must be one of `allowed` when set (null when absent). */
function readChoice(
  f: FieldReader,
  key: string,
  allowed: readonly string[],
  hint = "",
): string | null {
  const v = f.get(key, "string?", null) as string | null;
  if (v !== null && !allowed.includes(v)) {
    throw new IntegrityError(`manifest field '${key}' has unknown value '${clip(v, 40)}'${hint}`);
  }
  return v;
}

/** The fields before `encryption_method`, in the manifest's order. */
function readScalars(f: FieldReader, listed: number) {
  return {
    version: f.get("version", "integer", 1) as number,
    name: f.get("name", "string", undefined) as string,
    description: f.get("description", "string", "") as string,
    created: f.get("created", "string", "") as string,
    tool_version: f.get("tool_version", "string", "") as string,
    chunk_count: f.get("chunk_count", "integer", listed) as number,
    chunk_size: f.get("chunk_size", "integer", undefined) as number,
    total_bytes: f.get("total_bytes", "integer", undefined) as number,
    encrypted: f.get("encrypted", "boolean", false) as boolean,
    encrypted_manifest: f.get("encrypted_manifest", "boolean", false) as boolean,
  };
}

/** The fields between `encryption_method` and `tags`. */
function readTail(f: FieldReader) {
  return {
    encryption_recipient: f.get("encryption_recipient", "string?", null) as string | null,
    storage_class: f.get("storage_class", "string?", null) as string | null,
  };
}

/** The fields after `chunks`: the chain and the stream hashes. */
function readHashes(f: FieldReader) {
  return {
    final_chain: f.get("final_chain", "string", "") as string,
    stream_sha256: f.get("stream_sha256", "string", undefined) as string,
    stream_sha3_256: f.get("stream_sha3_256", "string", undefined) as string,
  };
}
