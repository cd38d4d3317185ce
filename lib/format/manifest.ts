/** The s3duct manifest, version 1 (spec §3.3): schema, strict validation, serialisation. Pure. */
import { IntegrityError } from "../errors.ts";
import { chainOfRecords } from "./chain.ts";
import type { StreamLayout } from "./layout.ts";
import { scanManifestText } from "./manifest_scan.ts";
import { pythonJsonDumps } from "./pyjson.ts";
import { clip } from "../ui/escape.ts";

/** How a stream's chunks are sealed: `--key` (AES-256-GCM) or age recipients. */
export type EncryptionMethod = "aes-256-gcm" | "age";

/**
 * One chunk record; exactly these six fields (s3duct 0.4 rejects records with others), plus
 * `stored_size` on the compressed chunks of a compressed format 2 stream.
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
}

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
const HEX64 = /^[0-9a-f]{64}$/;
/** SHA-256 and SHA3-256 of no bytes: the stream hashes an empty stream must carry. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const EMPTY_SHA3_256 = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";

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
    chunks: m.chunks.map((c) => ({
      index: c.index,
      s3_key: c.s3_key,
      size: c.size,
      sha256: c.sha256,
      sha3_256: c.sha3_256,
      etag: c.etag,
      ...(c.stored_size !== undefined ? { stored_size: c.stored_size } : {}),
    })),
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
  const chunksRaw = f.get("chunks", "array", undefined) as unknown[];
  const chunks = chunksRaw.map((c, i) => {
    if (!isObject(c)) throw new IntegrityError(`manifest field 'chunks[${i}]' is not an object`);
    const r = new FieldReader(c, `chunks[${i}].`);
    return {
      index: r.get("index", "integer", undefined),
      s3_key: r.get("s3_key", "string", undefined),
      size: r.get("size", "integer", undefined),
      sha256: r.get("sha256", "string", undefined),
      sha3_256: r.get("sha3_256", "string", undefined),
      etag: r.get("etag", "string", ""),
      ...(c.stored_size !== undefined
        ? { stored_size: r.get("stored_size", "integer", undefined) }
        : {}),
    } as ChunkRecord;
  });
  const tags = f.get("tags", "object", {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== "string") {
      throw new IntegrityError(`manifest field 'tags.${clip(k, 40)}' is not a string`);
    }
  }
  const method = f.get("encryption_method", "string?", null) as string | null;
  if (method !== null && method !== "aes-256-gcm" && method !== "age") {
    throw new IntegrityError(
      `manifest field 'encryption_method' has unknown value '${clip(method, 40)}'`,
    );
  }
  const compression = f.get("compression", "string?", null) as string | null;
  if (compression !== null && compression !== "zstd") {
    throw new IntegrityError(
      `manifest field 'compression' has unknown value '${clip(compression, 40)}' ` +
        "(this s3duct reads zstd)",
    );
  }
  const sse = f.get("server_side_encryption", "string?", null) as string | null;
  if (sse !== null && !SSE_MODES.includes(sse)) {
    throw new IntegrityError(
      `manifest field 'server_side_encryption' has unknown value '${clip(sse, 40)}'`,
    );
  }
  return {
    version: f.get("version", "integer", 1) as number,
    name: f.get("name", "string", undefined) as string,
    description: f.get("description", "string", "") as string,
    created: f.get("created", "string", "") as string,
    tool_version: f.get("tool_version", "string", "") as string,
    chunk_count: f.get("chunk_count", "integer", chunks.length) as number,
    chunk_size: f.get("chunk_size", "integer", undefined) as number,
    total_bytes: f.get("total_bytes", "integer", undefined) as number,
    encrypted: f.get("encrypted", "boolean", false) as boolean,
    encrypted_manifest: f.get("encrypted_manifest", "boolean", false) as boolean,
    encryption_method: method as EncryptionMethod | null,
    encryption_recipient: f.get("encryption_recipient", "string?", null) as string | null,
    storage_class: f.get("storage_class", "string?", null) as string | null,
    tags: tags as Record<string, string>,
    chunks,
    final_chain: f.get("final_chain", "string", "") as string,
    stream_sha256: f.get("stream_sha256", "string", undefined) as string,
    stream_sha3_256: f.get("stream_sha3_256", "string", undefined) as string,
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

/**
 * Strict consistency checks (unlike s3duct 0.4, which followed any manifest blindly): the
 * manifest must describe exactly the stream asked for, in the standard layout, with sizes,
 * counts and the chain consistent with its own records.
 */
