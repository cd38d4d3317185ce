/**
 * The s3duct 0.4 fixture set (read-only), read on first use: importing this module reads
 * nothing, so without the fixture folder only the tests that use it fail, each naming the folder.
 * Re-exported by tests/helpers.ts.
 */
import { Buffer } from "node:buffer";

/**
 * The s3duct 0.4 fixtures: shared/ sits beside the repository (CI lays it there too), or
 * S3DUCT_FIXTURES names them. They may be mounted read-only, so never write into them.
 */
export const FIXTURES: string = Deno.env.get("S3DUCT_FIXTURES") ??
  new URL("../../shared/compat/s3duct-0.4", import.meta.url).pathname;

/** The fields of a fixture case.json that the tests use. */
export interface CaseJson {
  case: string;
  stream_name: string;
  prefix_arg: string | null;
  effective_key_prefix: string;
  chunk_size_bytes: number;
  input: { size: number; sha256: string; sha3_256: string };
  crypto: {
    method: "aes-256-gcm" | "age" | null;
    manifest_encrypted: boolean;
    key_spec?: string;
    key_hex_file?: string;
    key_raw_file?: string | null;
    age_identity_file?: string;
  };
  env_extra: Record<string, string>;
  manifest_object_key: string | null;
  manifest_plaintext_file: string | null;
  objects: { key: string; size: number; etag: string; md5: string; sha256: string }[];
  list: { stdout_line_for_this_stream: string | null };
}

/** One case directory of the fixture set. */
export interface FixtureCase {
  /** Directory name, e.g. `a-unencrypted-multichunk`. */
  id: string;
  /** Absolute path of the case directory. */
  dir: string;
  json: CaseJson;
}

/**
 * `load()`'s value, computed on first use. Module-level fixture handles go through this so that
 * importing helpers.ts reads nothing: without the fixture folder only the tests that use it fail.
 * Methods are bound to the real value (class instances with private fields keep working).
 * Reads, `in` and iteration go through; spreading or Object.keys of the proxy does not.
 */
export function lazy<T extends object>(load: () => T): T {
  let value: T | undefined;
  const real = () => value ??= load();
  return new Proxy({} as T, {
    get(_, p) {
      const v = Reflect.get(real(), p);
      return typeof v === "function" ? v.bind(real()) : v;
    },
    has: (_, p) => Reflect.has(real(), p),
  });
}

function loadCases(): FixtureCase[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(FIXTURES)];
  } catch (e) {
    throw new Error(
      `the s3duct 0.4 fixtures are not at ${FIXTURES} (${(e as Error).name}): lay ` +
        `shared/compat/s3duct-0.4 beside the repository or set S3DUCT_FIXTURES to their folder`,
    );
  }
  return entries.filter((e) => e.isDirectory).map((e) => e.name).sort().map((id) => {
    const dir = `${FIXTURES}/${id}`;
    return { id, dir, json: JSON.parse(Deno.readTextFileSync(`${dir}/case.json`)) as CaseJson };
  });
}

/** Every case directory of the fixture set, in name order (read on first use). */
export const CASES: FixtureCase[] = lazy(loadCases);

/**
 * Registers one test per item of a fixture list (`register` calls Deno.test); when the fixtures
 * cannot be read, registers one test `label` that fails with the reason instead, so the rest of
 * the module still runs and the missing folder cannot pass unnoticed.
 */
export function eachFixture<T>(
  list: T[] | (() => T[]),
  label: string,
  register: (item: T) => void,
): void {
  let items: T[];
  try {
    items = typeof list === "function" ? list() : [...list];
  } catch (e) {
    Deno.test(label, () => {
      throw e;
    });
    return;
  }
  for (const item of items) register(item);
}

/** The fixture case whose directory name starts with `prefix-` (e.g. "a"). */
export function fixtureCase(prefix: string): FixtureCase {
  const c = CASES.find((c) => c.id.startsWith(prefix + "-"));
  if (!c) throw new Error(`no fixture case '${prefix}-*' in ${FIXTURES}`);
  return c;
}

/** A manifest's exact bytes as the old tool wrote them, with the stream it belongs to. */
export interface FixtureManifest {
  /** e.g. `a-unencrypted-multichunk/objects/.../.manifest.json`. */
  label: string;
  case: FixtureCase;
  bytes: Uint8Array;
  text: string;
  /** Stream name and the --prefix it was stored under. */
  name: string;
  prefix: string;
}

/** All files below `dir`, as paths relative to it. */
export function filesUnder(dir: string, rel = ""): string[] {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(rel ? `${dir}/${rel}` : dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...filesUnder(dir, r));
    else if (e.isFile) out.push(r);
  }
  return out.sort();
}

function isJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

function manifestsOf(c: FixtureCase): FixtureManifest[] {
  const found: FixtureManifest[] = [];
  const add = (label: string, bytes: Uint8Array) =>
    found.push({
      label,
      case: c,
      bytes,
      text: new TextDecoder().decode(bytes),
      name: c.json.stream_name,
      prefix: c.json.prefix_arg ?? "",
    });
  for (const rel of filesUnder(`${c.dir}/objects`)) {
    if (!rel.endsWith("/.manifest.json")) continue;
    const bytes = Deno.readFileSync(`${c.dir}/objects/${rel}`);
    if (isJson(bytes)) add(`${c.id}/objects/${rel}`, bytes);
  }
  if (c.json.manifest_plaintext_file) {
    add(
      `${c.id}/${c.json.manifest_plaintext_file}`,
      Deno.readFileSync(`${c.dir}/${c.json.manifest_plaintext_file}`),
    );
  }
  return found;
}

/**
 * Every plaintext manifest in the fixtures: the stored `.manifest.json` objects that parse as
 * JSON, plus the `manifest.plaintext.json` of cases whose manifest object is encrypted.
 */
export const PLAIN_MANIFESTS: FixtureManifest[] = lazy(() => CASES.flatMap(manifestsOf));

/** Cases whose chunks are AES-256-GCM, with their key read from aes-key.hex. */
export function aesCases(): FixtureCase[] {
  return CASES.filter((c) => c.json.crypto.method === "aes-256-gcm");
}

/** The AES key of a case, from its aes-key.hex (64 hex digits + newline). */
export function aesKeyOf(c: FixtureCase): Uint8Array {
  const hex = Deno.readTextFileSync(`${c.dir}/aes-key.hex`).trim();
  return new Uint8Array(Buffer.from(hex, "hex"));
}
