/** Typed reads of a parsed manifest's fields, each failure naming the field. Pure. */
import { IntegrityError } from "../errors.ts";

/** Whether `v` is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A field's expected JSON type; `string?` is a string or null. */
export type Kind = "string" | "string?" | "integer" | "boolean" | "array" | "object";

/** Reads typed fields; a missing field with no default, or a wrong type, names the field. */
export class FieldReader {
  /**
   * A reader over one parsed object.
   * @param obj the parsed object
   * @param path how its fields are named in messages ("" at the root, `chunks[3].` in a record)
   */
  constructor(private obj: Record<string, unknown>, private path: string) {}

  /**
   * The field's value.
   * @param fallback returned when the field is absent; undefined makes the field required
   * @throws {IntegrityError} when it is missing (and required) or not of `kind`
   */
  get(key: string, kind: Kind, fallback: unknown): unknown {
    const v = this.obj[key];
    const name = `manifest field '${this.path}${key}'`;
    if (v === undefined) {
      if (fallback === undefined) throw new IntegrityError(`${name} is missing`);
      return fallback;
    }
    if (!isKind(v, kind)) {
      throw new IntegrityError(`${name} is not ${kind.replace("?", " or null")}`);
    }
    return v;
  }
}

function isKind(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case "string":
      return typeof v === "string";
    case "string?":
      return v === null || typeof v === "string";
    case "integer":
      return Number.isSafeInteger(v);
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
  }
}
