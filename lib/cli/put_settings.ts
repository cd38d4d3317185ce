/**
 * `put`'s options parsed once into typed settings: pure (no I/O, no keys read), so every
 * rule is unit-tested and the command body never reads a raw option again.
 */
import { UsageError } from "../errors.ts";
import { MAX_CHUNK_SIZE } from "../format/manifest.ts";
import type { SummaryFormat } from "../ui/summary.ts";
import type { ProgressMode } from "../ui/progress.ts";
import { type RawOptions, sizeOption } from "./common.ts";

/** Description and tags together: well inside the 1 MiB manifestSizeLimit leaves for them. */
export const MAX_NOTES = 256 * 1024;

/** Everything `put` was asked to do, apart from where (store options) and with which keys. */
export interface PutSettings {
  chunkSize: number;
  tags: Record<string, string>;
  description: string;
  storageClass: string;
  clobber: boolean;
  /** --expected-size: progress total and a short-stream warning. */
  expectedSize?: number;
  /** false with --no-encrypt: keys are not even read. */
  encrypt: boolean;
  /** --encrypt-manifest / --no-encrypt-manifest; undefined = the default (encrypt if we do). */
  encryptManifest?: boolean;
  format: 1 | 2;
  /** --from-command: the producer to run instead of reading stdin. */
  fromCommand?: string;
  strictResume: boolean;
  summary: SummaryFormat;
  progress: ProgressMode;
  quiet: boolean;
}

/**
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
    format: Number(o.format ?? 1) === 2 ? 2 : 1,
    fromCommand: o.fromCommand === undefined ? undefined : String(o.fromCommand),
    strictResume: o.strictResume !== false,
    summary: (o.summary ?? "text") as SummaryFormat,
    progress: (o.progress ?? "auto") as ProgressMode,
    quiet: o.quiet === true,
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
