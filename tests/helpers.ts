/**
 * Shared test helpers: the s3duct 0.4 fixture set (read-only), independent reference hashes
 * (node:crypto, never the code under test) and a CLI runner for subprocess tests.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/** Repository root (the directory holding main.ts). */
export const ROOT: string = decodeURIComponent(new URL("..", import.meta.url).pathname)
  .replace(/\/$/, "");
export const MAIN_TS = `${ROOT}/main.ts`;

/** The fixture set; may be mounted read-only, so never write into it. */
/** The s3duct 0.4 fixtures: shared/ sits beside the repository (CI lays it there too). */
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

export interface FixtureCase {
  /** Directory name, e.g. `a-unencrypted-multichunk`. */
  id: string;
  /** Absolute path of the case directory. */
  dir: string;
  json: CaseJson;
}

/** Every case directory of the fixture set, in name order (read once, synchronously). */
export const CASES: FixtureCase[] = [...Deno.readDirSync(FIXTURES)]
  .filter((e) => e.isDirectory)
  .map((e) => e.name)
  .sort()
  .map((id) => {
    const dir = `${FIXTURES}/${id}`;
    return { id, dir, json: JSON.parse(Deno.readTextFileSync(`${dir}/case.json`)) as CaseJson };
  });

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

/**
 * Every plaintext manifest in the fixtures: the stored `.manifest.json` objects that parse as
 * JSON, plus the `manifest.plaintext.json` of cases whose manifest object is encrypted.
 */
export const PLAIN_MANIFESTS: FixtureManifest[] = CASES.flatMap((c) => {
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
});

/** Cases whose chunks are AES-256-GCM, with their key read from aes-key.hex. */
export function aesCases(): FixtureCase[] {
  return CASES.filter((c) => c.json.crypto.method === "aes-256-gcm");
}

/** The AES key of a case, from its aes-key.hex (64 hex digits + newline). */
export function aesKeyOf(c: FixtureCase): Uint8Array {
  const hex = Deno.readTextFileSync(`${c.dir}/aes-key.hex`).trim();
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** Reference digests from node:crypto, independent of lib/. */
export function refHex(algorithm: "sha256" | "sha3-256" | "md5", bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest("hex");
}

export function refBytes(algorithm: "sha256" | "sha3-256", bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(bytes).digest());
}

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so failures reproduce. */
export function pseudoRandom(length: number, seed = "s3duct-test"): Uint8Array {
  const out = new Uint8Array(length);
  let off = 0;
  for (let i = 0; off < length; i++) {
    const block = createHash("sha256").update(`${seed}:${i}`).digest();
    out.set(block.subarray(0, Math.min(block.length, length - off)), off);
    off += block.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Run `deno run -A main.ts ...args` as a subprocess, stdin null unless given. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: Uint8Array } = {},
): Promise<CliResult> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN_TS, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Fails if `message` contains any 8-character run of `secret` (key material must not leak). */
export function leaksSecret(message: string, secret: string): boolean {
  if (secret.length < 8) return message.includes(secret);
  for (let i = 0; i + 8 <= secret.length; i++) {
    if (message.includes(secret.slice(i, i + 8))) return true;
  }
  return false;
}
