/** base64 and base64url (no padding), the two text forms of bytes s3duct writes. Pure. */

/**
 * Standard base64 of `b`.
 * @param b bytes of any length (encoded in 32 KiB slices: no call-stack limit on big inputs)
 * @returns standard base64 with padding
 */
export function encodeBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Decodes standard base64, as {@linkcode encodeBase64} writes it.
 * @returns the bytes, or undefined for text that is not base64
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** base64url without padding (fits S3 metadata values and key strings: plain ASCII). */
export function encodeBase64Url(b: Uint8Array): string {
  return encodeBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Decodes unpadded base64url, as {@linkcode encodeBase64Url} writes it.
 * @returns the bytes, or undefined for text outside the base64url alphabet
 */
export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return decodeBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}
