/**
 * Reusable chunk-sized buffers. Allocating a fresh buffer means faulting in every page when
 * it is first written: measured on this project's VMs at ~20 µs per 4 KiB page, i.e. ~330 ms
 * per fresh 64 MiB buffer, several times per chunk. Buffers handed back here stay mapped.
 * Buffers of at least 1 MiB are kept, at most `maxFreeBytes` of them. Pipelines set that to
 * their whole budget: a buffer dropped instead of kept is freed only when V8 gets round to it,
 * and a fresh one faulted in meanwhile, so dropping raises peak RSS rather than lowering it.
 * Fresh big buffers are also madvise(MADV_HUGEPAGE)d where Linux and --allow-ffi allow:
 * faulting them in with 2 MiB pages measured 12-16 ms per 64 MiB instead of 210-330 ms.
 */

const MIN_POOLED = 1024 * 1024;

/** A free list of large ArrayBuffers by size, so chunk buffers stay mapped between chunks. */
export class BufferPool {
  #maxFreeBytes: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;

  /** A pool keeping at most `maxFreeBytes` of free buffers (see the setter). */
  constructor(maxFreeBytes: number) {
    this.#maxFreeBytes = maxFreeBytes;
  }

  /**
   * Keep at most this many free bytes (a couple of chunks: enough to recycle, while memory
   * in flight stays what the worker policy allows). Drops any excess now.
   */
  set maxFreeBytes(n: number) {
    this.#maxFreeBytes = n;
    for (const [size, list] of this.#free) {
      while (list.length && this.#freeBytes > n) {
        list.pop();
        this.#freeBytes -= size;
      }
    }
  }

  get maxFreeBytes(): number {
    return this.#maxFreeBytes;
  }

  /** A buffer of exactly n bytes; its contents are whatever was there (callers overwrite). */
  take(n: number): Uint8Array {
    const ab = this.#free.get(n)?.pop();
    if (ab) {
      this.#freeBytes -= n;
      return new Uint8Array(ab);
    }
    const fresh = new Uint8Array(n);
    if (n >= HUGE_MIN) adviseHugePages(fresh);
    return fresh;
  }

  /**
   * Hand a buffer back once nothing (no pending I/O, no FFI call, no other view) can still use
   * it. A view hands back its whole underlying buffer (e.g. the plaintext inside a sealed
   * object opened in place).
   */
  give(b: Uint8Array | undefined): void {
    if (!b) return;
    const ab = b.buffer;
    if (!(ab instanceof ArrayBuffer)) return;
    if (ab.byteLength < MIN_POOLED || this.#freeBytes + ab.byteLength > this.#maxFreeBytes) return;
    const list = this.#free.get(ab.byteLength) ?? [];
    if (list.includes(ab)) return;
    list.push(ab);
    this.#free.set(ab.byteLength, list);
    this.#freeBytes += ab.byteLength;
  }
}

const HUGE_MIN = 4 * 1024 * 1024;
const MADV_HUGEPAGE = 14;
let madvise: ((p: Deno.PointerValue, len: bigint, advice: number) => number) | null | undefined;

/** Ask Linux to back this (untouched) buffer with huge pages; silently nothing elsewhere. */
function adviseHugePages(b: Uint8Array): void {
  if (madvise === undefined) {
    madvise = null;
    try {
      if (Deno.build.os === "linux") {
        madvise = Deno.dlopen("libc.so.6", {
          madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
        }).symbols.madvise;
      }
    } catch {
      // no libc by that name, or no --allow-ffi: plain pages then
    }
  }
  if (!madvise) return;
  const at = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b as Uint8Array<ArrayBuffer>)));
  const start = (at + 4095n) & ~4095n;
  const end = (at + BigInt(b.length)) & ~4095n;
  if (end > start) madvise(Deno.UnsafePointer.create(start), end - start, MADV_HUGEPAGE);
}

/**
 * Room per chunk in flight beyond its plaintext buffers: AES's 28 bytes, an age header and its
 * 16 bytes per 64 KiB segment, a compressed frame's growth, all fit.
 */
export const CHUNK_SLACK = 64 * 1024;

/**
 * The memory one chunk in flight may take: `copies` buffers of `chunkSize` (1 when sealed or
 * opened in place, 2 when a cipher writes into a second buffer), plus {@linkcode CHUNK_SLACK}.
 * The one place worker policies and pool budgets get their per-chunk figure from.
 */
export function chunkMemory(chunkSize: number, copies = 1): number {
  return copies * chunkSize + CHUNK_SLACK;
}

/**
 * The free bytes a pipeline lets a pool keep: every worker's chunk and two more (the one being
 * read or written and the one being sealed or opened), so buffers recycle within the memory the
 * worker policy allows.
 */
export function poolBudget(workers: number, perChunk: number): number {
  return (workers + 2) * perChunk;
}

/** The process-wide pool (a CLI run moves one stream at a time). */
export const buffers: BufferPool = new BufferPool(2 * 1024 ** 3);
