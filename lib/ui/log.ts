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
export function writeStderr(line: string): void {
  const bytes = enc.encode(line + "\n");
  let off = 0;
  while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
}
