/** Where a stream's objects live in a bucket (spec §3.1-3.2). Pure. */

/** Why a stream name is unusable, or undefined if it is fine. */
export function streamNameProblem(name: string): string | undefined {
  if (name.trim() === "") return "stream name cannot be empty";
  if (name.startsWith("/") || name.startsWith(".")) {
    return `stream name must not start with '/' or '.'`;
  }
  if (name.includes("//")) return `stream name must not contain '//'`;
  if (name.endsWith("/")) return `stream name must not end with '/'`;
  if (name.split("/").some((s) => s === "." || s === "..")) {
    return `stream name must not contain '.' or '..' path segments`;
  }
  if (hasControlChars(name)) return "stream name must not contain control characters";
  return undefined;
}

/** Why a --prefix is unusable, or undefined if it is fine. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.startsWith("/") || prefix.includes("//") || hasControlChars(prefix)) {
    return "must not start with '/', contain '//' or control characters";
  }
  if (prefix.split("/").some((s) => s === "." || s === "..")) {
    return "must not contain '.' or '..' path segments";
  }
  return undefined;
}

/**
 * Why `put` must not create a stream at this path (prefix + name), or undefined. A segment that
 * reads as a chunk generation (`g1a2b3c4d`), a chunk (`chunk-000001`) or an s3duct file
 * (`.manifest.json`, `.manifest.sig`) would address objects of the stream one level up: a
 * stream `cl/g1a2b3c4d` would write over the chunks of `cl`'s generation. s3duct 0.4 streams
 * with such names stay readable; only new ones are refused.
 */
export function reservedPathProblem(path: string): string | undefined {
  for (const seg of path.split("/")) {
    if (GENERATION.test(seg)) {
      return `segment '${seg}' has the form of a chunk generation folder (g + 8 letters or ` +
        "digits), which would overlap the objects of the stream above it; choose another name";
    }
    if (/^chunk-\d+$/.test(seg) || seg.startsWith(".")) {
      return `segment '${seg}' has the form of an s3duct object name (chunk-N or a leading ` +
        "'.'), which would overlap the objects of the stream above it; choose another name";
    }
  }
  return undefined;
}

function hasControlChars(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}

/** Backend prefix as s3duct 0.4 computes it: `a/b/` and `a/b` both give `a/b/`. */
export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return "";
  return prefix.replace(/\/+$/, "") + "/";
}

/**
 * A chunk generation: `--clobber` writes the new stream's chunks under `{name}/g1a2b3c4d/`, so
 * the old stream stays whole until the new manifest replaces it. s3duct 0.4 follows each
 * record's s3_key, so it reads these streams too.
 */
const GENERATION = /^g[0-9a-z]{8}$/;

/** Whether a key segment is a chunk generation's name (`g1a2b3c4d`). */
export function isGeneration(segment: string): boolean {
  return GENERATION.test(segment);
}

/** A fresh generation name. */
export function newGeneration(): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  return "g" +
    Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => alphabet[b % 36]).join("");
}

/** Object keys of one stream. Logical keys (no prefix) go into manifests. */
export class StreamLayout {
  /** The `--prefix`, normalised: "" or ending in "/"; it prefixes every full object key. */
  readonly prefix: string;
  /** The stream name; logical keys start with it. */
  readonly name: string;
  /** Chunk folder below the name, after a --clobber; undefined = the standard layout. */
  readonly generation?: string;
  /**
   * The keys of stream `name` under `prefix`, its chunks in `generation` when given.
   * @throws {RangeError} `generation` is not a generation name (`g` and 8 of [0-9a-z]).
   */
  constructor(name: string, prefix?: string, generation?: string) {
    this.name = name;
    this.prefix = normalizePrefix(prefix);
    if (generation !== undefined && !GENERATION.test(generation)) {
      throw new RangeError(`bad chunk generation '${generation}'`);
    }
    this.generation = generation;
  }

  /** The same stream with its chunks in another generation. */
  withGeneration(generation: string | undefined): StreamLayout {
    return new StreamLayout(this.name, this.prefix, generation);
  }

  /** The generation a chunk key is in (undefined: standard layout or not a chunk key). */
  generationOf(logicalKey: string): string | undefined {
    const rest = logicalKey.startsWith(`${this.name}/`)
      ? logicalKey.slice(this.name.length + 1)
      : "";
    const g = /^(g[0-9a-z]{8})\/chunk-\d{6,}$/.exec(rest)?.[1];
    return g;
  }

  /**
   * Whether `logicalKey` is this stream's key for chunk `index`, in the standard layout or in
   * any generation. Chunks of one stream may sit in several generations: a resumed put keeps
   * the chunks it verified where they are and writes the rest into its own generation.
   */
  isChunkKey(logicalKey: string, index: number): boolean {
    const tail = chunkName(index);
    if (logicalKey === `${this.name}/${tail}`) return true;
    const g = this.generationOf(logicalKey);
    return g !== undefined && logicalKey === `${this.name}/${g}/${tail}`;
  }

  /** Stream path as the store sees it: prefix and name joined (`p/` + `db` = `p/db`). */
  get path(): string {
    return this.prefix + this.name;
  }

  /** Logical key of chunk `index`: `{name}/chunk-000042` (wider past 999,999). */
  chunkKey(index: number): string {
    const gen = this.generation ? `${this.generation}/` : "";
    return `${this.name}/${gen}${chunkName(index)}`;
  }

  /** Logical key of the manifest. */
  get manifestKey(): string {
    return `${this.name}/.manifest.json`;
  }

  /** Full object key for a logical key. */
  full(logicalKey: string): string {
    return this.prefix + logicalKey;
  }
}

/** A chunk object's last key segment: `chunk-000042` (wider past 999,999). */
export function chunkName(index: number): string {
  return `chunk-${String(index).padStart(6, "0")}`;
}

/** The folder part of a key: `a/b/chunk-000001` -> `a/b/`. */
export function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf("/") + 1);
}
