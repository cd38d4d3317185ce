/**
 * `put --from-command`: the producer (e.g. `pg_dump mydb`) runs under `sh -c`, its stdout is
 * the stream, its stderr passes through to ours. The stream ends only when the producer has
 * exited: a clean exit is EOF, anything else makes read() throw ProducerError, so putStream
 * fails before it publishes a manifest and a crashed dump never looks like a finished backup.
 * (This is what `set -o pipefail` cannot give a plain pipe: by the time the shell sees the
 * producer's status, s3duct has already seen EOF and published.)
 */
import { ProducerError } from "../errors.ts";
import type { ByteReader } from "./source.ts";

/**
 * The stdout of a `--from-command` producer, read as the stream; ends only once it exits cleanly.
 */
export class Producer implements ByteReader {
  readonly #child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Bytes read from the pipe but not yet handed out. */
  #rest: Uint8Array = new Uint8Array(0);
  #done = false;

  /** Starts `command` with `sh -c`; our stdin and stderr are the producer's. */
  constructor(command: string) {
    this.#child = new Deno.Command("sh", {
      args: ["-c", command],
      stdin: "inherit",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#reader = this.#child.stdout.getReader();
  }

  /**
   * Reads into `p` like `Deno.Reader`; null once the producer has exited 0.
   * @throws {ProducerError} The producer exited non-zero or was killed.
   */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#rest.length === 0) {
      if (this.#done) return null;
      const r = await this.#reader.read();
      if (r.done) {
        this.#done = true;
        await this.#checkExit();
        return null;
      }
      this.#rest = r.value;
    }
    const n = Math.min(p.length, this.#rest.length);
    p.set(this.#rest.subarray(0, n));
    this.#rest = this.#rest.subarray(n);
    return n;
  }

  /** Stop the producer (the put failed for another reason); safe to call after it exited. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.#reader.cancel().catch(() => {});
    await this.#child.status;
  }

  /** EOF on its stdout: wait for the exit status; only 0 lets the stream end. */
  async #checkExit(): Promise<void> {
    const status = await this.#child.status;
    if (status.success) return;
    // The command line is not repeated: it may hold a password (PGPASSWORD=... pg_dump).
    const how = status.signal
      ? `was killed by signal ${status.signal}`
      : `exited with status ${status.code}`;
    throw new ProducerError(
      `the --from-command producer ${how}; the stream was not published (no manifest ` +
        "written; chunks already uploaded are left for 's3duct cleanup')",
    );
  }
}
