/** How chunk and manifest objects are sealed: none, or AES-256-GCM (age plugs in here too). */
import type { EncryptionMethod } from "../format/manifest.ts";
import { aesOpen, aesSeal, importAesKey } from "./aes.ts";

export interface Cipher {
  /** As recorded in the manifest's encryption_method. */
  readonly method: EncryptionMethod | null;
  /** As recorded in the manifest's encryption_recipient (age only). */
  readonly recipient: string | null;
  /** `alloc` may supply the output buffer (a pool), when the method writes one in place. */
  seal(plain: Uint8Array, alloc?: (n: number) => Uint8Array): Promise<Uint8Array>;
  /** Plaintext, or undefined when the object does not authenticate (wrong key or damage). */
  open(sealed: Uint8Array, alloc?: (n: number) => Uint8Array): Promise<Uint8Array | undefined>;
}

/** No encryption: objects are the plaintext. */
export const plainCipher: Cipher = {
  method: null,
  recipient: null,
  seal: (plain) => Promise.resolve(plain),
  open: (sealed) => Promise.resolve(sealed),
};

/** AES-256-GCM with one key, as s3duct v1 does. */
export async function aesCipher(rawKey: Uint8Array): Promise<Cipher> {
  const key = await importAesKey(rawKey);
  return {
    method: "aes-256-gcm",
    recipient: null,
    seal: (plain, alloc) => aesSeal(key, plain, alloc),
    open: (sealed, alloc) => aesOpen(key, sealed, alloc),
  };
}
