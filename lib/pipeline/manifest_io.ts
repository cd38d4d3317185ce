/** Fetching, opening (plain / AES / age detection), validating and publishing manifests. */
import {
  IntegrityError,
  KeyError,
  NoMatchingIdentity,
  NotFoundError,
  OversizeObjectError,
} from "../errors.ts";
import { type Cipher } from "../crypto/cipher.ts";
import { splitAgeFile } from "../crypto/age_stream.ts";
import type { StreamLayout } from "../format/layout.ts";
import {
  type EncryptionMethod,
  type Manifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from "../format/manifest.ts";
import type { ManifestGuard } from "./manifest_auth.ts";
import { type PutOptions, type Store } from "../store/store.ts";
import { pythonJsonDumps } from "../format/pyjson.ts";
import { classify, detectSealing, type Sealing } from "./manifest_sealing.ts";

export { detectSealing, type Sealing };

/** Keys the user supplied: ciphers by method, and what authenticates a manifest. */
export interface Keyring {
  /** The `--key` cipher, for AES-sealed manifests and chunks. */
  aes?: Cipher;
  /** The `--age-identity` cipher, for age-sealed manifests and chunks. */
  age?: Cipher;
  /** Signature and pinning checks (lib/pipeline/manifest_auth.ts); absent: none. */
  guard?: ManifestGuard;
}

/** A manifest object opened: the manifest it holds, and how the object was sealed. */
export interface OpenedManifest {
  /** The parsed manifest; {@linkcode openManifest} also validates it against the layout. */
  manifest: Manifest;
  /** How the manifest object itself was sealed. */
  sealing: Sealing;
}

import { MAX_MANIFEST_CHUNKS } from "../format/manifest_scan.ts";
export { MAX_MANIFEST_CHUNKS };
/**
 * Bytes one chunk record can take in a manifest (JSON, indent 2, as serializeManifest writes
 * it), besides the stream name inside its s3_key: the braces, field names and punctuation at
 * their indent with a 7-digit index, a 10-digit size (5 GiB) and two 64-digit hashes (270), an
 * ETag of up to 64 characters as JSON writes it (`"\"<32 hex>-<parts>\""`: 40-50), and the rest
 * of the key, `/g1a2b3c4d/chunk-1048575` (24): 358; plus, on a compressed format 2 chunk,
 * `,"stored_size": <10 digits>` on its own line (33): 391, rounded up.
 */
const MANIFEST_RECORD_BYTES = 392;
/** Everything but the records: description, tags, recipients, times, hashes. */
const MANIFEST_OTHER_BYTES = 1024 * 1024;
/** Sealing: age's 16-byte nonce + 16 bytes per 64 KiB segment, and its header (AES: 28). */
const MANIFEST_SEAL_HEADER = 64 * 1024;

/**
 * The largest manifest object of stream `name` a reader accepts; a bigger one is refused
 * before a byte of it is read (IntegrityError, exit 4). The chunk count is unknown before
 * reading, so the cap is what the largest valid manifest can need:
 *
 *   plain = MAX_MANIFEST_CHUNKS x (MANIFEST_RECORD_BYTES + |name as JSON escapes it|)
 *           + MANIFEST_OTHER_BYTES
 *   cap   = plain + 16 + 16 x ceil(plain / 64 KiB) + MANIFEST_SEAL_HEADER
 *
 * e.g. ~433 MB for a 20-character name: gigabytes sent where a manifest belongs never reach
 * memory. (README "Limits" documents the same formula.)
 */
export function manifestSizeLimit(name: string): number {
  const escapedName = pythonJsonDumps(name).length - 2;
  const plain = MAX_MANIFEST_CHUNKS * (MANIFEST_RECORD_BYTES + escapedName) +
    MANIFEST_OTHER_BYTES;
  return plain + 16 + 16 * Math.ceil(plain / 65536) + MANIFEST_SEAL_HEADER;
}

/**
 * The manifest object's bytes, refused unread if over manifestSizeLimit; NotFoundError naming
 * the stream if absent.
 */
export async function fetchManifest(store: Store, layout: StreamLayout): Promise<Uint8Array> {
  try {
    return await store.get(layout.full(layout.manifestKey), undefined, {
      maxBytes: manifestSizeLimit(layout.name),
    });
  } catch (e) {
    if (e instanceof OversizeObjectError) throw e.as(`manifest of '${layout.name}'`);
    if (!(e instanceof NotFoundError)) throw e;
    const where = layout.prefix ? ` under prefix '${layout.prefix}'` : "";
    throw new NotFoundError(
      `stream '${layout.name}' not found in ${store.location}${where} (no manifest)`,
    );
  }
}

/**
 * Authenticate (if a guard asks), decrypt if needed (never guessing silently), parse and
 * strictly validate. Authentication comes first: nothing unauthenticated is decrypted or parsed.
 */
export async function openManifest(
  bytes: Uint8Array,
  layout: StreamLayout,
  keys: Keyring,
): Promise<OpenedManifest> {
  await keys.guard?.authenticate(bytes, layout);
  const opened = await decodeManifest(bytes, layout.name, keys);
  validateManifest(opened.manifest, layout);
  // 0.4 writes `encrypted_manifest: true` only into manifests it encrypts, so a plain manifest
  // claiming it replaced an encrypted one (a downgrade), and a sealed one denying it is odd.
  if (opened.manifest.encrypted_manifest !== (opened.sealing !== "plain")) {
    throw new IntegrityError(
      `manifest of '${layout.name}': field 'encrypted_manifest' is ` +
        `${opened.manifest.encrypted_manifest} but the manifest object is ` +
        (opened.sealing === "plain" ? "plain JSON" : `sealed with ${opened.sealing}`),
    );
  }
  keys.guard?.accept(opened.manifest, layout);
  return opened;
}

/**
 * Decrypt and parse without checking the manifest against a layout (for `list`, which learns
 * the stream's name and prefix from the manifest). `label` names the stream in errors.
 *
 * Which failures are integrity (4) and which are key problems (5): a key problem only where a
 * key could still open the object, so a garbage manifest is never blamed on the key.
 *
 * - age header line: no MAC line after it (no key opens it) is 4; no identity given, or none
 *   matching its recipients, is 5; an identity matched but the header MAC or the payload fails
 *   is 4 (the key is proven right, so the object is damaged).
 * - UTF-8 text: plain JSON, whatever it holds; anything but a manifest object is 4, and so is
 *   JSON text with bytes that are not UTF-8 (a `{` and printable ASCII first). A sealed
 *   manifest is never mistaken for text: AES output is random bytes, and n random bytes form
 *   valid UTF-8 with probability about 0.565^n, below 10^-38 for the smallest sealed manifest
 *   (next rule).
 * - other bytes (binary): taken for AES-256-GCM. Shorter than MIN_AES_MANIFEST_BYTES is 4: it
 *   cannot hold the nonce, the tag and a manifest's two 64-digit stream hashes. Otherwise no
 *   --key is 5, and a key that does not open it is 5 too ("wrong key, or damaged"): GCM cannot
 *   tell the two apart, and the key is what to check first.
 */
export async function decodeManifest(
  bytes: Uint8Array,
  label: string,
  keys: Keyring,
): Promise<OpenedManifest> {
  const { sealing, text, invalidText } = classify(bytes);
  if (invalidText) {
    throw new IntegrityError(
      `manifest of '${label}' is damaged: JSON text that is not valid UTF-8`,
    );
  }
  let plain = text;
  if (sealing === "age") plain = new TextDecoder().decode(await openAge(bytes, label, keys));
  if (sealing === "aes-256-gcm") {
    plain = new TextDecoder().decode(await openAes(bytes, label, keys));
  }
  const manifest = parseManifest(plain!);
  if (sealing !== "plain" && manifest.encryption_method !== sealing) {
    throw new IntegrityError(
      `manifest of '${label}' is sealed with ${sealing} but says its chunks use ${manifest.encryption_method}`,
    );
  }
  return { manifest, sealing };
}

/**
 * The least an AES-sealed manifest can be: nonce (12) + tag (16) + the two 64-hex-digit stream
 * hashes every valid manifest holds (128), before any other field.
 */
export const MIN_AES_MANIFEST_BYTES: number = 12 + 16 + 128;

async function openAes(bytes: Uint8Array, label: string, keys: Keyring): Promise<Uint8Array> {
  if (bytes.length < MIN_AES_MANIFEST_BYTES) {
    throw new IntegrityError(
      `manifest of '${label}' is damaged: ${bytes.length} bytes that are neither JSON text ` +
        `nor an AES-256-GCM manifest (at least ${MIN_AES_MANIFEST_BYTES} bytes)`,
    );
  }
  if (!keys.aes) throw new KeyError(missingKeyMessage(label, "aes-256-gcm", keys));
  const opened = await keys.aes.open(bytes);
  if (!opened) {
    throw new KeyError(
      `--key does not decrypt the manifest of '${label}': wrong key (or the manifest is damaged)`,
    );
  }
  return opened;
}

async function openAge(bytes: Uint8Array, label: string, keys: Keyring): Promise<Uint8Array> {
  if (!splitAgeFile(bytes)) {
    throw new IntegrityError(
      `manifest of '${label}' is damaged: it starts like an age file but has no header MAC line`,
    );
  }
  if (!keys.age) throw new KeyError(missingKeyMessage(label, "age", keys));
  let opened: Uint8Array | undefined;
  try {
    opened = await keys.age.open(bytes);
  } catch (e) {
    if (!(e instanceof NoMatchingIdentity)) throw e;
    throw new KeyError(`no --age-identity given matches the age-encrypted manifest of '${label}'`);
  }
  if (!opened) {
    // Not for want of a matching identity (that is NoMatchingIdentity above): the header is
    // malformed, or an identity unwrapped the file key and the header MAC or payload failed.
    throw new IntegrityError(
      `age-encrypted manifest of '${label}' is damaged: its header or payload fails its checks`,
    );
  }
  return opened;
}

function missingKeyMessage(name: string, sealing: Sealing, keys: Keyring): string {
  if (sealing === "age") {
    return keys.aes
      ? `the manifest of '${name}' is age-encrypted: pass --age-identity, not --key`
      : `the manifest of '${name}' is age-encrypted: pass --age-identity FILE`;
  }
  return keys.age
    ? `the manifest of '${name}' is AES-256-GCM encrypted: pass --key, not --age-identity`
    : `the manifest of '${name}' is encrypted (AES-256-GCM): pass the --key it was written with`;
}

/** The cipher for a stream's chunks, or a KeyError saying which key is needed. */
export function chunkCipher(
  method: EncryptionMethod | null,
  name: string,
  keys: Keyring,
  plain: Cipher,
): Cipher {
  if (method === null) return plain;
  const cipher = method === "age" ? keys.age : keys.aes;
  if (!cipher) {
    const flag = method === "age" ? "--age-identity FILE" : "--key";
    const other = method === "age" ? keys.aes : keys.age;
    throw new KeyError(
      `stream '${name}' is encrypted with ${method}: pass ${flag}` +
        (other ? ` (the key given is for ${method === "age" ? "AES" : "age"} streams)` : ""),
    );
  }
  return cipher;
}

/**
 * Serialise, seal if asked, and store the manifest (last step of a put). A signed put passes a
 * store wrapped by `signingStore` (manifest_auth.ts), which writes `.manifest.sig` over these
 * exact bytes just before the manifest itself.
 */
export async function publishManifest(
  store: Store,
  layout: StreamLayout,
  manifest: Manifest,
  sealWith: Cipher | undefined,
  opts: PutOptions = {},
): Promise<void> {
  const plain = serializeManifest(manifest);
  const body = sealWith ? await sealWith.seal(plain) : plain;
  await store.put(layout.full(layout.manifestKey), body, opts);
}
