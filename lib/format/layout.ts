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

function hasControlChars(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}

/** Backend prefix as s3duct 0.4 computes it: `a/b/` and `a/b` both give `a/b/`. */
export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return "";
  return prefix.replace(/\/+$/, "") + "/";
}

/** Object keys of one stream. Logical keys (no prefix) go into manifests. */
export class StreamLayout {
  readonly prefix: string;
  readonly name: string;
  constructor(name: string, prefix?: string) {
    this.name = name;
    this.prefix = normalizePrefix(prefix);
  }

  /** Logical key of chunk `index`: `{name}/chunk-000042` (wider past 999,999). */
  chunkKey(index: number): string {
    return `${this.name}/chunk-${String(index).padStart(6, "0")}`;
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
