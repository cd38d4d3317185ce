/**
 * `--key` specs (spec §5.3): `hex:<64 hex>`, `file:<path>` (32 raw bytes, or 64 hex chars
 * with optional trailing newline) and `env:<VAR>` (hex). Errors never echo key material.
 * Also the one reader of every key and identity file (`readKeyFile`): `--key file:`,
 * `--age-identity`, `--age-recipients-file`, `--sign-key`, `--verify-key`.
 */
import { KeyError } from "../errors.ts";
import { fromHex } from "../format/chain.ts";

/** An AES-256 key: 32 bytes. */
export const AES_KEY_BYTES = 32;

/**
 * The most bytes a key or identity file may hold. The biggest real one, a file of many
 * post-quantum age recipients, is a few KiB; the cap keeps `--key file:/dev/zero` (or a
 * mistaken multi-GB path) from filling memory.
 */
export const KEY_FILE_MAX_BYTES = 64 * 1024;

/** Where to read from; injectable for tests. */
export interface KeySources {
  /** The environment variable `name` (for `env:` specs), or undefined when it is not set. */
  env(name: string): string | undefined;
  /**
   * A key file's bytes: a regular file of at most KEY_FILE_MAX_BYTES, else KeyFileRefused.
   * Deno's errors (NotFound, PermissionDenied, NotCapable) pass through.
   */
  readFile(path: string): Promise<Uint8Array>;
  /** File mode bits, when the platform has them. */
  mode(path: string): Promise<number | null>;
}

/** A path that is not a readable key file, and why (completed into a KeyError by the caller). */
export class KeyFileRefused extends Error {
  /**
   * A refusal; `why` completes the message `<what> '<path>' <why>` (e.g. "is a directory, ...").
   */
  constructor(readonly why: string) {
    super(why);
  }
}

/**
 * Read a small regular file. stat comes first: opening a FIFO blocks until a writer appears,
 * and /dev/zero or a directory must be refused before any read. The read itself still stops
 * past the cap, for files that grow or report no size (/proc). (A path swapped for a FIFO
 * between the stat and the open can still block; that needs someone racing us on our own
 * key path.)
 */
export async function readSmallRegularFile(
  path: string,
  max = KEY_FILE_MAX_BYTES,
): Promise<Uint8Array> {
  const st = await Deno.stat(path);
  if (!st.isFile) {
    const kind = st.isDirectory
      ? "a directory"
      : st.isFifo
      ? "a FIFO (named pipe)"
      : st.isCharDevice || st.isBlockDevice
      ? "a device"
      : st.isSocket
      ? "a socket"
      : "a special file";
    throw new KeyFileRefused(`is ${kind}, not a regular file`);
  }
  if (st.size > max) throw new KeyFileRefused(tooBig(max));
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(max + 1);
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  if (n > max) throw new KeyFileRefused(tooBig(max));
  return buf.slice(0, n);
}

function tooBig(max: number): string {
  return `is over ${max} bytes; no key or identity file is that big`;
}

/** The environment and the file system, through the bounded key-file reader. */
export const realKeySources: KeySources = {
  env: (name) => Deno.env.get(name),
  readFile: (path) => readSmallRegularFile(path),
  mode: async (path) => (await Deno.stat(path)).mode,
};

/** How a key file is read: what to call it in messages, and whether it is private. */
export interface KeyFileUse {
  /** e.g. "key file", "age identity file": messages say `<what> '<path>' ...`. */
  what: string;
  /** Holds a secret: warn (through `warn`) when group or others may read it. */
  secret?: boolean;
  /** Where the permission warning for a readable secret goes; without it, no warning. */
  warn?: (message: string) => void;
}

/**
 * The bytes of a key or identity file. Every problem with the file itself (missing, not a
 * regular file, too big, unreadable) is a KeyError (exit 5) naming the file, never its content.
 * A missing Deno permission passes through for main.ts to name the flag.
 */
export async function readKeyFile(
  path: string,
  use: KeyFileUse,
  sources: KeySources = realKeySources,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await sources.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e; // main.ts names the missing flag
    const why = e instanceof KeyFileRefused
      ? e.why
      : e instanceof Deno.errors.NotFound
      ? "does not exist"
      : e instanceof Deno.errors.PermissionDenied
      ? "cannot be read (permission denied)"
      : "cannot be read";
    throw new KeyError(`${use.what} '${path}' ${why}`);
  }
  if (use.secret && use.warn) {
    const mode = await sources.mode(path).catch(() => null);
    if (mode !== null && (mode & 0o077) !== 0) {
      use.warn(
        `${use.what} '${path}' is readable by group or others; run: chmod 600 '${path}'`,
      );
    }
  }
  return bytes;
}

/** A key or identity file as text (see {@link readKeyFile}). */
export async function readKeyFileText(
  path: string,
  use: KeyFileUse,
  sources: KeySources = realKeySources,
): Promise<string> {
  return new TextDecoder().decode(await readKeyFile(path, use, sources));
}

/** Resolve a key spec to 32 raw bytes; `warn` receives hygiene warnings (never the key). */
export async function loadAesKey(
  spec: string,
  warn: (message: string) => void = () => {},
  sources: KeySources = realKeySources,
): Promise<Uint8Array> {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? "" : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  if (kind === "hex") return parseHexKey(rest, "the hex: key");
  if (kind === "env") {
    const value = sources.env(rest);
    if (value === undefined || value === "") {
      throw new KeyError(`environment variable '${rest}' named by --key is not set`);
    }
    return parseHexKey(value, `environment variable '${rest}'`);
  }
  if (kind === "file") {
    const where = `key file '${rest}'`;
    const bytes = await readKeyFile(rest, { what: "key file", secret: true, warn }, sources);
    if (bytes.length === AES_KEY_BYTES) {
      // 32 bytes that are all hex digits are half a hex key, not a raw key: 32 random bytes
      // are all hex digits with probability (22/256)^32, about 10^-34.
      if (HEX_DIGITS.test(new TextDecoder().decode(bytes))) throw new KeyError(halfKey(where));
      return bytes;
    }
    return parseHexKey(new TextDecoder().decode(bytes), where, true);
  }
  throw new KeyError("--key must be hex:<64 hex digits>, file:<path> or env:<VARIABLE>");
}

const HEX_DIGITS = /^[0-9a-fA-F]+$/;

function halfKey(where: string): string {
  return `${where} holds 32 hex digits (16 bytes): a 64-digit hex key cut short? An AES-256 ` +
    "key file holds 64 hex digits or 32 raw bytes";
}

function parseHexKey(text: string, where: string, isFile = false): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  if (isFile && compact.length === AES_KEY_BYTES && HEX_DIGITS.test(compact)) {
    throw new KeyError(halfKey(where));
  }
  let key: Uint8Array;
  try {
    key = fromHex(compact);
  } catch {
    throw new KeyError(
      isFile
        ? `${where} must hold 32 raw bytes or 64 hex digits`
        : `${where} is not hex; expected 64 hex digits`,
    );
  }
  if (key.length !== AES_KEY_BYTES) {
    throw new KeyError(
      `${where} is ${key.length} bytes; an AES-256 key is 32 bytes (64 hex digits)`,
    );
  }
  return key;
}
