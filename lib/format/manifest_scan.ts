/**
 * A cheap pass over manifest JSON text before JSON.parse builds anything (issue 12.2). Pure.
 *
 * JSON.parse materialises every value, so a 60 MB manifest of 20 million empty objects `{}`
 * (in a field we would ignore) cost 2.1 GB before any check could refuse it. This pass walks the
 * text once, keeping only a few counters and the field names of the object it is in, and
 * refuses a text whose structure no manifest has: a root that is not an object, nesting deeper
 * than `maxDepth`, more than `maxChunks` records, a chunk record that is not exactly a record (unknown, duplicate or missing
 * fields, or a container where a number or string belongs), more than `maxTags` tags, more than
 * `maxUnknownValues` values in fields this version does not know (kept for forward
 * compatibility, but bounded), and duplicate field names (JSON.parse would keep the last one
 * silently; another reader might keep the first). What passes costs JSON.parse memory in
 * proportion to the text: every record needs at least ~60 characters of text, and everything
 * else is bounded.
 *
 * It checks structure only; JSON.parse then checks the syntax of what passed, and
 * parseManifest the types.
 */
import { IntegrityError } from "../errors.ts";
import { clip } from "../ui/escape.ts";
import { JsonCursor, OPEN_ARRAY, OPEN_OBJECT } from "./json_cursor.ts";

/**
 * The most chunks a stream may have for its manifest to be read (2^20): 512 TiB at the default
 * 512M chunk size, 64 TiB at 64M. `put` refuses to write more (lib/pipeline/put_stream.ts).
 */
export const MAX_MANIFEST_CHUNKS = 1_048_576;
/** Bounds on a manifest's structure; the defaults leave real manifests far inside them. */
export interface ScanLimits {
  /** Nesting anywhere (a real manifest: root, chunks, record = 3). */
  maxDepth: number;
  /** Field names and values, all together, inside fields this version does not know. */
  maxUnknownValues: number;
  /** Entries in the `tags` object. */
  maxTags: number;
  /**
   * Chunk records. 2^20, as MAX_MANIFEST_CHUNKS in lib/pipeline/manifest_io.ts, which sizes
   * the read cap for manifests from it: 64 TiB at 64M chunks, 512 TiB at 512M.
   */
  maxChunks: number;
  /** Characters in a field or tag name. */
  maxKeyChars: number;
}

/** The limits parseManifest applies. */
export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxDepth: 16,
  maxUnknownValues: 10_000,
  maxTags: 1024,
  maxChunks: MAX_MANIFEST_CHUNKS,
  maxKeyChars: 256,
};

/** A field's expected type, named as parseManifest's messages name it. */
type Kind = "string" | "string or null" | "integer" | "boolean";

/** Top-level fields that hold one value (chunks and tags are handled on their own). */
const SCALAR_FIELDS: Record<string, Kind> = {
  version: "integer",
  name: "string",
  description: "string",
  created: "string",
  tool_version: "string",
  chunk_count: "integer",
  chunk_size: "integer",
  total_bytes: "integer",
  encrypted: "boolean",
  encrypted_manifest: "boolean",
  encryption_method: "string or null",
  encryption_recipient: "string or null",
  storage_class: "string or null",
  final_chain: "string",
  stream_sha256: "string",
  stream_sha3_256: "string",
  format_salt: "string",
  stream_id: "string",
  compression: "string or null",
};

/** A chunk record's fields: exactly these (s3duct 0.4 refuses records with others). */
const RECORD_FIELDS: Record<string, Kind> = {
  index: "integer",
  s3_key: "string",
  size: "integer",
  sha256: "string",
  sha3_256: "string",
  etag: "string",
  // Compressed format 2 streams only (validateManifest refuses it elsewhere).
  stored_size: "integer",
};
/** etag may be absent (0.4 defaults it to ""); the others must be there. */
const RECORD_REQUIRED = ["index", "s3_key", "size", "sha256", "sha3_256"];

/**
 * IntegrityError if `text` cannot be a manifest by its structure alone; returns once it is safe
 * to hand to JSON.parse. Linear in the text, constant memory apart from field-name sets.
 */
