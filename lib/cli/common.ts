/** Options shared by several commands, and turning their raw values into typed settings. */
import { Option } from "commander";
import type { Command } from "./command.ts";
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
import {
  normalizePrefix,
  prefixProblem,
  StreamLayout,
  streamNameProblem,
} from "../format/layout.ts";
import { keyLengthProblem, type KeyStore } from "../format/key_limits.ts";
import { parseSize } from "../format/size.ts";
import type { Keyring } from "../pipeline/manifest_io.ts";
import { openStore } from "../store/open_store.ts";
import { DEFAULT_RETRY } from "../store/retry.ts";
import type { Store } from "../store/store.ts";
import type { LockSettings } from "../store/object_lock.ts";
import { Log } from "../ui/log.ts";
import { reportingMissingBucket } from "./missing_bucket.ts";
import { activeRun } from "../metrics/run.ts";
import { addSseKeyOption, sseOf } from "./sse_options.ts";

/** Raw option values as commander gives them (camelCase of the flags). */
export type RawOptions = Record<string, unknown>;

/** --bucket (and --name unless `withName` is false), --prefix and how to reach the store. */
export function addStoreOptions(cmd: Command, withName = true): Command {
  cmd.requiredOption(
    "--bucket <bucket>",
    "bucket name (a folder under the root for file:// stores)",
  );
  if (withName) {
    cmd.requiredOption("--name <name>", "stream name, e.g. db/nightly (may contain '/')");
  }
  addSseKeyOption(cmd);
  return cmd
    .option("--prefix <prefix>", "key prefix the stream lives under (e.g. backups/2026)")
    .option(
      "--endpoint-url <url>",
      "S3 endpoint (http[s]://host:port, path-style) or file:///dir for a local directory store; default AWS",
    )
    .option(
      "--region <region>",
      "region (default: AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1)",
    )
    .option(
      "--ca-bundle <file>",
      "PEM file of CAs to trust for https endpoints and proxies, besides Deno's roots (default: AWS_CA_BUNDLE)",
    )
    .option("--retries <n>", "retries per request after the first attempt, 0 = none", "10")
    .option(
      "--request-timeout <seconds>",
      "give up on a request attempt (and retry it) after this long without any data moving",
      "60",
    );
}

/** -q, -v, --progress and (unless `summary` is false) --summary. */
export function addOutputOptions(cmd: Command, summary = true): Command {
  cmd.option(
    "-q, --quiet",
    "print nothing but errors (and the summary asked for with --summary json)",
  )
    .option("-v, --verbose", "print each chunk as it is processed")
    .addOption(
      new Option("--progress <mode>", "progress display (accepted for s3duct 0.4 compatibility)")
        .choices(["auto", "rich", "plain", "none"]).default("auto"),
    );
  if (summary) {
    cmd.addOption(
      new Option("--summary <format>", "summary on stderr when done").choices([
        "text",
        "json",
        "none",
      ])
        .default("text"),
    );
  }
  return cmd;
}

/** --key and --age-identity; for put also --age-recipient and --age-recipients-file. */
export function addKeyOptions(cmd: Command, forPut = false): Command {
  cmd.option(
    "--key <spec>",
    "AES-256 key: env:VAR (hex in a variable), file:PATH (32 raw bytes or 64 hex), or hex:HEX (visible in ps; avoid)",
  ).option(
    "--age-identity <file>",
    forPut
      ? "age identity file (age-keygen format); encrypts to its recipient (repeatable)"
      : "age identity file to decrypt with (repeatable; each is tried)",
    collect,
    [],
  );
  if (forPut) {
    cmd.option(
      "--age-recipient <age1...>",
      "encrypt to this age recipient, X25519 or post-quantum age1pq1 (repeatable; no private key needed)",
      collect,
      [],
    ).option(
      "--age-recipients-file <file>",
      "encrypt to every recipient listed in this file (repeatable)",
      collect,
      [],
    );
  }
  return cmd;
}

/** Commander's accumulator for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The log for -q / -v. */
export function makeLog(o: RawOptions): Log {
  return new Log(o.quiet ? "quiet" : o.verbose ? "verbose" : "normal");
}

/**
 * The stream --name and --prefix name, checked: UsageError for a name or prefix s3duct cannot
 * use, or one too long for the store.
 */
export function layoutOf(o: RawOptions): StreamLayout {
  const name = String(o.name);
  const problem = streamNameProblem(name);
  if (problem) throw new UsageError(`--name: ${problem}`);
  const prefix = o.prefix === undefined ? undefined : String(o.prefix);
  if (prefix !== undefined) checkPrefix(prefix);
  checkKeyLengths(o);
  return new StreamLayout(name, prefix);
}

/**
 * UsageError when --prefix and --name cannot fit the store's limits on keys (S3: 1024 bytes)
 * or paths (local: 255-byte segments), found before any request (lib/format/key_limits.ts).
 * layoutOf and storeOf both call it, so every command is covered.
 */
