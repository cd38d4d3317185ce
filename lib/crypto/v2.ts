/**
 * Format 2 (opt-in, `put --format 2`, AES streams): per-stream subkeys and binding.
 *
 *   enc key = HKDF-SHA256(key, salt, "s3duct v2 chunk encryption", 32)
 *   mac key = HKDF-SHA256(key, salt, "s3duct v2 chain", 32)
 *   chunk i = AES-256-GCM(enc key, random 96-bit nonce, AAD), stored nonce || ct || tag
 *   AAD     = "s3duct-v2 chunk" || stream id (16) || u64be(i) || u8(last ? 1 : 0)
 *   chain_i = HMAC-SHA256(mac key, chain_{i-1} || u64be(i) || sha256_i || sha3_i), chain_-1 = id
 *
 * The salt (32 random bytes) and stream id (16) are stored in the manifest. A chunk then opens
 * only at its own position in its own stream, the last chunk only as the last, and nobody
 * without the key can recompute the chain (v1's is keyed by a public constant).
 * Nonce budget: random 96-bit nonces are safe for 2^32 messages per key (NIST SP 800-38D);
 * each stream has its own key, so that is 2^32 chunks per stream.
 */
import { createHmac, hkdfSync } from "node:crypto";
import { fromHex, toHex } from "../format/chain.ts";

/** Bytes of the per-stream random HKDF salt recorded in the manifest. */
export const V2_SALT_BYTES = 32;
/** Bytes of the random stream id, bound into every chunk's AAD and the chain's start. */
export const V2_ID_BYTES = 16;
const AAD_LABEL = new TextEncoder().encode("s3duct-v2 chunk");

/** The random per-stream values a format-2 manifest records. */
export interface V2Params {
  /** HKDF salt for the stream's subkeys ({@linkcode V2_SALT_BYTES} bytes). */
  salt: Uint8Array;
  /** The stream's id ({@linkcode V2_ID_BYTES} bytes), so its chunks open in no other stream. */
  streamId: Uint8Array;
}

/** The per-stream subkeys derived from the `--key`. */
export interface V2Keys {
  /** AES-256-GCM key for the chunk objects. */
  enc: Uint8Array;
  /** HMAC-SHA256 key for the chain, so only key holders can recompute it. */
  mac: Uint8Array;
}

/** Fresh random salt and stream id for a new format-2 stream. */
export function newV2Params(): V2Params {
  return {
    salt: crypto.getRandomValues(new Uint8Array(V2_SALT_BYTES)),
    streamId: crypto.getRandomValues(new Uint8Array(V2_ID_BYTES)),
  };
}

/** The stream's encryption and chain subkeys: HKDF-SHA256 of the key and the stream's salt. */
export function deriveV2Keys(key: Uint8Array, salt: Uint8Array): V2Keys {
  return {
    enc: new Uint8Array(hkdfSync("sha256", key, salt, "s3duct v2 chunk encryption", 32)),
    mac: new Uint8Array(hkdfSync("sha256", key, salt, "s3duct v2 chain", 32)),
  };
}

/** Where a chunk sits: what format 2 binds into its ciphertext. */
export interface ChunkPosition {
  /** The chunk's 0-based index in the stream. */
  index: number;
  /** True for the stream's final chunk, so a truncated stream cannot pass as whole. */
  last: boolean;
}

/** The AAD that binds a chunk to its stream and position: label, stream id, index, last flag. */
export function chunkAad(streamId: Uint8Array, at: ChunkPosition): Uint8Array {
  const aad = new Uint8Array(AAD_LABEL.length + V2_ID_BYTES + 9);
  aad.set(AAD_LABEL);
  aad.set(streamId, AAD_LABEL.length);
  new DataView(aad.buffer).setBigUint64(AAD_LABEL.length + V2_ID_BYTES, BigInt(at.index));
  aad[aad.length - 1] = at.last ? 1 : 0;
  return aad;
}

/** The next keyed chain value: HMAC-SHA256 over the previous one, the index and both digests. */
export function chainLinkV2(
  mac: Uint8Array,
  previous: Uint8Array,
  index: number,
  sha256: Uint8Array,
  sha3: Uint8Array,
): Uint8Array {
  const i = new Uint8Array(8);
  new DataView(i.buffer).setBigUint64(0, BigInt(index));
  return new Uint8Array(
    createHmac("sha256", mac).update(previous).update(i).update(sha256).update(sha3).digest(),
  );
}

/** Final keyed chain over a manifest's records, as hex ("" for none). */
export function chainOfRecordsV2(
  mac: Uint8Array,
  streamId: Uint8Array,
  records: { sha256: string; sha3_256: string }[],
): string {
  let chain = streamId;
  records.forEach((r, i) => {
    chain = chainLinkV2(mac, chain, i, fromHex(r.sha256), fromHex(r.sha3_256));
  });
  return records.length ? toHex(chain) : "";
}
