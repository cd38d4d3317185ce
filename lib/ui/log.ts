/**
 * Messages for people, on stderr only (stdout carries stream bytes and listings). Every message
 * is escaped for the terminal here (lib/ui/escape.ts): messages quote object keys and manifest
 * fields, which come from the store.
 */
import { escapeForTerminal, escapeLines } from "./escape.ts";

/** -q, default, -v. */
export type Verbosity = "quiet" | "normal" | "verbose";

/** Leveled messages to stderr (or `write`), escaped for the terminal. */
export class Log {
  /** Which messages are written: quiet drops info and warnings (warnings are still kept). */
  readonly verbosity: Verbosity;
  /** Every warning of the run, in order, for the JSON summary (quiet or not). */
  readonly warnings: string[] = [];
  readonly #write: (line: string) => void;

  /** A log writing through `write` (stderr by default), each line escaped for the terminal. */
  constructor(verbosity: Verbosity, write: (line: string) => void = writeStderr) {
    this.verbosity = verbosity;
    // Multi-line messages are our own summaries; each line is escaped on its own.
    this.#write = (message) => write(escapeLines(message));
  }

  /** Normal progress information. */
  info(message: string): void {
    if (this.verbosity !== "quiet") this.#write(message);
  }

  /** Detail for -v. */
  debug(message: string): void {
    if (this.verbosity === "verbose") this.#write(message);
  }

  /** Something the user should know; kept for the JSON summary too. */
  warn(message: string): void {
    this.warnings.push(message);
    // A warning is one line whatever it quotes: store text cannot forge a second one.
    if (this.verbosity !== "quiet") this.#write(`warning: ${escapeForTerminal(message)}`);
  }

  /** Always printed (summaries the user asked for). */
  always(message: string): void {
    this.#write(message);
  }
}

const enc = new TextEncoder();

/** Write all of `text` to a synchronous stream (stderr, or stdout for help text). */
export function writeText(to: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = enc.encode(text);
  let off = 0;
  while (off < bytes.length) off += to.writeSync(bytes.subarray(off));
}

/** One line (or our own lines) to stderr, as given: callers escape what came from the store. */
export function writeStderr(line: string): void {
  writeText(Deno.stderr, line + "\n");
}
