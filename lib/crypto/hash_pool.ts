/**
 * SHA-256 + SHA3-256 on worker threads for the portable path (no OpenSSL, no `--allow-ffi`):
 * a put's four passes over each chunk (chunk and stream, both digests) and a get's checks ran
 * on the main thread, one after another, beside everything else. Workers need no permission.
 *
 * Each worker owns an 8 MiB shared slab; a buffer is hashed by copying it in slab-sized pieces
 * (memcpy, ~8 GB/s here: ~1 % of the hashing) and posting only the piece's length, so nothing of
 * chunk size is allocated per chunk and the caller's buffers stay ordinary ArrayBuffers that
 * WebCrypto and transfers accept. Running stream digests live in worker 0; one-shot digests go
 * to whichever worker is free, the others first. Idle workers end after a moment, so the pool
 * never keeps the process alive; the next job starts them again.
 * @module
 */
import { createSHA3 } from "hash-wasm";
import { dualHasher, hashLoop, type HashMessage } from "./hash_jobs.ts";

/** Both raw digests of some bytes. */
export interface Digests {
  /** SHA-256, 32 bytes. */
  sha256: Uint8Array;
  /** SHA3-256, 32 bytes. */
  sha3: Uint8Array;
}

const SLAB = 8 * 1024 * 1024;
const IDLE_MS = 250;

interface Slot {
  worker?: Worker;
  slab?: Uint8Array;
  busy: boolean;
  reply?: { resolve(v: Record<string, unknown>): void; reject(e: unknown): void };
  idle?: ReturnType<typeof setTimeout>;
}

/** A few hashing workers; see the module comment. */
export class HashPool {
  readonly #module: WebAssembly.Module;
  readonly #url: string;
  readonly #slots: Slot[];
  readonly #waiting: { slot?: number; go(i: number): void }[] = [];
  #nextStream = 0;
  /** Streams whose running state lives in worker 0: it must not end while there are any. */
  readonly #held = new Set<number>();
  /** A stream dropped unfinished (a failed put) no longer keeps worker 0 alive. */
  readonly #dropped = new FinalizationRegistry<number>((id) => this.#unhold(id));

  /** A pool of `size` workers running SHA3 from `module` (hash-wasm's, compiled). */
  constructor(module: WebAssembly.Module, size: number) {
    this.#module = module;
    const src = `import { createHash } from "node:crypto";\n` +
      `const handle = (${hashLoop.toString()})(\n` +
      `  { createHash },\n  (m) => self.postMessage(m),\n  ${dualHasher.toString()},\n);\n` +
      `self.onmessage = (e) => handle(e.data);\n`;
    this.#url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
    this.#slots = Array.from({ length: size }, () => ({ busy: false }));
  }

  /** SHA-256 and SHA3-256 of `bytes`, on the first free worker. */
  async digest(bytes: Uint8Array): Promise<Digests> {
    const i = await this.#acquire();
    try {
      return await this.#feed(i, { op: "dual" }, bytes, true, true);
    } finally {
      this.#release(i);
    }
  }

  /** A running digest of many buffers, in worker 0: feed it in order, one update at a time. */
  stream(): { update(b: Uint8Array): Promise<void>; digest(): Promise<Digests> } {
    const id = this.#nextStream++;
    let first = true;
    const run = async <T>(f: () => Promise<T>): Promise<T> => {
      await this.#acquire(0);
      try {
        return await f();
      } finally {
        this.#release(0);
      }
    };
    const handle = {
      update: (b: Uint8Array) =>
        run(async () => {
          this.#held.add(id);
          await this.#feed(0, { op: "stream", id }, b, first, false);
          first = false;
        }),
      digest: () =>
        run(async () => {
          const d = await this.#feed(0, { op: "stream", id }, new Uint8Array(0), first, true);
          first = true;
          this.#held.delete(id);
          return d;
        }),
    };
    this.#dropped.register(handle, id);
    return handle;
  }

