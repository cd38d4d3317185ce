/**
 * Making untrusted text safe for a terminal. Manifest fields, object keys and S3 error codes
 * come from the store, which may be hostile: an ESC byte in a stream name would let whoever can
 * write to the bucket move the cursor, recolour or rewrite what the user sees, and a CR or LF
 * would forge extra lines. Every sink that writes text for people (main.ts's error line, the
 * log, `list`'s text lines) passes it through here. Pure.
 *
 * Escapes are for display only. Backslashes are left alone so that printable names read
 * exactly as s3duct 0.4 printed them; `list --json` gives the exact strings.
 */

/**
 * Characters that control a terminal or change how the text around them is shown: C0 controls,
 * DEL, C1 controls (U+0080-U+009F: 8-bit CSI and friends, honoured by some terminals), and the
 * Unicode format characters that reorder, hide or break text (bidi overrides and isolates,
 * zero-width characters, line/paragraph separators, BOM).
 */
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  // C0 as \xHH (the familiar `\x1b`); DEL and above as \uXXXX, which is also a JSON escape,
  // so a JSON line passed through here stays valid JSON.
  const code = c.charCodeAt(0);
  return code < 0x20
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every terminal-controlling character shown as a visible escape (`\x1b`, `\r`,
 * `\n`, `\u202e`): the result holds no control character and prints as exactly one line.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * Like {@link escapeForTerminal}, but keeps the line breaks of a message we built ourselves
 * from several lines (a summary); each line is escaped on its own.
 */
export function escapeLines(text: string): string {
  return text.split("\n").map(escapeForTerminal).join("\n");
}

/**
 * JSON text (as `JSON.stringify` writes it) made terminal-safe without changing its value.
 * JSON.stringify escapes U+0000-U+001F but not DEL, C1 or the Unicode format characters; those
 * can only occur inside strings, where `\uXXXX` means the same character, so the result is
 * still valid JSON that parses to the same value.
 */
export function jsonForTerminal(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * At most `max` characters of `text` (from the store, quoted in a message), with how much was
 * left out: a 50 MB stream name must not become a 50 MB error line.
 */
export function clip(text: string, max = 200): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}...(${text.length - max} more characters)`;
}
