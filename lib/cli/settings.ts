/**
 * The options every store command shares, parsed once into typed settings: where the stream
 * lives and how to reach the store ({@linkcode StoreSettings}), what to print
 * ({@linkcode OutputSettings}), which keys to use ({@linkcode KeySettings}: the specs, never the
 * keys) and how a reader authenticates the manifest ({@linkcode AuthSettings}). Pure: no file,
 * key or network is touched (lib/cli/context.ts does that), so every rule is unit-tested.
 * @module
 */
import { UsageError } from "../errors.ts";
import { isHex64 } from "../format/hex.ts";
import { keyLengthProblem, type KeyStore } from "../format/key_limits.ts";
import { normalizePrefix, StreamLayout, streamNameProblem } from "../format/layout.ts";
import type { Verbosity } from "../ui/log.ts";
import type { ProgressMode } from "../ui/progress.ts";
import type { SummaryFormat } from "../ui/summary.ts";
import { checkPrefix, intOption, type RawOptions } from "./common.ts";
import { type SseRequest, sseRequestOf } from "./sse_options.ts";

/** Where the objects are and how to reach the store: --bucket, --prefix, --endpoint-url... */
export interface StoreSettings {
  /** --bucket (a folder under the root for file:// stores). */
  bucket: string;
  /** --name, when the command takes one and it was given. */
  name?: string;
  /** --prefix exactly as given (not normalized). */
  prefix?: string;
  /** --endpoint-url; undefined = AWS. */
  endpointUrl?: string;
  /** --region. */
  region?: string;
  /** --ca-bundle: a PEM file of extra CAs. */
  caBundle?: string;
  /** --retries per request after the first attempt. */
  retries: number;
  /** --request-timeout in milliseconds. */
  timeoutMs: number;
  /** Server-side encryption asked for (--sse*, --sse-c-key), the key not read yet. */
  sse: SseRequest;
}

/** -q / -v, --summary and --progress. */
export interface OutputSettings {
  /** What the log prints: -q quiet, -v verbose. */
  verbosity: Verbosity;
  /** -q given. */
  quiet: boolean;
  /** --summary (default text; commands without the option keep the default). */
  summary: SummaryFormat;
  /** --progress (default auto). */
  progress: ProgressMode;
}

/** --key and --age-*: which keys to load (context.ts reads them). */
export interface KeySettings {
  /** --key: an AES key spec (hex:, file:, env:). */
  aes?: string;
  /** --age-identity files (repeatable). */
  ageIdentities: string[];
  /** --age-recipient values (put only). */
  ageRecipients: string[];
  /** --age-recipients-file files (put only). */
  ageRecipientFiles: string[];
}

/** --verify-key and --expect-sha256: what a reader requires of the manifest. */
export interface AuthSettings {
  /** --verify-key: a public key (`s3duct-ed25519:...`) or a file holding one. */
  verifyKey?: string;
  /** --expect-sha256, checked and lowercased. */
  expectSha256?: string;
}

/** The store settings and the stream a command works on (--bucket, --name, --prefix...). */
export interface StreamLocation {
  /** Where the objects are and how to reach the store. */
  store: StoreSettings;
  /** The stream's object keys. */
  layout: StreamLayout;
}

/** The store settings and the prefix a command scans (list, cleanup). */
export interface TreeLocation {
  /** Where the objects are and how to reach the store. */
  store: StoreSettings;
  /** --prefix normalized ("" or ending in '/'). */
  root: string;
  /** cleanup's --name, if given. */
  name?: string;
}

/**
 * --name and --prefix of a stream command, checked, and the store options.
 * @throws {UsageError} for a name or prefix s3duct cannot use, one too long for the store, or
 *   a bad --retries / --request-timeout / --sse* value
 */
export function streamLocation(o: RawOptions): StreamLocation {
  const name = String(o.name);
  const problem = streamNameProblem(name);
  if (problem) throw new UsageError(`--name: ${problem}`);
  const prefix = o.prefix === undefined ? undefined : String(o.prefix);
  if (prefix !== undefined) checkPrefix(prefix);
  const store = storeSettings(o);
  return { store, layout: new StreamLayout(name, prefix) };
}