  #unhold(id: number): void {
    this.#held.delete(id);
    const slot = this.#slots[0];
    if (!slot.busy && this.#held.size === 0) {
      clearTimeout(slot.idle);
      slot.idle = setTimeout(() => this.#stop(slot), IDLE_MS);
    }
  }

  /** Send `bytes` piece by piece; the last piece's answer carries the digests. */
  async #feed(
    i: number,
    msg: HashMessage,
    bytes: Uint8Array,
    first: boolean,
    last: boolean,
  ): Promise<Digests> {
    const slot = this.#slots[i];
    let off = 0;
    let reply: Record<string, unknown> = {};
    do {
      const n = Math.min(SLAB, bytes.length - off);
      slot.slab!.set(bytes.subarray(off, off + n));
      off += n;
      const end = off >= bytes.length;
      reply = await this.#call(slot, { ...msg, length: n, first, last: last && end });
      first = false;
    } while (off < bytes.length);
    return reply as unknown as Digests;
  }

  #call(slot: Slot, msg: HashMessage): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      slot.reply = { resolve, reject };
      slot.worker!.postMessage(msg);
    });
  }

  /** Wait for worker `want` (or any, preferring the last ones) and start it if it is not. */
  async #acquire(want?: number): Promise<number> {
    const free = want !== undefined
      ? (this.#slots[want].busy ? -1 : want)
      : this.#slots.findLastIndex((s) => !s.busy);
    const i = free >= 0 ? free : await new Promise<number>((go) => {
      this.#waiting.push({ slot: want, go });
    });
    const slot = this.#slots[i];
    slot.busy = true;
    clearTimeout(slot.idle);
    if (!slot.worker) {
      try {
        await this.#start(slot);
      } catch (e) {
        // Never leave the slot taken: the next caller starts it afresh (or fails the same way).
        this.#stop(slot);
        this.#release(i);
        throw e;
      }
    }
    return i;
  }

  #release(i: number): void {
    const w = this.#waiting.findIndex((x) => x.slot === undefined || x.slot === i);
    if (w >= 0) {
      this.#waiting.splice(w, 1)[0].go(i);
      return;
    }
    const slot = this.#slots[i];
    slot.busy = false;
    // Worker 0 holds running stream digests: ending it would lose them.
    if (i === 0 && this.#held.size > 0) return;
    slot.idle = setTimeout(() => this.#stop(slot), IDLE_MS);
  }

  async #start(slot: Slot): Promise<void> {
    const worker = new Worker(this.#url, { type: "module" });
    worker.onmessage = (e) => {
      const r = slot.reply;
      slot.reply = undefined;
      if (e.data?.error) r?.reject(new Error(`hashing worker: ${e.data.error}`));
      else r?.resolve(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      slot.reply?.reject(new Error(`hashing worker failed: ${e.message}`));
      slot.reply = undefined;
      this.#stop(slot);
    };
    const shared = new SharedArrayBuffer(SLAB);
    slot.worker = worker;
    slot.slab = new Uint8Array(shared);
    await this.#call(slot, { op: "init", module: this.#module, slab: shared });
  }

  #stop(slot: Slot): void {
    slot.worker?.terminate();
    slot.worker = undefined;
    slot.slab = undefined;
  }
}

/**
 * hash-wasm's compiled SHA3 module, caught as hash-wasm compiles it (it offers no other way):
 * this must be the process's first SHA3 hasher, which hash.ts, the only user, makes sure of.
 * undefined if the library no longer compiles that way (the caller then hashes in-thread).
 */
export async function captureSha3Module(): Promise<WebAssembly.Module | undefined> {
  const compile = WebAssembly.compile;
  let caught: Promise<WebAssembly.Module> | undefined;
  WebAssembly.compile = (bytes) => (caught = compile.call(WebAssembly, bytes));
  try {
    await createSHA3(256);
  } finally {
    WebAssembly.compile = compile;
  }
  return caught ? await caught : undefined;
}
