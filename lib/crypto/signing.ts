/**
 * Detached Ed25519 manifest signatures (issue 7 item 2), v1-compatible: the signature lives in
 * its own object, so s3duct 0.4 and unsigned readers never see it.
 *
 * What is signed (README "Threat model", "Signed manifests") is the stored manifest object,
 * byte for byte (after encryption when it is encrypted), bound to where it lives:
 *
 *   message = be32(len L) || L || be32(len B) || B || be32(len P) || P || be32(len N) || N || M
 *
 * L = SIGNATURE_LABEL, B = bucket, P = normalised prefix ("" or ending in "/"), N = stream name
 * (all UTF-8), M = the manifest object. Every field but the last is length-prefixed, so no two
 * different (B, P, N, M) give the same message; the label keeps these signatures from being
 * valid for anything else signed with the same key.
 *
 * Keys use WebCrypto's Ed25519. Errors never contain key material.
 */
import { KeyError } from "../errors.ts";
import { decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url } from "../format/base64.ts";

/** Domain label that starts every signed message, so these signatures verify nothing else. */
export const SIGNATURE_LABEL = "s3duct manifest signature v1";
/** Text form of a public key: the prefix, then base64url (no padding) of the raw 32 bytes. */
export const PUBLIC_KEY_PREFIX = "s3duct-ed25519:";
/** Value of `format` in a signature object. */
export const SIGNATURE_FORMAT = "s3duct-manifest-signature";

const ED25519 = { name: "Ed25519" } as const;
const PEM_BEGIN = "-----BEGIN PRIVATE KEY-----";
const PEM_END = "-----END PRIVATE KEY-----";
/** A signature object is ~180 bytes; anything much bigger is not one (and is not read). */
export const MAX_SIGNATURE_OBJECT = 4096;

/** Where a manifest lives: what a signature binds it to. */
export interface SignatureContext {
  /** The bucket the manifest is stored in. */
  bucket: string;
  /** Normalised as StreamLayout.prefix: "" or "a/b/". */
  prefix: string;
  /** The stream name under the prefix. */
  name: string;
}

/** A parsed `--sign-key`: the private half for signing, with its public text for messages. */
export interface SigningKey {
  /** The Ed25519 private key (WebCrypto); never printed. */
  privateKey: CryptoKey;
  /** The matching public key in text form (safe to print). */
  publicText: string;
}

/** A parsed `--verify-key`: the public key manifests must be signed by. */
export interface VerifyKey {
  /** The Ed25519 public key (WebCrypto) that verifies signatures. */
  key: CryptoKey;
  /** The key in text form (`s3duct-ed25519:...`), to tell "another key" from "bad signature". */
  publicText: string;
}

/** The exact bytes an Ed25519 signature covers (layout in the module comment). */
export function signedMessage(
  ctx: SignatureContext,
  manifest: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const fields = [SIGNATURE_LABEL, ctx.bucket, ctx.prefix, ctx.name].map((s) => enc.encode(s));
  const size = fields.reduce((n, f) => n + 4 + f.length, 0) + manifest.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of fields) {
    view.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  out.set(manifest, at);
  return out;
}

/** A new key: the key file's text (secret) and the public key's text form. */
export async function generateSigningKey(
  now = new Date(),
): Promise<{ fileText: string; publicText: string }> {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const publicText = PUBLIC_KEY_PREFIX + encodeBase64Url(raw);
  const fileText =
    "# s3duct manifest signing key (Ed25519, PKCS#8). Secret: it signs manifests.\n" +
    `# created: ${now.toISOString().replace(/\.\d+Z$/, "Z")}\n` +
    `# public key: ${publicText}\n` +
    `${PEM_BEGIN}\n${encodeBase64(pkcs8)}\n${PEM_END}\n`;
  return { fileText, publicText };
}

