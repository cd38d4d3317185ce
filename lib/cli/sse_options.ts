/**
 * Server-side encryption options: `--sse-c-key` for every command that reads or writes objects,
 * and `put`'s `--sse`, `--sse-kms-key-id`, `--sse-kms-context`. They become the store's
 * {@linkcode SseSettings} (lib/store/sse.ts), fixed when the store is opened.
 */
import { Option } from "commander";
import type { Command } from "./command.ts";
import type { RawOptions } from "./common.ts";
import { KeyError, UsageError } from "../errors.ts";
import { AES_KEY_BYTES, type KeySources, readKeyFile, realKeySources } from "../crypto/keyspec.ts";
import { decodeBase64 } from "../format/base64.ts";
import type { SseMode, SseSettings } from "../store/sse.ts";

/** `--sse-c-key`: every command that reads objects needs it for an SSE-C stream. */
export function addSseKeyOption(cmd: Command): Command {
  return cmd.option(
    "--sse-c-key <spec>",
    "SSE-C: the server encrypts with this 32-byte customer key (env:VAR with 64 hex digits, " +
      "or file:PATH with 32 raw bytes or 64 hex); needed to read such a stream back",
  );
}

/** `put`'s `--sse`, `--sse-kms-key-id` and `--sse-kms-context`. */
export function addSseWriteOptions(cmd: Command): Command {
  cmd.addOption(
    new Option(
      "--sse <mode>",
      "ask the server to encrypt every object: AES256 (SSE-S3) or aws:kms (SSE-KMS); the " +
        "put fails if the server does not confirm it",
    ).choices(["AES256", "aws:kms"]),
  );
  return cmd.option("--sse-kms-key-id <id>", "SSE-KMS key id, ARN or alias (with --sse aws:kms)")
    .option(
      "--sse-kms-context <base64>",
      "SSE-KMS encryption context: base64 of a JSON object of strings (with --sse aws:kms)",
    );
}

/**
 * The SSE mode these options ask for, checked without reading any key.
 * @throws {UsageError} for options that do not go together or a malformed value
 */
export function sseModeOf(o: RawOptions): SseMode | undefined {
  const sse = o.sse === undefined ? undefined : String(o.sse);
  const kms = sse === "aws:kms";
  if (!kms && (o.sseKmsKeyId !== undefined || o.sseKmsContext !== undefined)) {
    throw new UsageError("--sse-kms-key-id and --sse-kms-context need --sse aws:kms");
  }
  if (sse !== undefined && o.sseCKey !== undefined) {
    throw new UsageError(
      "--sse and --sse-c-key are different kinds of server-side encryption; choose one",
    );
  }
  if (sse !== undefined && sse !== "AES256" && !kms) {
    throw new UsageError(`--sse must be AES256 or aws:kms, got '${sse}'`);
  }
  if (kms) {
    kmsKeyIdProblem(o.sseKmsKeyId);
    if (o.sseKmsContext !== undefined) checkKmsContext(String(o.sseKmsContext));
  }
  return o.sseCKey !== undefined
    ? "sse-c"
    : sse === "AES256"
    ? "sse-s3"
    : kms
    ? "sse-kms"
    : undefined;
}

function kmsKeyIdProblem(v: unknown): void {
  if (v === undefined) return;
  const id = String(v);
  // Sent as a header: a control character or space would break or re-shape the request.
  if (id === "" || id.length > 2048 || !/^[\x21-\x7e]+$/.test(id)) {
    throw new UsageError(
      "--sse-kms-key-id must be a KMS key id, ARN or alias (printable, no spaces, at most " +
        "2048 characters)",
    );
  }
}

/**
 * `--sse-kms-context` as AWS takes it: base64 of a JSON object whose values are strings.
 * @throws {UsageError} naming what is wrong with it
 */
export function checkKmsContext(text: string): void {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? decodeBase64(text) : undefined;
  let json: unknown;
  try {
    json = bytes && JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    json = undefined;
  }
  const ok = typeof json === "object" && json !== null && !Array.isArray(json) &&
    Object.values(json).every((v) => typeof v === "string");
  if (!ok) {
    throw new UsageError(
      "--sse-kms-context must be base64 of a JSON object of strings, e.g. " +
        '$(printf \'{"app":"db"}\' | base64 -w0)',
    );
  }
}

