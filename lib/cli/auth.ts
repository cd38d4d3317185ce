/**
 * Options for signed manifests and pinning (README "Signed manifests and pinning"):
 * `put --sign-key FILE`; `get`/`verify [--deep] --verify-key KEY|FILE --expect-sha256 HEX`.
 */
import type { Command } from "./command.ts";
import { isHex64 } from "../format/hex.ts";
import { UsageError } from "../errors.ts";
import { readKeyFileText } from "../crypto/keyspec.ts";
import {
  parsePublicKey,
  parseSigningKey,
  parseVerifyKeyFile,
  PUBLIC_KEY_PREFIX,
  type VerifyKey,
} from "../crypto/signing.ts";
import type { StreamLayout } from "../format/layout.ts";
import { SignatureGuard, signingStore } from "../pipeline/manifest_auth.ts";
import type { Keyring } from "../pipeline/manifest_io.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import type { RawOptions } from "./common.ts";

/** put's --sign-key. */
export function addSignOption(cmd: Command): Command {
  return cmd.option(
    "--sign-key <file>",
    "sign the manifest with this Ed25519 key (from 'keygen --sign'); readers check it with --verify-key",
  );
}

/** --verify-key and --expect-sha256, for the commands that read a stream. */
export function addVerifyOptions(cmd: Command): Command {
  return cmd.option(
    "--verify-key <key|file>",
    `require a valid manifest signature by this public key (${PUBLIC_KEY_PREFIX}..., or a file holding it)`,
  ).option(
    "--expect-sha256 <hex>",
    "require this stream SHA-256 (as put reported it): catches an older or another stream",
  );
}

/**
 * Attach the signature/pinning guard to `keys` (every reader opens the manifest through it).
 * Option values are checked here, before any request.
 */
export async function guardKeys(
  keys: Keyring,
  o: RawOptions,
  store: Store,
  log: Log,
): Promise<Keyring> {
  const verifyKey = o.verifyKey === undefined
    ? undefined
    : await loadVerifyKey(String(o.verifyKey));
  keys.guard = new SignatureGuard({
    store,
    bucket: String(o.bucket),
    verifyKey,
    expectSha256: o.expectSha256 === undefined ? undefined : expectedHash(String(o.expectSha256)),
    log,
  });
  return keys;
}

/** The store a put writes through: signing the manifest with --sign-key, if given. */
export async function signingStoreOf<S extends Store>(
  store: S,
  o: RawOptions,
  layout: StreamLayout,
  log: Log,
): Promise<S> {
  const path = o.signKey === undefined ? undefined : String(o.signKey);
  const key = path === undefined ? undefined : await parseSigningKey(
    await readKeyFileText(path, {
      what: "signing key file",
      secret: true,
      warn: (m) => log.warn(m),
    }),
    `--sign-key file '${path}'`,
  );
  if (key) log.info(`signing the manifest with ${key.publicText}`);
  return signingStore(store, layout, String(o.bucket), key, log);
}

function expectedHash(v: string): string {
  const hex = v.trim().toLowerCase();
  if (!isHex64(hex)) {
    throw new UsageError(`--expect-sha256 must be 64 hex digits (a SHA-256), got '${v}'`);
  }
  return hex;
}

/** `s3duct-ed25519:...` itself, or a file holding it. */
async function loadVerifyKey(v: string): Promise<VerifyKey> {
  if (v.startsWith(PUBLIC_KEY_PREFIX)) return await parsePublicKey(v, "--verify-key");
  const text = await readKeyFileText(v, { what: "--verify-key file" });
  return await parseVerifyKeyFile(text, `--verify-key file '${v}'`);
}