/** Parse a signing key file (what `keygen --sign` writes). `where` names it in errors. */
export async function parseSigningKey(text: string, where: string): Promise<SigningKey> {
  const begin = text.indexOf(PEM_BEGIN);
  const end = text.indexOf(PEM_END);
  if (begin < 0 || end < begin) {
    throw new KeyError(
      text.includes(PUBLIC_KEY_PREFIX)
        ? `${where} holds only a public key; signing needs the private key file from 'keygen --sign'`
        : `${where} is not an s3duct signing key (make one with 'keygen --sign -o FILE')`,
    );
  }
  const body = text.slice(begin + PEM_BEGIN.length, end).replace(/\s+/g, "");
  const der = decodeBase64(body);
  let privateKey: CryptoKey | undefined;
  try {
    // Extractable only so the public half can be read back from the JWK's `x`.
    if (der) privateKey = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
  } catch {
    // reported below, without the key bytes
  }
  if (!privateKey) throw new KeyError(`${where} does not hold a valid Ed25519 private key`);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  return { privateKey, publicText: PUBLIC_KEY_PREFIX + jwk.x };
}

/** Parse a public key in text form (`s3duct-ed25519:...`). */
export async function parsePublicKey(text: string, where: string): Promise<VerifyKey> {
  const t = text.trim();
  const m = /^s3duct-ed25519:([A-Za-z0-9_-]{43})$/.exec(t);
  const raw = m ? decodeBase64Url(m[1]) : undefined;
  let key: CryptoKey | undefined;
  try {
    if (raw?.length === 32) {
      key = await crypto.subtle.importKey("raw", raw, ED25519, true, ["verify"]);
    }
  } catch {
    // reported below
  }
  if (!key) {
    throw new KeyError(
      `${where} is not an s3duct public key (${PUBLIC_KEY_PREFIX} and 43 base64url characters)`,
    );
  }
  return { key, publicText: t };
}

/**
 * A verification key from a `--verify-key` value's file text: the first line that is not a
 * comment. A private key file is refused: the machines that read streams should not hold it.
 */
export async function parseVerifyKeyFile(text: string, where: string): Promise<VerifyKey> {
  if (text.includes(PEM_BEGIN)) {
    throw new KeyError(
      `${where} is a private signing key; --verify-key takes its public key (${PUBLIC_KEY_PREFIX}...)`,
    );
  }
  const line = text.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
  return await parsePublicKey(line ?? "", where);
}

/** The signature object (`.manifest.sig`) for a stored manifest at `ctx`: one JSON line. */
export async function signManifest(
  key: SigningKey,
  ctx: SignatureContext,
  stored: Uint8Array,
): Promise<Uint8Array> {
  const sig = new Uint8Array(
    await crypto.subtle.sign(ED25519, key.privateKey, signedMessage(ctx, stored)),
  );
  const obj = {
    format: SIGNATURE_FORMAT,
    version: 1,
    algorithm: "Ed25519",
    public_key: key.publicText,
    signature: encodeBase64Url(sig),
  };
  return new TextEncoder().encode(JSON.stringify(obj) + "\n");
}

/**
 * "valid": signed by `key` over exactly these bytes at this place. "other-key": the object
 * names another public key (a hint for the message only; the check itself is cryptographic).
 * "invalid": the signature does not match. "malformed": not a signature object.
 */
export type Verdict = "valid" | "other-key" | "invalid" | "malformed";

/**
 * Checks a signature object against `stored` (the manifest object's bytes) at `ctx`.
 * @returns "malformed" before any crypto when `sigObject` is not one; see {@linkcode Verdict}.
 */
export async function checkSignature(
  key: VerifyKey,
  ctx: SignatureContext,
  stored: Uint8Array,
  sigObject: Uint8Array,
): Promise<Verdict> {
  const parsed = parseSignatureObject(sigObject);
  if (!parsed) return "malformed";
  const ok = await crypto.subtle.verify(
    ED25519,
    key.key,
    parsed.signature,
    signedMessage(ctx, stored),
  );
  if (ok) return "valid";
  return parsed.publicText === key.publicText ? "invalid" : "other-key";
}

/** Strictly parse a signature object; undefined if it is not exactly one. */
export function parseSignatureObject(
  bytes: Uint8Array,
): { publicText: string; signature: Uint8Array<ArrayBuffer> } | undefined {
  if (bytes.length > MAX_SIGNATURE_OBJECT) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  if (r.format !== SIGNATURE_FORMAT || r.version !== 1 || r.algorithm !== "Ed25519") {
    return undefined;
  }
  if (typeof r.public_key !== "string" || typeof r.signature !== "string") return undefined;
  if (!/^[A-Za-z0-9_-]{86}$/.test(r.signature)) return undefined;
  const signature = decodeBase64Url(r.signature);
  if (signature?.length !== 64) return undefined;
  return { publicText: r.public_key, signature };
}
