/**
 * Scratch spill for put: chunks sealed while every upload worker is busy wait on disk instead
 * of stalling stdin, within --buffer-chunks and --diskspace-limit, so a producer that must not
 * be held up (a database dump inside a transaction, a ZFS send) finishes at disk speed while
 * memory stays at its budget. Only sealed bytes are written: an encrypted stream never reaches
 * the disk as plaintext. The files live in a folder of this process alone (mode 0700), removed
 * when the put ends, fails, or is interrupted (SIGINT, SIGTERM); only SIGKILL leaves it behind.
 */
import { StoreError, UsageError } from "../errors.ts";
import type { BufferPool } from "../buffer_pool.ts";
import { readFull } from "../read_full.ts";
import type { Log } from "../ui/log.ts";

/** Where a spill's folder goes and how much it may hold (--scratch-dir, --buffer-chunks, ...). */
export interface SpillLimits {
  /** Where this process's folder is made (created if missing). */
  dir: string;
  /** Most chunks on disk at once. */
  maxChunks: number;
  /** Most bytes on disk at once. */
  maxBytes: number;
}

/** A chunk waiting on disk. */
export interface Spilled {
  /** The chunk's scratch file. */
  path: string;
  /** Bytes in the file: the sealed chunk's size. */
  size: number;
}

/** Folder names this module makes (and warns about when a killed run left one). */
const FOLDER_PREFIX = "s3duct-spill-";
const SIGNALS: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** This process's scratch folder of sealed chunks waiting for an upload worker. */
export class Spill {
  readonly #dir: string;
  readonly #limits: SpillLimits;
  readonly #onSignal: Map<Deno.Signal, () => void> = new Map();
  #chunks = 0;
  #bytes = 0;
  /** Set when the disk ran out of space; cleared when a file is removed. */
  #diskFull = false;
  #written = 0;

  private constructor(dir: string, limits: SpillLimits) {
    this.#dir = dir;
    this.#limits = limits;
  }

  /**
   * Makes this process's folder (mode 0700) under `limits.dir`, removed again on SIGINT/SIGTERM.
   * @throws {UsageError} The scratch dir cannot be created or written.
   */
  static async open(limits: SpillLimits, log: Log): Promise<Spill> {
    try {
      await Deno.mkdir(limits.dir, { recursive: true });
      for await (const e of Deno.readDir(limits.dir)) {
        if (e.isDirectory && e.name.startsWith(FOLDER_PREFIX)) {
          log.warn(
            `scratch folder ${limits.dir}/${e.name} exists: another s3duct is running, or a ` +
              "killed one left it (remove it if none is running)",
          );
        }
      }
      const dir = await Deno.makeTempDir({ dir: limits.dir, prefix: FOLDER_PREFIX });
      await Deno.chmod(dir, 0o700);
      const spill = new Spill(dir, limits);
      spill.#trapSignals();
      return spill;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      throw new UsageError(
        `--scratch-dir ${limits.dir} is not usable (${firstLine(e)}); choose a writable folder`,
      );
    }
  }

  /** This process's folder (tests look inside). */
  get folder(): string {
    return this.#dir;
  }

  /** Chunks on disk now. */
  get chunks(): number {
    return this.#chunks;
  }

  /** Chunks written to disk so far (for the summary). */
  get written(): number {
    return this.#written;
  }

  /** Whether a chunk of `size` bytes fits the limits now (never once the disk was full). */
  hasRoom(size: number): boolean {
    return !this.#diskFull && this.#chunks < this.#limits.maxChunks &&
      this.#bytes + size <= this.#limits.maxBytes;
  }

  /** Write a chunk's sealed bytes; undefined when the disk is full (the caller waits instead). */
  async write(index: number, body: Uint8Array): Promise<Spilled | undefined> {
    const path = `${this.#dir}/chunk-${String(index).padStart(6, "0")}`;
    try {
      await Deno.writeFile(path, body, { mode: 0o600, createNew: true });
    } catch (e) {
      await Deno.remove(path).catch(() => {});
      if (/No space left|os error 28|ENOSPC|quota/i.test(String(e))) {
        this.#diskFull = true;
        return undefined;
      }
      throw new StoreError(`cannot write scratch file ${path}: ${firstLine(e)}`);
    }
    this.#chunks++;
    this.#bytes += body.length;
    this.#written++;
    return { path, size: body.length };
  }

  /** The chunk's bytes, in a buffer from `pool`. */
  async read(s: Spilled, pool: BufferPool): Promise<Uint8Array> {
    const buf = pool.take(s.size);
    using file = await Deno.open(s.path, { read: true });
    if (await readFull(file, buf) !== s.size) {
      throw new StoreError(`scratch file ${s.path} is shorter than written; was it modified?`);
    }
    return buf;
  }

  /** Deletes a chunk's file once it is uploaded, freeing its room. */
  async remove(s: Spilled): Promise<void> {
    await Deno.remove(s.path).catch(() => {});
    this.#chunks--;
    this.#bytes -= s.size;
    this.#diskFull = false;
  }

  /** Remove the folder and everything in it; stop trapping signals. */
  async close(): Promise<void> {
    for (const [sig, f] of this.#onSignal) Deno.removeSignalListener(sig, f);
    this.#onSignal.clear();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  /** An interrupted put exits as it would have, minus the scratch files. */
  #trapSignals(): void {
    if (Deno.build.os === "windows") return;
    for (const [sig, code] of Object.entries(SIGNALS)) {
      const f = () => {
        try {
          Deno.removeSync(this.#dir, { recursive: true });
        } finally {
          Deno.exit(code);
        }
      };
      Deno.addSignalListener(sig as Deno.Signal, f);
      this.#onSignal.set(sig as Deno.Signal, f);
    }
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