/**
 * --prefix (and cleanup's optional --name) of a command that scans a prefix, checked, and the
 * store options.
 * @throws {UsageError} as {@linkcode streamLocation}
 */
export function treeLocation(o: RawOptions): TreeLocation {
  const root = normalizePrefix(o.prefix as string | undefined);
  if (root) checkPrefix(root);
  const name = o.name === undefined ? undefined : String(o.name);
  const problem = name === undefined ? undefined : streamNameProblem(name);
  if (problem) throw new UsageError(`--name: ${problem}`);
  return { store: storeSettings(o), root, name };
}

/**
 * How to reach the store: --bucket, --endpoint-url, --region, --ca-bundle, --retries,
 * --request-timeout and the SSE options.
 * @throws {UsageError} for a prefix and name too long for the store, or a bad value
 */
export function storeSettings(o: RawOptions): StoreSettings {
  checkKeyLengths(o);
  const retries = intOption(o.retries, "--retries", 0, 100);
  const rawTimeout = String(o.requestTimeout ?? "60").trim();
  const timeout = Number(rawTimeout);
  if (!/^\d+(\.\d+)?$/.test(rawTimeout) || timeout < 0.1 || timeout > 3600) {
    throw new UsageError(
      `--request-timeout must be a number of seconds from 0.1 to 3600, got '${o.requestTimeout}'`,
    );
  }
  return {
    bucket: String(o.bucket),
    name: o.name === undefined ? undefined : String(o.name),
    prefix: o.prefix === undefined ? undefined : String(o.prefix),
    endpointUrl: o.endpointUrl as string | undefined,
    region: o.region as string | undefined,
    caBundle: o.caBundle === undefined ? undefined : String(o.caBundle),
    retries,
    timeoutMs: timeout * 1000,
    sse: sseRequestOf(o),
  };
}

/**
 * UsageError when --prefix and --name cannot fit the store's limits on keys (S3: 1024 bytes)
 * or paths (local: 255-byte segments), found before any request (lib/format/key_limits.ts).
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

/** -q, -v, --summary, --progress (each with today's default when the command lacks it). */
export function outputSettings(o: RawOptions): OutputSettings {
  return {
    verbosity: o.quiet ? "quiet" : o.verbose ? "verbose" : "normal",
    quiet: o.quiet === true,
    summary: (o.summary ?? "text") as SummaryFormat,
    progress: (o.progress ?? "auto") as ProgressMode,
  };
}

/** --key, --age-identity, --age-recipient, --age-recipients-file (no file is read). */
export function keySettings(o: RawOptions): KeySettings {
  return {
    aes: typeof o.key === "string" ? o.key : undefined,
    ageIdentities: (o.ageIdentity as string[] | undefined) ?? [],
    ageRecipients: (o.ageRecipient as string[] | undefined) ?? [],
    ageRecipientFiles: (o.ageRecipientsFile as string[] | undefined) ?? [],
  };
}

/** Whether a key that can open a stream was given (--key or an --age-identity). */
export function hasReadKey(k: KeySettings): boolean {
  return k.aes !== undefined || k.ageIdentities.length > 0;
}

/**
 * --verify-key and --expect-sha256.
 * @throws {UsageError} for an --expect-sha256 that is not 64 hex digits
 */
export function authSettings(o: RawOptions): AuthSettings {
  return {
    verifyKey: o.verifyKey === undefined ? undefined : String(o.verifyKey),
    expectSha256: o.expectSha256 === undefined ? undefined : expectedHash(String(o.expectSha256)),
  };
}

function expectedHash(v: string): string {
  const hex = v.trim().toLowerCase();
  if (!isHex64(hex)) {
    throw new UsageError(`--expect-sha256 must be 64 hex digits (a SHA-256), got '${v}'`);
  }
  return hex;
}
