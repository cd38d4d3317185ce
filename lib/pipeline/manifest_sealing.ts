/**
 * What a stored manifest object is, from its bytes alone: plain JSON text, an age file, or
 * binary (AES-256-GCM). Pure; opening it is manifest_io.ts's business.
 */

/** How a manifest object itself is stored: JSON text, or sealed like the chunks. */
export type Sealing = "plain" | "aes-256-gcm" | "age";

const AGE_MAGIC = "age-encryption.org/v1\n";

/**
 * What a stored manifest object is, by its bytes alone: the age header line, else UTF-8 text
 * (plain JSON, or garbage), else binary (taken for AES-256-GCM). See {@link decodeManifest}
 * for why text is never taken for a sealed manifest.
 */
export function detectSealing(bytes: Uint8Array): Sealing {
  return classify(bytes).sealing;
}

/**
 * The sealing, and for plain manifests the text (decoded once: manifests can be big).
 * `invalidText` marks JSON text with bytes that are not UTF-8: damage to a plain manifest,
 * not something sealed.
 */
export function classify(
  bytes: Uint8Array,
): { sealing: Sealing; text?: string; invalidText?: boolean } {
  const head = new TextDecoder().decode(bytes.subarray(0, AGE_MAGIC.length));
  if (head === AGE_MAGIC) return { sealing: "age" };
  const notText = () =>
    looksLikeJsonText(bytes) ? { sealing: "plain" as const, invalidText: true } : {
      sealing: "aes-256-gcm" as const,
    };
  // Sealed bytes are random: their first few KiB are already invalid UTF-8, and a big binary
  // object is never decoded whole (as UTF-16 it would take twice its size). `stream` keeps a
  // multi-byte character cut at the end of the sample from counting as invalid.
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, 4096), { stream: true });
  } catch {
    return notText();
  }
  // The lenient decoder marks invalid bytes with U+FFFD; only then is the strict one (which
  // costs about twice the text's size again in Deno, measured on 60 MB) asked whether the
  // text is invalid or merely holds a real U+FFFD.
  const text = new TextDecoder().decode(bytes);
  if (text.includes("\ufffd")) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return notText();
    }
  }
  return { sealing: "plain", text };
}

/** Bytes inspected to call an object JSON text, and how many of them may be damaged. */
const JSON_SNIFF_BYTES = 64;
const JSON_SNIFF_DAMAGE = 4;

/**
 * Whether not-quite-UTF-8 bytes are a damaged JSON text rather than a sealed object: they open
 * with `{` (after blanks) and at most 4 of their first 64 bytes are not printable ASCII. Random
 * bytes do that with probability about C(64,4) x (98/256)^60, below 10^-19, so no AES object
 * is taken for text; a plain manifest damaged there is still called damaged.
 */
function looksLikeJsonText(bytes: Uint8Array): boolean {
  if (bytes.length < JSON_SNIFF_BYTES) return false;
  let first = -1;
  let damaged = 0;
  for (let i = 0; i < JSON_SNIFF_BYTES; i++) {
    const b = bytes[i];
    const blank = b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
    if (!blank && (b < 0x20 || b > 0x7e)) damaged++;
    else if (first < 0 && !blank) first = b;
  }
  return first === 0x7b && damaged <= JSON_SNIFF_DAMAGE;
}
