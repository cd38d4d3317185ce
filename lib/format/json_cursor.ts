/**
 * The token-level walk of manifest text for manifest_scan.ts: objects, arrays, field names and
 * scalars, found without building any value. Pure. Its messages name the manifest because a
 * manifest is all it reads.
 */
import { IntegrityError } from "../errors.ts";
import { clip } from "../ui/escape.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** `{` */
export const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
/** `[` */
export const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** A position in JSON text, moved forward token by token. */
export class JsonCursor {
  #i = 0;
  /**
   * A cursor at the start of `s`.
   * @param s the whole text
   * @param maxKeyChars the longest field name accepted, in characters
   */
  constructor(private readonly s: string, private readonly maxKeyChars: number) {}

  /** Fails unless only blanks are left. */
  end(): void {
    this.#ws();
    if (this.#i !== this.s.length) invalidJson();
  }

  /**
   * `{ "k": v, ... }`, calling `member` with each name once the scanner stands at its value.
   * Returns the names seen; a name seen twice fails when `unique`.
   */
  object(member: (key: string) => void, unique = true): Set<string> {
    this.#expect(OPEN_OBJECT);
    const seen = new Set<string>();
    if (this.peek() === CLOSE_OBJECT) {
      this.#i++;
      return seen;
    }
    for (;;) {
      if (this.peek() !== QUOTE) invalidJson();
      const key = this.#key();
      if (unique) {
        if (seen.has(key)) fail(`manifest field '${clip(key, 40)}' appears twice`);
        seen.add(key);
      }
      this.#expect(COLON);
      member(key);
      const c = this.peek();
      this.#i++;
      if (c === CLOSE_OBJECT) return seen;
      if (c !== COMMA) invalidJson();
    }
  }

  /** `[ v, ... ]`, calling `element` at each value. */
  array(element: () => void): void {
    this.#expect(OPEN_ARRAY);
    if (this.peek() === CLOSE_ARRAY) {
      this.#i++;
      return;
    }
    for (;;) {
      element();
      const c = this.peek();
      this.#i++;
      if (c === CLOSE_ARRAY) return;
      if (c !== COMMA) invalidJson();
    }
  }

  /** A field name, decoded (escapes included) and bounded in length. */
  #key(): string {
    const start = this.#i;
    const end = this.#stringEnd();
    this.#i = end;
    // An escape is at most 6 characters per character of the name.
    const tooLong = () => fail(`manifest has a field name over ${this.maxKeyChars} characters`);
    if (end - start - 2 > 6 * this.maxKeyChars) tooLong();
    const raw = this.s.slice(start, end);
    let key: string;
    if (raw.includes("\\")) {
      try {
        key = JSON.parse(raw);
      } catch {
        invalidJson();
      }
    } else key = raw.slice(1, -1);
    if (key.length > this.maxKeyChars) tooLong();
    return key;
  }

  /** A string, number, true, false or null (its syntax is JSON.parse's to check). */
  scalar(): void {
    const c = this.peek();
    if (c === QUOTE) {
      this.#i = this.#stringEnd();
      return;
    }
    const start = this.#i;
    const s = this.s;
    let i = start;
    while (i < s.length && !isDelimiter(s.charCodeAt(i))) i++;
    if (i === start) invalidJson();
    this.#i = i;
  }

  /** Index just past the string token starting at the current position (a '"'). */
  #stringEnd(): number {
    const s = this.s;
    let from = this.#i + 1;
    for (;;) {
      const q = s.indexOf('"', from);
      if (q < 0) invalidJson();
      // Escaped when preceded by an odd number of backslashes. Each run of backslashes is
      // counted once (it precedes exactly one quote), so this stays linear.
      let b = q - 1;
      while (b >= from && s.charCodeAt(b) === BACKSLASH) b--;
      if ((q - 1 - b) % 2 === 0) return q + 1;
      from = q + 1;
    }
  }

  #expect(c: number): void {
    if (this.peek() !== c) invalidJson();
    this.#i++;
  }

  /** The next non-blank character code (-1 at the end), without consuming it. */
  peek(): number {
    this.#ws();
    return this.#i < this.s.length ? this.s.charCodeAt(this.#i) : -1;
  }

  #ws(): void {
    const s = this.s;
    let i = this.#i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.#i = i;
  }
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || c === COLON ||
    c === OPEN_OBJECT || c === OPEN_ARRAY || c === QUOTE || c === 0x20 || c === 0x0a ||
    c === 0x0d || c === 0x09;
}

function fail(message: string): never {
  throw new IntegrityError(message);
}

/** The failure for text that is not JSON. */
export function invalidJson(): never {
  fail("manifest is not valid JSON");
}
