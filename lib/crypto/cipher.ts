/**
 * How chunk and manifest objects are sealed: none, or AES-256-GCM (age plugs in here too), and
 * what the sealed objects measure, which is known from the method alone.
 */
import { KeyError, NoMatchingIdentity } from "../errors.ts";
import type { EncryptionMethod, Manifest } from "../format/manifest.ts";
import { AES_OVERHEAD, aesOpen, aesSeal, importAesKey, NONCE_BYTES, TAG_BYTES } from "./aes.ts";
import { payloadSize } from "./age_stream.ts";
import { chunkAad, type ChunkPosition, deriveV2Keys, type V2Params } from "./v2.ts";
import { createHash, createHmac } from "node:crypto";

/** What a method's sealed objects measure: known from the method alone, no key needed. */
export interface SealedSizes {
  /**
   * The exact object size for `n` plaintext bytes: n (plain), n + 28 (AES-GCM: 12-byte nonce,
   * 16-byte tag); undefined for age, whose header varies with its recipient stanzas.
   */
  sealedSize(n: number): number | undefined;
  /**
   * The most bytes an object of `n` plaintext bytes can take, sealed for `recipients` (age
   * only; the others ignore it): `get` refuses a bigger object before reading it.
   */
  sealedSizeLimit(n: number, recipients: number): number;
}

/**
 * Room an age header may take: ~90 bytes of frame and MAC, plus one stanza per recipient
 * (X25519 ~170 bytes, ML-KEM-768 hybrid ~1,630, measured), with slack for stanzas other tools
 * add (grease, plugins).
 */
const AGE_HEADER_BASE = 64 * 1024;
const AGE_HEADER_PER_RECIPIENT = 2 * 1024;

const PLAIN_SIZES: SealedSizes = { sealedSize: (n) => n, sealedSizeLimit: (n) => n };
const AES_SIZES: SealedSizes = {
  sealedSize: (n) => n + AES_OVERHEAD,
  sealedSizeLimit: (n) => n + AES_OVERHEAD,
};
/** An age file: header + 16-byte nonce + 16 bytes per 64 KiB segment. */
const AGE_SIZES: SealedSizes = {
  sealedSize: () => undefined,
  sealedSizeLimit: (n, recipients) =>
    payloadSize(n) + AGE_HEADER_BASE + AGE_HEADER_PER_RECIPIENT * recipients,
};

/** The sizes of objects sealed with `method` (null: plain). */
export function sealedSizes(method: EncryptionMethod | null): SealedSizes {
  return method === null ? PLAIN_SIZES : method === "aes-256-gcm" ? AES_SIZES : AGE_SIZES;
}

/**
 * The most bytes the stored object of a chunk of `size` plaintext bytes (its stored size when
 * compressed) can take, sealed as `manifest` says; the age recipients are its comma-separated
 * `encryption_recipient`.
 */
export function sealedSizeLimit(size: number, manifest: Manifest): number {
  const recipients = manifest.encryption_recipient?.split(",").length ?? 0;
  return sealedSizes(manifest.encryption_method).sealedSizeLimit(size, recipients);
}

/** Seals and opens chunk and manifest objects for one encryption method and key. */
export interface Cipher extends SealedSizes {
  /** As recorded in the manifest's encryption_method. */
  readonly method: EncryptionMethod | null;
  /** As recorded in the manifest's encryption_recipient (age only). */
  readonly recipient: string | null;
  /** Identifies the key or recipients without revealing them (binds resume state). */
  readonly fingerprint: string;
  /**
   * `alloc` may supply the output buffer (a pool), when the method writes one in place.
   * `at` is the chunk's position, which format 2 binds in (others ignore it).
   */
  seal(
    plain: Uint8Array,
    alloc?: (n: number) => Uint8Array,
    at?: ChunkPosition,
  ): Promise<Uint8Array>;
  /**
   * Plaintext, or undefined when the object does not authenticate (wrong key or damage).
   * @throws {NoMatchingIdentity} no identity given matches the object's recipients (age)
   */
  open(
    sealed: Uint8Array,
    alloc?: (n: number) => Uint8Array,
    at?: ChunkPosition,
  ): Promise<Uint8Array | undefined>;
  /**
   * Set when the object is exactly `head` bytes, the plaintext transformed in place, then `tail`
   * bytes (AES-GCM: nonce, ciphertext, tag). Then `alloc` may return memory that overlaps the
   * input exactly: for seal, the plaintext's own buffer widened by head and tail; for open, the
   * object's middle. A chunk then costs one buffer instead of two.
   */
  readonly inPlace?: { head: number; tail: number };
  /**
   * Whether chunk objects can carry their own sealed record (x-amz-meta-s3duct) for resume
   * from the bucket: plain and AES can; age cannot (a recipient-only host could not read it).
   */
  readonly carriesRecords?: boolean;
  /** Format 2 subkeys of this key (AES only): a chunk cipher bound to the stream, and the MAC key. */
  formatV2?(params: V2Params): { chunks: Cipher; mac: Uint8Array };
}

/** No encryption: objects are the plaintext. */
export const plainCipher: Cipher = {
  method: null,
  recipient: null,
  fingerprint: "none",
  carriesRecords: true,
  ...PLAIN_SIZES,
  seal: (plain) => Promise.resolve(plain),
  open: (sealed) => Promise.resolve(sealed),
};

const AES_IN_PLACE = { head: NONCE_BYTES, tail: TAG_BYTES };

/** AES-256-GCM with one key, as s3duct v1 does; `formatV2` derives the per-stream keys. */
export async function aesCipher(rawKey: Uint8Array): Promise<Cipher> {
  const key = await importAesKey(rawKey);
  const fingerprint = keyFingerprint("aes-256-gcm", { aesKey: rawKey });
  return {
    method: "aes-256-gcm",
    recipient: null,
    fingerprint,
    inPlace: AES_IN_PLACE,
    carriesRecords: true,
    ...AES_SIZES,
    seal: (plain, alloc) => aesSeal(key, plain, alloc),
    open: (sealed, alloc) => aesOpen(key, sealed, alloc),
    formatV2(params) {
      const sub = deriveV2Keys(rawKey, params.salt);
      const enc = importAesKey(sub.enc);
      const need = (at?: ChunkPosition) => {
        if (!at) throw new Error("format 2 chunks need their position");
        return chunkAad(params.streamId, at);
      };
      const chunks: Cipher = {
        method: "aes-256-gcm",
        recipient: null,
        fingerprint,
        inPlace: AES_IN_PLACE,
        ...AES_SIZES,
        seal: async (plain, alloc, at) => aesSeal(await enc, plain, alloc, need(at)),
        open: async (sealed, alloc, at) => aesOpen(await enc, sealed, alloc, need(at)),
      };
      return { chunks, mac: sub.mac };
    },
  };
}

/** Fingerprint of what encrypts a stream; resuming with anything else would mix keys. */
export function keyFingerprint(
  method: string | null,
  material: { aesKey?: Uint8Array; recipients?: string[] },
): string {
  if (method === null) return "none";
  if (material.aesKey) {
    // An HMAC under the key: equal for equal keys, and reveals nothing of the key.
    const mac = createHmac("sha256", material.aesKey).update("s3duct resume fingerprint");
    return `aes:${mac.digest("hex").slice(0, 16)}`;
  }
  const r = [...(material.recipients ?? [])].sort().join("\n");
  return `age:${createHash("sha256").update(r).digest("hex").slice(0, 16)}`;
}
