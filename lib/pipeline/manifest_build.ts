/** The manifest a finished put publishes, from what it stored. Pure. */
import { toHex } from "../format/chain.ts";
import {
  type ChunkRecord,
  type Manifest,
  MANIFEST_VERSION,
  MANIFEST_VERSION_2,
} from "../format/manifest.ts";
import type { Codec, EncryptionMethod, ServerSideEncryption } from "../format/manifest.ts";
import type { V2Params } from "../crypto/v2.ts";
import type { DualDigest } from "../crypto/hash.ts";
import { VERSION } from "../version.ts";

/** Everything a manifest records about one finished put. */
export interface ManifestFacts {
  /** The stream name; `get` accepts the manifest only under this name. */
  name: string;
  /** `--description` text ("" for none). */
  description: string;
  /** Python-style ISO time (pyjson.ts). */
  created: string;
  /** Plaintext bytes per chunk (the last may hold fewer). */
  chunkSize: number;
  /** How the chunks were sealed; null for a plain stream. */
  encryptionMethod: EncryptionMethod | null;
  /** The age recipients, comma-separated (age only); else null. */
  encryptionRecipient: string | null;
  /** Whether the manifest object will be sealed too (recorded as `encrypted_manifest`). */
  encryptManifest: boolean;
  /** The storage class the chunks were written with. */
  storageClass: string;
  /** User tags from `--tag`. */
  tags: Record<string, string>;
  /** Every stored chunk's record, in stream order. */
  records: ChunkRecord[];
  /** Chain value after the last chunk; undefined for an empty stream. */
  chain?: Uint8Array;
  /** Both digests of the whole stream. */
  whole: DualDigest;
  /** Format 2's salt and stream id; absent = format 1. */
  v2?: V2Params;
  /** Format 2 only: the chunk codec (records of compressed chunks carry stored_size). */
  compression?: Codec;
  /** The server-side encryption the store applied to every object (`--sse`, `--sse-c-key`). */
  sse?: ServerSideEncryption;
}

/**
 * The manifest a finished put publishes: format 2 when `v2` is given, else format 1.
 * @returns the manifest, fields in the order s3duct 0.4 writes them
 */
export function buildManifest(f: ManifestFacts): Manifest {
  return {
    version: f.v2 ? MANIFEST_VERSION_2 : MANIFEST_VERSION,
    name: f.name,
    description: f.description,
    created: f.created,
    tool_version: VERSION,
    chunk_count: f.records.length,
    chunk_size: f.chunkSize,
    total_bytes: f.records.reduce((t, r) => t + r.size, 0),
    encrypted: f.encryptionMethod !== null,
    encrypted_manifest: f.encryptManifest,
    encryption_method: f.encryptionMethod,
    encryption_recipient: f.encryptionRecipient,
    storage_class: f.storageClass,
    tags: f.tags,
    chunks: f.records,
    final_chain: f.chain ? toHex(f.chain) : "",
    stream_sha256: toHex(f.whole.sha256),
    stream_sha3_256: toHex(f.whole.sha3),
    ...(f.v2 ? { format_salt: toHex(f.v2.salt), stream_id: toHex(f.v2.streamId) } : {}),
    ...(f.v2 && f.compression ? { compression: f.compression } : {}),
    ...(f.sse ? { server_side_encryption: f.sse } : {}),
  };
}
