/** Fetching, opening (plain / AES / age detection), validating and publishing manifests. */
import { IntegrityError, KeyError, NotFoundError } from "../errors.ts";
import type { Cipher } from "../crypto/cipher.ts";
import { NoMatchingIdentity } from "../crypto/age.ts";
import type { StreamLayout } from "../format/layout.ts";
import {
  type EncryptionMethod,
  type Manifest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from "../format/manifest.ts";
import type { ManifestGuard } from "./manifest_auth.ts";
import type { PutOptions, Store } from "../store/store.ts";

export type Sealing = "plain" | "aes-256-gcm" | "age";

const AGE_MAGIC = "age-encryption.org/v1\n";

/** What a stored manifest object is, by its bytes alone. */
export function detectSealing(bytes: Uint8Array): Sealing {
  const head = new TextDecoder().decode(bytes.subarray(0, AGE_MAGIC.length));
  if (head === AGE_MAGIC) return "age";
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (text.trimStart().startsWith("{")) return "plain";
  } catch {
    // not text: sealed
  }
  return "aes-256-gcm";
}

/** Keys the user supplied: ciphers by method, and what authenticates a manifest. */
export interface Keyring {
  aes?: Cipher;
  age?: Cipher;
  /** Signature and pinning checks (lib/pipeline/manifest_auth.ts); absent: none. */
  guard?: ManifestGuard;
}

export interface OpenedManifest {
  manifest: Manifest;
  /** How the manifest object itself was sealed. */
  sealing: Sealing;
}

/** The manifest object's bytes; NotFoundError naming the stream if absent. */
export async function fetchManifest(store: Store, layout: StreamLayout): Promise<Uint8Array> {
  try {
    return await store.get(layout.full(layout.manifestKey));
  } catch (e) {
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
 */
export async function decodeManifest(
  bytes: Uint8Array,
  label: string,
  keys: Keyring,
): Promise<OpenedManifest> {
  const sealing = detectSealing(bytes);
  let plain = bytes;
  if (sealing !== "plain") {
    const cipher = sealing === "age" ? keys.age : keys.aes;
    if (!cipher) throw new KeyError(missingKeyMessage(label, sealing, keys));
    const opened = await cipher.open(bytes).catch((e) => {
      if (e instanceof NoMatchingIdentity) return undefined;
      throw e;
    });
    if (!opened) {
      throw new KeyError(
        sealing === "age"
          ? `no --age-identity given matches the age-encrypted manifest of '${label}'`
          : `--key does not decrypt the manifest of '${label}': wrong key (or the manifest is damaged)`,
      );
    }
    plain = opened;
  }
  const manifest = parseManifest(new TextDecoder().decode(plain));
  if (sealing !== "plain" && manifest.encryption_method !== sealing) {
    throw new IntegrityError(
      `manifest of '${label}' is sealed with ${sealing} but says its chunks use ${manifest.encryption_method}`,
    );
  }
  return { manifest, sealing };
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