export function validateManifest(m: Manifest, layout: StreamLayout): void {
  const fail = (field: string, what: string) => {
    throw new IntegrityError(`manifest of '${layout.name}': field '${field}' ${what}`);
  };
  const v2 = m.version === MANIFEST_VERSION_2;
  if (m.version !== MANIFEST_VERSION && !v2) {
    fail("version", `is ${m.version}; this s3duct reads versions 1 and 2`);
  }
  if (v2) {
    if (!HEX64.test(m.format_salt ?? "")) fail("format_salt", "is not 32 bytes of hex");
    if (!/^[0-9a-f]{32}$/.test(m.stream_id ?? "")) fail("stream_id", "is not 16 bytes of hex");
    if (m.encryption_method !== "aes-256-gcm") {
      fail("encryption_method", "must be aes-256-gcm in format 2");
    }
  }
  const compressed = m.compression !== undefined && m.compression !== null;
  if (compressed && !v2) fail("compression", "is only valid in format 2 (version 2)");
  if (m.name !== layout.name) fail("name", `is '${clip(m.name)}', not the stream asked for`);
  if (m.chunk_size < 1 || m.chunk_size > MAX_CHUNK_SIZE) {
    fail("chunk_size", `is ${m.chunk_size}, outside 1 to ${MAX_CHUNK_SIZE} (what put accepts)`);
  }
  if (m.chunk_count !== m.chunks.length) {
    fail("chunk_count", `is ${m.chunk_count} but ${m.chunks.length} chunks are listed`);
  }
  let total = 0;
  m.chunks.forEach((c, i) => {
    const at = `chunks[${i}]`;
    if (c.index !== i) fail(`${at}.index`, `is ${c.index}, expected ${i}`);
    // The standard layout or a generation of this stream (a resumed put may use several).
    if (!layout.isChunkKey(c.s3_key, i)) {
      fail(
        `${at}.s3_key`,
        `is '${clip(c.s3_key)}', expected '${layout.chunkKey(i)}' or a generation`,
      );
    }
    const last = i === m.chunks.length - 1;
    if (last ? c.size < 1 || c.size > m.chunk_size : c.size !== m.chunk_size) {
      fail(`${at}.size`, `is ${c.size}, inconsistent with chunk_size ${m.chunk_size}`);
    }
    if (!HEX64.test(c.sha256)) fail(`${at}.sha256`, "is not a SHA-256 hex digest");
    if (!HEX64.test(c.sha3_256)) fail(`${at}.sha3_256`, "is not a SHA3-256 hex digest");
    if (c.stored_size !== undefined) {
      if (!compressed) fail(`${at}.stored_size`, "is only valid in a compressed format 2 stream");
      // Compressed only when smaller (else stored as it is): this bounds get's read limit.
      if (c.stored_size < 1 || c.stored_size >= c.size) {
        fail(
          `${at}.stored_size`,
          `is ${c.stored_size}; a compressed chunk of ${c.size} bytes stores 1 to ${c.size - 1}`,
        );
      }
    }
    total += c.size;
  });
  if (m.total_bytes !== total) {
    fail("total_bytes", `is ${m.total_bytes} but the chunks add up to ${total}`);
  }
  if (!HEX64.test(m.stream_sha256)) fail("stream_sha256", "is not a SHA-256 hex digest");
  if (!HEX64.test(m.stream_sha3_256)) fail("stream_sha3_256", "is not a SHA3-256 hex digest");
  // Format 2's chain is keyed: get checks it with the key (chainOfRecordsV2) before output.
  if (!v2 && m.final_chain !== chainOfRecords(m.chunks)) {
    fail("final_chain", "does not match the chain of the chunk hashes");
  }
  // The stream hashes are only checked after every byte is written; where the records alone
  // determine them (no chunk, or one), check them now, before anything is written.
  const whole = m.chunks.length === 0
    ? { sha256: EMPTY_SHA256, sha3_256: EMPTY_SHA3_256 }
    : m.chunks.length === 1
    ? m.chunks[0]
    : undefined;
  if (whole && m.stream_sha256 !== whole.sha256) {
    fail("stream_sha256", `does not match the ${m.chunks.length === 0 ? "empty" : "single"} chunk`);
  }
  if (whole && m.stream_sha3_256 !== whole.sha3_256) {
    fail(
      "stream_sha3_256",
      `does not match the ${m.chunks.length === 0 ? "empty" : "single"} chunk`,
    );
  }
  if (m.encrypted !== (m.encryption_method !== null)) {
    fail("encrypted", `is ${m.encrypted} but encryption_method is ${m.encryption_method}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

type Kind = "string" | "string?" | "integer" | "boolean" | "array" | "object";

/** Reads typed fields; a missing field with no default, or a wrong type, names the field. */
class FieldReader {
  constructor(private obj: Record<string, unknown>, private path: string) {}
  get(key: string, kind: Kind, fallback: unknown): unknown {
    const v = this.obj[key];
    const name = `manifest field '${this.path}${key}'`;
    if (v === undefined) {
      if (fallback === undefined) throw new IntegrityError(`${name} is missing`);
      return fallback;
    }
    const ok = kind === "string"
      ? typeof v === "string"
      : kind === "string?"
      ? v === null || typeof v === "string"
      : kind === "integer"
      ? Number.isSafeInteger(v)
      : kind === "boolean"
      ? typeof v === "boolean"
      : kind === "array"
      ? Array.isArray(v)
      : isObject(v);
    if (!ok) throw new IntegrityError(`${name} is not ${kind.replace("?", " or null")}`);
    return v;
  }
}
