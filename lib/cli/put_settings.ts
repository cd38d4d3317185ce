/**
 * `put`'s options parsed once into typed settings: pure (no I/O, no keys read), so every
 * rule is unit-tested and the command body never reads a raw option again.
 */
import { UsageError } from "../errors.ts";
import { MAX_CHUNK_SIZE } from "../format/manifest.ts";
import type { SummaryFormat } from "../ui/summary.ts";
import type { ProgressMode } from "../ui/progress.ts";
import { type RawOptions, sizeOption } from "./common.ts";
import { type Compression, parseCompression } from "../crypto/zstd.ts";
import type { LockSettings } from "../store/object_lock.ts";
import { lockSettingsOf } from "./lock_options.ts";
import { reservedPathProblem } from "../format/layout.ts";
import type { StreamCommandSettings } from "./command_settings.ts";
import { keySettings, outputSettings, streamLocation } from "./settings.ts";
import {
  type SpillSettings,
  spillSettings,
  type TransferSettings,
  transferSettings,
} from "./transfer_settings.ts";

/** Description and tags together: well inside the 1 MiB manifestSizeLimit leaves for them. */
export const MAX_NOTES = 256 * 1024;

/** Everything `put` was asked to do, apart from where (store options) and with which keys. */
export interface PutSettings {
  /** --chunk-size in bytes (default 512M), 1 to {@linkcode MAX_CHUNK_SIZE}. */
  chunkSize: number;
  /** --tag key=value pairs (repeatable). */
  tags: Record<string, string>;
  /** --description ("" for none). */
  description: string;
  /** --storage-class of the chunk objects (default STANDARD). */
  storageClass: string;
  /** --clobber: replace a stream of this name instead of refusing. */
  clobber: boolean;
  /** --expected-size: progress total and a short-stream warning. */
  expectedSize?: number;
  /** false with --no-encrypt: keys are not even read. */
  encrypt: boolean;
  /** --encrypt-manifest / --no-encrypt-manifest; undefined = the default (encrypt if we do). */
  encryptManifest?: boolean;
  /** --format: 1 (default, s3duct 0.4 compatible) or 2. */
  format: 1 | 2;
  /** --compress zstd[:LEVEL]: format 2 with an AES key only. */
  compress?: Compression;
  /** --from-command: the producer to run instead of reading stdin. */
  fromCommand?: string;
  /** False with --no-strict-resume: a shorter stdin may end a resumed put early. */
  strictResume: boolean;
  /** --summary (default text). */
  summary: SummaryFormat;
  /** --progress (default auto). */
  progress: ProgressMode;
  /** -q: nothing but errors (and a `--summary json`) on stderr; no progress either. */
  quiet: boolean;
  /** Object Lock for every object (--object-lock-mode, --retain-*, --legal-hold); none if absent. */
  lock?: LockSettings;
}

/**
 * `put`'s options checked and typed, without reading keys or touching the store.
 * @param o commander's raw option values for `put`
 * @returns the typed settings
 * @throws {UsageError} naming the option and what it accepts
 */
export function putSettings(o: RawOptions): PutSettings {
  const tags = parseTags((o.tag as string[] | undefined) ?? []);
  const description = String(o.description ?? "");
  const notes = description.length + JSON.stringify(tags).length;
  if (notes > MAX_NOTES) {
    throw new UsageError(
      `--description and --tag add up to ${notes} characters; at most ${MAX_NOTES} fit the ` +
        "manifest size get accepts",
    );
  }
  const format = Number(o.format ?? 1) === 2 ? 2 : 1;
  const compress = o.compress === undefined ? undefined : parseCompression(String(o.compress));
  if (compress && (format !== 2 || o.encrypt === false)) {
    throw new UsageError(
      "--compress needs --format 2 and an AES --key: format 2 records each chunk's stored " +
        "size (s3duct 0.4 cannot read compressed streams), and only AES streams use format 2",
    );
  }
  return {
    chunkSize: sizeOption(o.chunkSize ?? "512M", "--chunk-size", 1, MAX_CHUNK_SIZE),
    tags,
    description,
    storageClass: String(o.storageClass ?? "STANDARD"),
    clobber: o.clobber === true,
    expectedSize: o.expectedSize === undefined
      ? undefined
      : sizeOption(o.expectedSize, "--expected-size", 0, Number.MAX_SAFE_INTEGER),
    encrypt: o.encrypt !== false,
    encryptManifest: typeof o.encryptManifest === "boolean" ? o.encryptManifest : undefined,
    format,
    compress,
    fromCommand: o.fromCommand === undefined ? undefined : String(o.fromCommand),
    strictResume: o.strictResume !== false,
    summary: (o.summary ?? "text") as SummaryFormat,
    progress: (o.progress ?? "auto") as ProgressMode,
    quiet: o.quiet === true,
    lock: lockSettingsOf(o, new Date()),
  };
}

/**
 * `--tag key=value` values into a record.
 * @throws {UsageError} for a tag without `=` or with an empty key
 */
export function parseTags(raw: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of raw) {
    const eq = t.indexOf("=");
    if (eq <= 0) throw new UsageError(`--tag '${t}' must be key=value with a non-empty key`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return tags;
}

/** All of `put`'s options: the stream, keys, output, what to store, transfer and spill. */
export interface PutCommandSettings extends StreamCommandSettings {
  /** What to store and how (chunking, format, tags, lock...). */
  put: PutSettings;
  /** Upload workers, memory and bandwidth. */
  transfer: TransferSettings;
  /** The scratch spill, if any of its options was given. */
  spill?: SpillSettings;
  /** --sign-key: the Ed25519 key file to sign the manifest with. */
  signKey?: string;
}

/**
 * Every `put` option checked and typed, before any key is read or the store opened (so with
 * several problems, the usage error comes first).
 * @throws {UsageError} naming the option and what it accepts
 */
export function putCommandSettings(o: RawOptions): PutCommandSettings {
  const where = streamLocation(o);
  const reserved = reservedPathProblem(where.layout.path);
  if (reserved) throw new UsageError(`--prefix/--name '${where.layout.path}': ${reserved}`);
  const put = putSettings(o);
  return {
    ...where,
    output: outputSettings(o),
    keys: keySettings(o),
    put,
    transfer: transferSettings(o, "upload"),
    spill: spillSettings(o),
    signKey: o.signKey === undefined ? undefined : String(o.signKey),
  };
}