/** The SSE options parsed, the SSE-C key not read yet ({@linkcode loadSse} reads it). */
export interface SseRequest {
  /** The mode asked for; undefined = none. */
  mode?: SseMode;
  /** --sse-kms-key-id. */
  kmsKeyId?: string;
  /** --sse-kms-context (checked base64 JSON). */
  kmsContext?: string;
  /** --sse-c-key: the SSE-C key spec (env: or file:). */
  customerKey?: string;
  /** --key's spec, so the SSE-C key can be refused when it is the client-side key. */
  clientKey?: string;
}

/**
 * The SSE options checked and typed, without reading any key.
 * @throws {UsageError} for options that do not go together or a malformed value
 */
export function sseRequestOf(o: RawOptions): SseRequest {
  return {
    mode: sseModeOf(o),
    kmsKeyId: o.sseKmsKeyId === undefined ? undefined : String(o.sseKmsKeyId),
    kmsContext: o.sseKmsContext === undefined ? undefined : String(o.sseKmsContext),
    customerKey: o.sseCKey === undefined ? undefined : String(o.sseCKey),
    clientKey: typeof o.key === "string" ? o.key : undefined,
  };
}

/**
 * The store's SSE settings for a parsed request, the SSE-C key read (never printed).
 * @param warn hears key-file hygiene warnings (a key file readable by others)
 * @throws {UsageError} for an SSE-C key that is the client-side --key
 * @throws {KeyError} for an SSE-C key that cannot be read or is not 32 bytes
 */
export async function loadSse(
  r: SseRequest,
  warn: (message: string) => void,
  sources: KeySources = realKeySources,
): Promise<SseSettings | undefined> {
  const mode = r.mode;
  if (mode === undefined) return undefined;
  if (mode === "sse-s3") return { mode };
  if (mode === "sse-kms") {
    return {
      mode,
      ...(r.kmsKeyId !== undefined ? { kmsKeyId: r.kmsKeyId } : {}),
      ...(r.kmsContext !== undefined ? { kmsContext: r.kmsContext } : {}),
    };
  }
  const spec = String(r.customerKey);
  // The server sees an SSE-C key: the client-side --key must never be sent as one.
  if (r.clientKey === spec) {
    throw new UsageError(
      "--sse-c-key must not be the --key: the server receives the SSE-C key with every " +
        "request, which would give it the key to the client-side encryption too",
    );
  }
  return { mode, customerKey: await loadCustomerKey(spec, warn, sources) };
}

/**
 * An SSE-C key from `env:VAR` (64 hex digits) or `file:PATH` (32 raw bytes or 64 hex), read
 * with the same bounded, permission-checking reader as `--key`.
 * @throws {KeyError} naming the variable or file, never the key
 */
export async function loadCustomerKey(
  spec: string,
  warn: (message: string) => void = () => {},
  sources: KeySources = realKeySources,
): Promise<Uint8Array> {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? "" : spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  if (kind === "env") {
    const value = sources.env(rest);
    if (value === undefined || value === "") {
      throw new KeyError(`environment variable '${rest}' named by --sse-c-key is not set`);
    }
    return hexKey(value, `environment variable '${rest}' (--sse-c-key)`);
  }
  if (kind === "file") {
    const what = "SSE-C key file";
    const bytes = await readKeyFile(rest, { what, secret: true, warn }, sources);
    // 32 hex digits are half a hex key (16 bytes), not 32 raw bytes: as for --key.
    const text = new TextDecoder().decode(bytes);
    if (bytes.length === AES_KEY_BYTES && !/^[0-9a-fA-F]+$/.test(text)) return bytes;
    return hexKey(text, `${what} '${rest}'`);
  }
  throw new KeyError(
    "--sse-c-key must be env:VARIABLE (64 hex digits) or file:PATH (32 raw bytes or 64 hex " +
      "digits)",
  );
}

function hexKey(text: string, where: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(compact)) {
    throw new KeyError(
      `${where} must hold an SSE-C key of 32 bytes: 64 hex digits (or 32 raw bytes in a file)`,
    );
  }
  return Uint8Array.from(compact.match(/../g)!, (h) => parseInt(h, 16));
}
