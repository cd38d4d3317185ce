/**
 * Options for signed manifests and pinning (README "Signed manifests and pinning"):
 * `put --sign-key FILE`; `get`/`verify [--deep] --verify-key KEY|FILE --expect-sha256 HEX`.
 */
import type { Command } from "./command.ts";
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
import type { AuthSettings } from "./settings.ts";

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
 * @throws {KeyError} for a --verify-key that is not a public key (or a file holding one)
 */
export async function guardKeys(
  keys: Keyring,
  auth: AuthSettings,
  bucket: string,
  store: Store,
  log: Log,
): Promise<Keyring> {
  const verifyKey = auth.verifyKey === undefined ? undefined : await loadVerifyKey(auth.verifyKey);
  keys.guard = new SignatureGuard({
    store,
    bucket,
    verifyKey,
    expectSha256: auth.expectSha256,
    log,
  });
  return keys;
}

/**
 * The store a put writes through: signing the manifest with the --sign-key file, if given.
 * @throws {KeyError} for a signing key file that cannot be used
 */
export async function signingStoreOf<S extends Store>(
  store: S,
  signKey: string | undefined,
  bucket: string,
  layout: StreamLayout,
  log: Log,
): Promise<S> {
  const key = signKey === undefined ? undefined : await parseSigningKey(
    await readKeyFileText(signKey, {
      what: "signing key file",
      secret: true,
      warn: (m) => log.warn(m),
    }),
    `--sign-key file '${signKey}'`,
  );
  if (key) log.info(`signing the manifest with ${key.publicText}`);
  return signingStore(store, layout, bucket, key, log);
}

/** `s3duct-ed25519:...` itself, or a file holding it. */
async function loadVerifyKey(v: string): Promise<VerifyKey> {
  if (v.startsWith(PUBLIC_KEY_PREFIX)) return await parsePublicKey(v, "--verify-key");
  const text = await readKeyFileText(v, { what: "--verify-key file" });
  return await parseVerifyKeyFile(text, `--verify-key file '${v}'`);
}