export function scanManifestText(text: string, limits: ScanLimits = DEFAULT_SCAN_LIMITS): void {
  new Scanner(text, limits).manifest();
}

class Scanner {
  #unknown = 0;
  readonly #c: JsonCursor;
  constructor(private readonly s: string, private readonly limits: ScanLimits) {
    this.#c = new JsonCursor(s, limits.maxKeyChars);
  }

  manifest(): void {
    if (this.#c.peek() !== OPEN_OBJECT) {
      // A scalar root costs JSON.parse at most its own size: let it say which problem it is.
      // An array root could be 20 million `{}`: refused without parsing.
      if (this.#c.peek() === OPEN_ARRAY) fail("manifest is not a JSON object");
      try {
        JSON.parse(this.s);
      } catch {
        fail("manifest is not valid JSON");
      }
      fail("manifest is not a JSON object");
    }
    this.#c.object((key) => this.#topField(key));
    this.#c.end();
  }

  #topField(key: string): void {
    const c = this.#c.peek();
    if (key === "chunks") {
      if (c === OPEN_ARRAY) return this.#chunks();
      if (c === OPEN_OBJECT) fail("manifest field 'chunks' is not array");
    } else if (key === "tags") {
      if (c === OPEN_OBJECT) return this.#tags();
      if (c === OPEN_ARRAY) fail("manifest field 'tags' is not object");
    } else if (Object.hasOwn(SCALAR_FIELDS, key)) {
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        fail(`manifest field '${key}' is not ${SCALAR_FIELDS[key]}`);
      }
    } else {
      this.#countUnknown(); // the field name
      return this.#skipUnknown(2);
    }
    this.#c.scalar();
  }

  #chunks(): void {
    let index = 0;
    this.#c.array(() => {
      if (index >= this.limits.maxChunks) {
        fail(`manifest lists more than ${this.limits.maxChunks} chunks`);
      }
      if (this.#c.peek() !== OPEN_OBJECT) {
        fail(`manifest field 'chunks[${index}]' is not an object`);
      }
      this.#record(index++);
    });
  }

  #record(index: number): void {
    const at = `manifest field 'chunks[${index}]`;
    const seen = this.#c.object((key) => {
      if (!Object.hasOwn(RECORD_FIELDS, key)) {
        fail(
          `${at}.${clip(key, 40)}' is not a chunk record field ` +
            "(a record holds index, s3_key, size, sha256, sha3_256, etag and, when " +
            "compressed, stored_size)",
        );
      }
      const c = this.#c.peek();
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) fail(`${at}.${key}' is not ${RECORD_FIELDS[key]}`);
      this.#c.scalar();
    });
    for (const f of RECORD_REQUIRED) if (!seen.has(f)) fail(`${at}.${f}' is missing`);
  }

  #tags(): void {
    let n = 0;
    this.#c.object((key) => {
      if (++n > this.limits.maxTags) {
        fail(`manifest field 'tags' has more than ${this.limits.maxTags} tags`);
      }
      const c = this.#c.peek();
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        fail(`manifest field 'tags.${clip(key, 40)}' is not a string`);
      }
      this.#c.scalar();
    });
  }

  /** A value inside a field we do not know: anything, within the depth and count budget. */
  #skipUnknown(depth: number): void {
    this.#countUnknown();
    const c = this.#c.peek();
    if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) return this.#c.scalar();
    if (depth > this.limits.maxDepth) {
      fail(`manifest is nested deeper than ${this.limits.maxDepth} levels`);
    }
    if (c === OPEN_ARRAY) return this.#c.array(() => this.#skipUnknown(depth + 1));
    // Names are not checked for duplicates here (nobody reads them) but count.
    this.#c.object(() => {
      this.#countUnknown();
      this.#skipUnknown(depth + 1);
    }, false);
  }

  #countUnknown(): void {
    if (++this.#unknown > this.limits.maxUnknownValues) {
      fail(
        `manifest holds more than ${this.limits.maxUnknownValues} values in fields this ` +
          "s3duct does not know",
      );
    }
  }
}

function fail(message: string): never {
  throw new IntegrityError(message);
}
