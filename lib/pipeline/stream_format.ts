/**
 * A stream's format, decided once: the cipher its chunks are sealed with and the step of its
 * chain (format 1: the stream cipher and the HMAC chain s3duct 0.4 reads; format 2: per-stream
 * subkeys and the keyed chain). Put and get use what this returns and never branch on the
 * format themselves.
 */
import { IntegrityError, KeyError, UsageError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { chainOfRecordsV2, newV2Params, type V2Params } from "../crypto/v2.ts";
import type { Compression } from "../crypto/zstd.ts";
import { fromHex } from "../format/chain.ts";
import { type ChunkRecord, type Manifest, MANIFEST_VERSION_2 } from "../format/manifest.ts";
import { type ChainStep, chainStep } from "./chain_step.ts";
import type { Sealing } from "./manifest_io.ts";
import { v2KeyVerdict } from "./v2_key.ts";

/** What a stream's format settles for its chunks. */
export interface StreamFormat {
  /** Seals and opens the chunks: the stream cipher, or format 2's per-stream one. */
  chunks: Cipher;
  /** The chain value after each chunk. */
  step: ChainStep;
  /** Format 2's salt and stream id (recorded in its manifest); absent = format 1. */
  v2?: V2Params;
}

/**
 * The format of a new stream: format 2 draws a fresh salt and stream id.
 * @throws {KeyError} format 2 without an AES key
 * @throws {UsageError} `compress` without format 2 and an AES key
 */
export function newStreamFormat(
  cipher: Cipher,
  format: 1 | 2 | undefined,
  compress: Compression | undefined,
): StreamFormat {
  const params = format === 2 ? newV2Params() : undefined;
  const v2 = params && cipher.formatV2?.(params);
  if (params && !v2) throw new KeyError("--format 2 needs an AES --key");
  // Compressed chunks need format 2's manifest fields, and its AES sealer (in place).
  if (compress && !v2) throw new UsageError("--compress needs --format 2 and an AES --key");
  if (!v2 || !params) return { chunks: cipher, step: chainStep() };
  return { chunks: v2.chunks, step: chainStep({ ...params, mac: v2.mac }), v2: params };
}

/**
 * The format of a stored stream. Format 2's keyed chain of the records is checked against the
 * manifest here, before anything is fetched or written.
 * @param fetch reads a chunk object (to tell a wrong key from a forged manifest)
 * @throws {KeyError} format 2 without an AES key, or a key the chunks do not open
 * @throws {IntegrityError} the records' keyed chain is not the manifest's `final_chain`
 */
export async function storedStreamFormat(
  manifest: Manifest,
  base: Cipher,
  name: string,
  sealing: Sealing,
  fetch: (r: ChunkRecord) => Promise<Uint8Array>,
): Promise<StreamFormat> {
  if (manifest.version !== MANIFEST_VERSION_2) return { chunks: base, step: chainStep() };
  if (!base.formatV2) throw new KeyError(`stream '${name}' is format 2: pass its --key`);
  const v2 = { salt: fromHex(manifest.format_salt!), streamId: fromHex(manifest.stream_id!) };
  const { chunks, mac } = base.formatV2(v2);
  if (chainOfRecordsV2(mac, v2.streamId, manifest.chunks) !== manifest.final_chain) {
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
  return { chunks, step: chainStep({ ...v2, mac }), v2 };
}
