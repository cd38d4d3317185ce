/**
 * AES-256-GCM objects as s3duct 0.4 writes them (spec §5.3):
 * 12-byte random nonce || ciphertext || 16-byte tag, no AAD.
 * OpenSSL (AES-NI, off the JS thread) when available, else WebCrypto: in one call up to 8 MiB,
 * in pieces above that (gcm_pieces.ts: the same bytes, without 2 x chunk of fresh pages a call).
 */
import { aead, openssl } from "./openssl.ts";
import {
  GCM_PIECE,
  gcmOpenPieces,
  gcmSealPieces,
  importPiecedGcmKey,
  type PiecedGcmKey,
} from "./gcm_pieces.ts";

/** Bytes of random nonce at the front of every AES-GCM object. */
export const NONCE_BYTES = 12;
/** Bytes of GCM authentication tag at the end of every AES-GCM object. */
export const TAG_BYTES = 16;
/** How much larger an AES-GCM object is than its plaintext. */
export const AES_OVERHEAD: number = NONCE_BYTES + TAG_BYTES;

/** A key ready for either implementation. */
export interface AesKey {
  /** The 32 key bytes (a private copy), for OpenSSL. */
  readonly raw: Uint8Array;
  /** The same key imported into WebCrypto, the fallback when OpenSSL is unavailable. */
  readonly web: CryptoKey;
  /** The same again for WebCrypto in pieces, for messages over {@linkcode GCM_PIECE}. */
  readonly pieced: PiecedGcmKey;
}

/** Import a raw 32-byte key for sealing and opening. */
export async function importAesKey(raw: Uint8Array): Promise<AesKey> {
  const web = await crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    "AES-GCM",
    false,
    [
      "encrypt",
      "decrypt",
    ],
  );
  return { raw: raw.slice(), web, pieced: await importPiecedGcmKey(raw) };
}

/** Encrypt with a fresh random nonce. */
export async function aesSeal(
  key: AesKey,
  plaintext: Uint8Array,
  alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  aad?: Uint8Array,
): Promise<Uint8Array> {
  const out = alloc(AES_OVERHEAD + plaintext.length);
  const nonce = crypto.getRandomValues(out.subarray(0, NONCE_BYTES));
  const l = openssl();
  if (l) {
    const tag = out.subarray(NONCE_BYTES + plaintext.length);
    await aead(
      l,
      "aes-256-gcm",
      true,
      key.raw,
      nonce,
      plaintext,
      out.subarray(NONCE_BYTES),
      tag,
      aad,
    );
    return out;
  }
  if (plaintext.length > GCM_PIECE) {
    const body = out.subarray(NONCE_BYTES, NONCE_BYTES + plaintext.length);
    out.set(
      await gcmSealPieces(key.pieced, nonce, plaintext, body, aad),
      NONCE_BYTES + body.length,
    );
    return out;
  }
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce as Uint8Array<ArrayBuffer>, ...aadParam(aad) },
    key.web,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  out.set(new Uint8Array(sealed), NONCE_BYTES);
  release(sealed);
  return out;
}

/** Decrypt and authenticate; undefined when the tag does not verify (wrong key or damage). */
export async function aesOpen(
  key: AesKey,
  object: Uint8Array,
  alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  aad?: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (object.length < AES_OVERHEAD) return undefined;
  const nonce = object.subarray(0, NONCE_BYTES);
  const body = object.subarray(NONCE_BYTES, object.length - TAG_BYTES);
  const l = openssl();
  if (l) {
    const out = alloc(body.length);
    const tag = object.slice(object.length - TAG_BYTES);
    return (await aead(l, "aes-256-gcm", false, key.raw, nonce, body, out, tag, aad))
      ? out
      : undefined;
  }
  if (body.length > GCM_PIECE) {
    const out = alloc(body.length);
    const tag = object.slice(object.length - TAG_BYTES);
    return (await gcmOpenPieces(key.pieced, nonce, body, tag, out, aad)) ? out : undefined;
  }
  let opened: Uint8Array;
  try {
    opened = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce as Uint8Array<ArrayBuffer>, ...aadParam(aad) },
        key.web,
        object.subarray(NONCE_BYTES) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    return undefined;
  }
  // Into the caller's buffer (get: the sealed object's own middle), as OpenSSL does: WebCrypto's
  // fresh buffer of another size, handed on, filled the buffer pool with plaintexts it never
  // reused (portable get peaked at 1.47 GB against 466 MB with OpenSSL, 1 GiB in 64M chunks).
  const out = alloc(opened.length);
  out.set(opened);
  release(opened.buffer as ArrayBuffer);
  return out;
}

/**
 * Give WebCrypto's result buffer back now: detaching it (transfer to length 0) frees its memory
 * at once, where garbage of 64 MiB per chunk waited for V8's collector and raised peak RSS by
 * hundreds of MB.
 */
function release(b: ArrayBuffer): void {
  b.transfer?.(0);
}

function aadParam(aad?: Uint8Array): { additionalData?: Uint8Array<ArrayBuffer> } {
  return aad?.length ? { additionalData: aad as Uint8Array<ArrayBuffer> } : {};
}
