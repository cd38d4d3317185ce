/** Messages for people, on stderr only (stdout carries stream bytes and listings). */

export type Verbosity = "quiet" | "normal" | "verbose";

export class Log {
  readonly verbosity: Verbosity;
  readonly warnings: string[] = [];
  readonly #write: (line: string) => void;

  constructor(verbosity: Verbosity, write: (line: string) => void = writeStderr) {
    this.verbosity = verbosity;
    this.#write = write;
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
    if (this.verbosity !== "quiet") this.#write(`warning: ${message}`);
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

export function writeStderr(line: string): void {
  writeText(Deno.stderr, line + "\n");
}
