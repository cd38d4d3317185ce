/**
 * What every store command works with, built in one place from its parsed settings: the log,
 * the stream layout, the keys (read here, the only I/O of settings) and the opened store.
 * Every option's value (SSE modes included) was checked before this runs, and every
 * combination but one (--key with --age-*, refused here when the keys are read). Its steps run
 * in a fixed order, so a command's errors come in the same order everywhere: keys, then the
 * command's own check of them, then the SSE-C key, then the store, then the manifest guard
 * (--verify-key, --expect-sha256).
 * @module
 */
import { type StoreError, UsageError } from "../errors.ts";
import {
  ageCipher,
  checkRecipient,
  parseIdentities,
  parseRecipients,
  recipientsOf,
} from "../crypto/age.ts";
import { aesCipher } from "../crypto/cipher.ts";
import { loadAesKey, readKeyFileText } from "../crypto/keyspec.ts";
import { activeRun } from "../metrics/run.ts";
import type { Keyring } from "../pipeline/manifest_io.ts";
import type { LockSettings } from "../store/object_lock.ts";
import { openStore } from "../store/open_store.ts";
import { DEFAULT_RETRY } from "../store/retry.ts";
import type { SseSettings } from "../store/sse.ts";
import type { Store } from "../store/store.ts";
import { Log } from "../ui/log.ts";
import { guardKeys } from "./auth.ts";
import { reportingMissingBucket } from "./missing_bucket.ts";
import type { AuthSettings, KeySettings, OutputSettings, StoreSettings } from "./settings.ts";
import { loadSse } from "./sse_options.ts";
import { limitedStore } from "./transfer.ts";

/** The parsed settings a context is built from. */
export interface ContextSettings<L> {
  /** How to reach the store. */
  store: StoreSettings;
  /** What to print. */
  output: OutputSettings;
  /** The stream's layout (undefined for list and cleanup, which scan a prefix). */
  layout: L;
  /** Keys to read; undefined = none (put --no-encrypt). */
  keys?: KeySettings;
  /** A reader's manifest requirements; given, the keyring gets the signature guard. */
  auth?: AuthSettings;
  /** --bandwidth-limit in bytes/s, applied to the store before anything uses it. */
  bandwidthLimit?: number;
}

/** How a command uses its store and keys, besides its settings. */
export interface ContextUse {
  /** put: gather the age recipients to encrypt to. */
  sealing?: boolean;
  /** Runs once the keys are read, before the store is opened (put's key checks). */
  checkKeys?: (keys: Keyring, log: Log) => void;
  /** Hears of retries flagged as throttling. */
  onThrottle?: (error: StoreError) => void;
  /** put's Object Lock for every object written (lib/cli/lock_options.ts). */
  lock?: LockSettings;
}

/** The log, layout, keys and store one command run shares. */
export interface CommandContext<L> {
  /** stderr, at the verbosity asked for. */
  log: Log;
  /** The stream's layout (as given in the settings). */
  layout: L;
  /** The keys read, with the manifest guard when the settings asked for one. */
  keys: Keyring;
  /** The opened store: missing buckets named, bandwidth limited if asked. */
  store: Store;
  /** The SSE settings the store was opened with (put's resume identity needs them). */
  sse?: SseSettings;
}

/**
 * Build the command's context: log, keys, store, guard, in that order.
 * @throws {UsageError} for keys that do not go together or a store URL that cannot be used
 * @throws {KeyError} for a key or key file that cannot be used
 */
export async function commandContext<L>(
  s: ContextSettings<L>,
  use: ContextUse = {},
): Promise<CommandContext<L>> {
  const log = new Log(s.output.verbosity);
  const keys = s.keys ? await keyringOf(s.keys, log, use.sealing) : {};
  use.checkKeys?.(keys, log);
  const sse = await loadSse(s.store.sse, (m) => log.warn(m));
  const opened = await storeOf(s.store, sse, log, use);
  const store = limitedStore(opened, s.bandwidthLimit);
  if (s.auth) await guardKeys(keys, s.auth, s.store.bucket, store, log);
  return { log, layout: s.layout, keys, store, sse };
}

/** The store for these settings; a missing bucket is reported as such (missing_bucket.ts). */
async function storeOf(
  s: StoreSettings,
  sse: SseSettings | undefined,
  log: Log,
  use: ContextUse,
): Promise<Store> {
  const retries = s.retries;
  return reportingMissingBucket(
    await openStore({
      sse,
      timeoutMs: s.timeoutMs,
      caBundle: s.caBundle,
      bucket: s.bucket,
      endpointUrl: s.endpointUrl,
      region: s.region,
      lock: use.lock,
      retry: {
        ...DEFAULT_RETRY,
        retries,
        onRetry: (n, e, ms) => {
          log.debug(`retry ${n}/${retries} in ${(ms / 1000).toFixed(1)} s: ${e.message}`);
          activeRun()?.retried(e.throttle);
          if (e.throttle) use.onThrottle?.(e);
        },
        onFallback: (note) => log.debug(note),
      },
    }),
  );
}

/**
 * Ciphers from --key / --age-*; `sealing` also gathers the recipients a put encrypts to.
 * @throws {UsageError} for --key together with --age-*
 * @throws {KeyError} for a key, identity or recipients file that cannot be used
 */
export async function keyringOf(k: KeySettings, log: Log, sealing = false): Promise<Keyring> {
  const usesAge = k.ageIdentities.length + k.ageRecipients.length +
      k.ageRecipientFiles.length > 0;
  if (k.aes !== undefined && usesAge) {
    throw new UsageError("--key (AES) and --age-* options cannot be combined; choose one");
  }
  const keys: Keyring = {};
  if (k.aes !== undefined) keys.aes = await aesCipher(await loadAesKey(k.aes, (m) => log.warn(m)));
  if (usesAge) keys.age = await ageKeys(k, log, sealing);
  return keys;
}

async function ageKeys(k: KeySettings, log: Log, sealing: boolean) {
  const identities: string[] = [];
  for (const f of k.ageIdentities) {
    const what = "age identity file";
    const text = await readKeyFileText(f, { what, secret: true, warn: (m) => log.warn(m) });
    identities.push(...parseIdentities(text, `${what} '${f}'`));
  }
  const recipients = sealing ? await recipientsOf(identities) : [];
  k.ageRecipients.forEach((r) => checkRecipient(r, "--age-recipient"));
  recipients.push(...k.ageRecipients);
  for (const f of k.ageRecipientFiles) {
    const text = await readKeyFileText(f, { what: "recipients file" });
    recipients.push(...parseRecipients(text, `recipients file '${f}'`));
  }
  return ageCipher({ identities, recipients: [...new Set(recipients)] });
}
