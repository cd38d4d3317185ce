/**
 * `--key` specs (spec §5.3): `hex:<64 hex>`, `file:<path>` (32 raw bytes, or 64 hex chars
 * with optional trailing newline) and `env:<VAR>` (hex). Errors never echo key material.
 */
import { KeyError } from "../errors.ts";
import { fromHex } from "../format/chain.ts";

export const AES_KEY_BYTES = 32;

/** Where to read from; injectable for tests. */
export interface KeySources {
  env(name: string): string | undefined;
  readFile(path: string): Promise<Uint8Array>;
  /** File mode bits, when the platform has them. */
  mode(path: string): Promise<number | null>;
}

export const realKeySources: KeySources = {
  env: (name) => Deno.env.get(name),
  readFile: (path) => Deno.readFile(path),
  mode: async (path) => (await Deno.stat(path)).mode,
};

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
    let bytes: Uint8Array;
    try {
      bytes = await sources.readFile(rest);
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e; // main.ts names the missing flag
      const why = e instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read";
      throw new KeyError(`key file '${rest}' ${why}`);
    }
    const mode = await sources.mode(rest).catch(() => null);
    if (mode !== null && (mode & 0o077) !== 0) {
      warn(`key file '${rest}' is readable by group or others; run: chmod 600 '${rest}'`);
    }
    if (bytes.length === AES_KEY_BYTES) return bytes;
    return parseHexKey(new TextDecoder().decode(bytes), `key file '${rest}'`, true);
  }
  throw new KeyError("--key must be hex:<64 hex digits>, file:<path> or env:<VARIABLE>");
}

function parseHexKey(text: string, where: string, isFile = false): Uint8Array {
  const compact = text.replace(/\s+/g, "");
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
