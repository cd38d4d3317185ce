/**
 * The options of get, verify (and --deep), restore, list, delete, cleanup and keygen, each
 * parsed once into typed settings. Pure (no key, file or store touched), so every rule is
 * unit-tested; the command bodies read only these fields. put's are in put_settings.ts.
 * @module
 */
import { UsageError } from "../errors.ts";
import type { RangeRequest } from "../format/range.ts";
import type { RestoreTier } from "../store/store.ts";
import { intOption, type RawOptions } from "./common.ts";
import { rangeOf, refuseRange } from "./range_options.ts";
import {
  type AuthSettings,
  authSettings,
  type KeySettings,
  keySettings,
  type OutputSettings,
  outputSettings,
  type StreamLocation,
  streamLocation,
  type TreeLocation,
  treeLocation,
} from "./settings.ts";
import { type TransferSettings, transferSettings } from "./transfer_settings.ts";

/** What every stream command has: the stream, the output and the keys. */
export interface StreamCommandSettings extends StreamLocation {
  /** What to print. */
  output: OutputSettings;
  /** Which keys to read. */
  keys: KeySettings;
}

/** `get`: the stream, keys, manifest requirements, range and download options. */
export interface GetSettings extends StreamCommandSettings {
  /** --verify-key, --expect-sha256. */
  auth: AuthSettings;
  /** --offset / --length; undefined = the whole stream. */
  range?: RangeRequest;
  /** Download workers, memory and bandwidth. */
  transfer: TransferSettings;
}

/** `verify` and `verify --deep`. */
export interface VerifySettings extends StreamCommandSettings {
  /** --verify-key, --expect-sha256. */
  auth: AuthSettings;
  /** --deep: download and check the data itself. */
  deep: boolean;
  /** --offset / --length (--deep only). */
  range?: RangeRequest;
}

/** `restore`. */
export interface RestoreSettings extends StreamCommandSettings {
  /** --days the restored copies stay readable. */
  days: number;
  /** --tier. */
  tier: RestoreTier;
  /** --wait: block until every chunk is readable. */
  wait: boolean;
  /** --poll-interval in milliseconds. */
  pollMs: number;
  /** --timeout in milliseconds. */
  timeoutMs: number;
  /** --offset / --length: thaw only the chunks the range covers. */
  range?: RangeRequest;
}

/** delete's and cleanup's --dry-run, --force and --bypass-governance. */
export interface RemovalFlags {
  /** --dry-run: print the keys, delete nothing. */
  dryRun: boolean;
  /** --force: do not ask (delete: also delete by listing when the manifest cannot be read). */
  force: boolean;
  /** --bypass-governance. */
  bypassGovernance: boolean;
}

/** `delete`. */
export interface DeleteSettings extends StreamCommandSettings, RemovalFlags {}

/** `list`. */
export interface ListSettings extends TreeLocation {
  /** What to print. */
  output: OutputSettings;
  /** Keys that may open encrypted manifests. */
  keys: KeySettings;
  /** --json: one JSON object per line. */
  json: boolean;
}

/** `cleanup`. */
export interface CleanupSettings extends ListSettings, RemovalFlags {}

/** `keygen`. */
export interface KeygenSettings {
  /** What to make: an age identity (X25519 or post-quantum), an AES key or a signing key. */
  kind: "age" | "pq" | "aes" | "sign";
  /** -o: the new file for the secret; undefined = stdout. */
  output?: string;
}

function streamCommand(o: RawOptions): StreamCommandSettings {
  return { ...streamLocation(o), output: outputSettings(o), keys: keySettings(o) };
}

/**
 * `get`'s options, checked.
 * @throws {UsageError} naming the option and what it accepts
 */
export function getSettings(o: RawOptions): GetSettings {
  const base = streamCommand(o);
  const range = rangeOf(o);
  return { ...base, range, auth: authSettings(o), transfer: transferSettings(o, "download") };
}

/**
 * `verify`'s options, checked; a range is refused without --deep.
 * @throws {UsageError} naming the option and what it accepts
 */
export function verifySettings(o: RawOptions): VerifySettings {
  const deep = o.deep === true;
  // Listings check every chunk for the price of a few requests: a range saves nothing there.
  if (!deep) {
    refuseRange(o, "apply to verify --deep only (plain verify checks every chunk from listings)");
  }
  const base = streamCommand(o);
  return { ...base, deep, range: deep ? rangeOf(o) : undefined, auth: authSettings(o) };
}

/**
 * `restore`'s options, checked.
 * @throws {UsageError} naming the option and what it accepts
 */
export function restoreSettings(o: RawOptions): RestoreSettings {
  const base = streamCommand(o);
  return {
    ...base,
    days: intOption(o.days, "--days", 1, 36500),
    tier: o.tier as RestoreTier,
    pollMs: intOption(o.pollInterval, "--poll-interval", 1, 86400) * 1000,
    timeoutMs: parseDuration(String(o.timeout), "--timeout"),
    range: rangeOf(o),
    wait: o.wait === true,
  };
}

/**
 * `delete`'s options, checked.
 * @throws {UsageError} naming the option and what it accepts
 */
export function deleteSettings(o: RawOptions): DeleteSettings {
  return { ...streamCommand(o), ...removalFlags(o) };
}

function removalFlags(o: RawOptions): RemovalFlags {
  return {
    dryRun: o.dryRun === true,
    force: o.force === true,
    bypassGovernance: o.bypassGovernance === true,
  };
}

/**
 * `list`'s options, checked.
 * @throws {UsageError} naming the option and what it accepts
 */
export function listSettings(o: RawOptions): ListSettings {
  return {
    ...treeLocation(o),
    output: outputSettings(o),
    keys: keySettings(o),
    json: o.json === true,
  };
}

/**
 * `cleanup`'s options, checked.
 * @throws {UsageError} naming the option and what it accepts
 */
export function cleanupSettings(o: RawOptions): CleanupSettings {
  return { ...listSettings(o), ...removalFlags(o) };
}

/**
 * `keygen`'s options, checked.
 * @throws {UsageError} for more than one of --pq, --aes, --sign
 */
export function keygenSettings(o: RawOptions): KeygenSettings {
  if ([o.pq, o.aes, o.sign].filter(Boolean).length > 1) {
    throw new UsageError("--pq, --aes and --sign cannot be combined; choose one");
  }
  const kind = o.sign ? "sign" : o.aes ? "aes" : o.pq ? "pq" : "age";
  return { kind, output: o.output ? String(o.output) : undefined };
}

/**
 * A duration: `90s`, `30m`, `2h`, `1d`, `1.5h`; a bare number is seconds.
 * @returns milliseconds
 * @throws {UsageError} naming `flag` for anything else
 */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/i.exec(v.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m?.[2] ?? "s").toLowerCase() as "s"];
  const ms = m ? Number(m[1]) * unit * 1000 : NaN;
  if (!(ms > 0)) throw new UsageError(`${flag} '${v}' is not a duration; use e.g. 90s, 30m, 2h`);
  return ms;
}
