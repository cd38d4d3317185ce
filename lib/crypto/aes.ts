/**
 * AES-256-GCM objects as s3duct 0.4 writes them (spec §5.3):
 * 12-byte random nonce || ciphertext || 16-byte tag, no AAD.
 */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const AES_OVERHEAD: number = NONCE_BYTES + TAG_BYTES;

/** Import a raw 32-byte key for sealing and opening. */
export function importAesKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Encrypt with a fresh random nonce. */
export async function aesSeal(key: CryptoKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce },
      key,
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_BYTES);
  return out;
}

/** Decrypt and authenticate; undefined when the tag does not verify (wrong key or damage). */
export async function aesOpen(key: CryptoKey, object: Uint8Array): Promise<Uint8Array | undefined> {
  if (object.length < AES_OVERHEAD) return undefined;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: object.subarray(0, NONCE_BYTES) as Uint8Array<ArrayBuffer> },
        key,
        object.subarray(NONCE_BYTES) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    return undefined;
  }
}