export function checkKeyLengths(o: RawOptions): void {
  const prefix = normalizePrefix(o.prefix === undefined ? undefined : String(o.prefix));
  const name = o.name === undefined ? "" : String(o.name);
  const store = keyStoreOf(o);
  const problem = store && keyLengthProblem(prefix, name, store);
  if (problem) throw new UsageError(problem);
}

/** Which kind of store --endpoint-url names; undefined when openStore will refuse the URL. */
function keyStoreOf(o: RawOptions): KeyStore | undefined {
  const url = o.endpointUrl === undefined ? undefined : String(o.endpointUrl);
  if (!url?.startsWith("file:")) return { kind: "s3" };
  try {
    return {
      kind: "local",
      root: decodeURIComponent(new URL(url).pathname),
      bucket: String(o.bucket),
    };
  } catch {
    return undefined;
  }
}

/** UsageError for a --prefix s3duct cannot use. */
export function checkPrefix(prefix: string): void {
  const problem = prefixProblem(prefix);
  if (problem) throw new UsageError(`--prefix ${problem}`);
}

/**
 * The store for these options; `onThrottle` hears of retries flagged as throttling; `lock` is
 * put's Object Lock for every object written (lib/cli/lock_options.ts). A missing
 * bucket is reported as such by every command (lib/cli/missing_bucket.ts).
 */
export async function storeOf(
  o: RawOptions,
  log: Log,
  onThrottle?: (error: StoreError) => void,
  lock?: LockSettings,
): Promise<Store> {
  checkKeyLengths(o);
  const retries = intOption(o.retries, "--retries", 0, 100);
  const rawTimeout = String(o.requestTimeout ?? "60").trim();
  const timeout = Number(rawTimeout);
  if (!/^\d+(\.\d+)?$/.test(rawTimeout) || timeout < 0.1 || timeout > 3600) {
    throw new UsageError(
      `--request-timeout must be a number of seconds from 0.1 to 3600, got '${o.requestTimeout}'`,
    );
  }
  const sse = await sseOf(o, (m) => log.warn(m));
  return reportingMissingBucket(
    await openStore({
      sse,
      timeoutMs: timeout * 1000,
      caBundle: o.caBundle === undefined ? undefined : String(o.caBundle),
      bucket: String(o.bucket),
      endpointUrl: o.endpointUrl as string | undefined,
      region: o.region as string | undefined,
      lock,
      retry: {
        ...DEFAULT_RETRY,
        retries,
        onRetry: (n, e, ms) => {
          log.debug(`retry ${n}/${retries} in ${(ms / 1000).toFixed(1)} s: ${e.message}`);
          activeRun()?.retried(e.throttle);
          if (e.throttle) onThrottle?.(e);
        },
        onFallback: (note) => log.debug(note),
      },
    }),
  );
}

/** Ciphers from --key / --age-*; `sealing` also gathers the recipients a put encrypts to. */
export async function keyringOf(o: RawOptions, log: Log, sealing = false): Promise<Keyring> {
  const identityFiles = (o.ageIdentity as string[] | undefined) ?? [];
  const recipientArgs = (o.ageRecipient as string[] | undefined) ?? [];
  const recipientFiles = (o.ageRecipientsFile as string[] | undefined) ?? [];
  const usesAge = identityFiles.length + recipientArgs.length + recipientFiles.length > 0;
  if (typeof o.key === "string" && usesAge) {
    throw new UsageError("--key (AES) and --age-* options cannot be combined; choose one");
  }
  const keys: Keyring = {};
  if (typeof o.key === "string") {
    keys.aes = await aesCipher(await loadAesKey(o.key, (m) => log.warn(m)));
  }
  if (usesAge) {
    const identities: string[] = [];
    for (const f of identityFiles) {
      const what = "age identity file";
      const text = await readKeyFileText(f, { what, secret: true, warn: (m) => log.warn(m) });
      identities.push(...parseIdentities(text, `${what} '${f}'`));
    }
    const recipients = sealing ? await recipientsOf(identities) : [];
    recipientArgs.forEach((r) => checkRecipient(r, "--age-recipient"));
    recipients.push(...recipientArgs);
    for (const f of recipientFiles) {
      const text = await readKeyFileText(f, { what: "recipients file" });
      recipients.push(...parseRecipients(text, `recipients file '${f}'`));
    }
    keys.age = ageCipher({ identities, recipients: [...new Set(recipients)] });
  }
  return keys;
}

/** A whole-number option within [min, max], else UsageError naming the flag. */
export function intOption(v: unknown, flag: string, min: number, max: number): number {
  const s = String(v);
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${s}'`);
  }
  return n;
}

/** A size option (`64M`, `1.5G`...) within [min, max] bytes, else UsageError naming the flag. */
export function sizeOption(v: unknown, flag: string, min: number, max: number): number {
  const n = parseSize(String(v));
  if (n === undefined) {
    throw new UsageError(`${flag} '${v}' is not a size; use bytes or a suffix: 64M, 64MiB, 1.5G`);
  }
  if (n < min || n > max) {
    throw new UsageError(`${flag} '${v}' is out of range (${min} bytes to ${max} bytes)`);
  }
  return n;
}
