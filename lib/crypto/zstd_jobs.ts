/**
 * The two jobs of the zstd codec (zstd.ts): compress a chunk into a buffer given, decompress a
 * frame into a buffer given, never past its end. They run in a worker as their own source text
 * (`Function.prototype.toString`, {@linkcode JOBS_SOURCE}), so they use nothing from their scope
 * but their parameters (node:zlib is one), literals and the steps sent along with them.
 *
 * Both drive node:zlib's zstd handle directly (`_handle.writeSync`, Node's internal API, which
 * Deno 2.9 implements): output goes straight into the caller's buffer, so nothing of chunk size
 * is allocated per chunk and left for the garbage collector (measured on 64 MiB SQL: 1.1 GB/s
 * decompressing this way, 0.5-0.65 through zstdDecompressSync, which also allocates the whole
 * output). Where the handle is missing they fall back to the public one-shot calls.
 */
import type * as zlib from "node:zlib";

/** What the jobs use of node:zlib. */
export type ZstdLib = Pick<
  typeof zlib,
  | "zstdCompressSync"
  | "zstdDecompressSync"
  | "createZstdCompress"
  | "createZstdDecompress"
  | "constants"
>;

/** The internals of a node:zlib stream the jobs drive (absent: the one-shot calls are used). */
interface Driven {
  _handle?: {
    writeSync?(
      flush: number,
      input: Uint8Array,
      inOff: number,
      inLen: number,
      out: Uint8Array,
      outOff: number,
      outLen: number,
    ): void;
  };
  /** After writeSync: [output bytes left free, input bytes left unread]. */
  _writeState?: Uint32Array;
  on(event: "error", f: (e: Error) => void): unknown;
  close(): void;
}

/**
 * Compress `input` at `level` into `out` from offset `head`. Returns the frame's length, or why
 * the chunk is to be stored as it is: "sample" (a probe of it saved less than 1/32), "larger"
 * (the frame would not be smaller than the chunk). `out` must have `input.length - 1` bytes
 * from `head` on; nothing past those is written.
 *
 * The probe: a chunk over 4 MiB is first tried on 8 slices of 64 KiB spread over it (1/8 of it
 * or less), so random or already compressed input costs ~1 ms per chunk instead of a full pass
 * (node:zlib's zstd ran ~700 MB/s over random bytes here; native zstd skips them faster).
 */
export function compressJob(
  z: ZstdLib,
  input: Uint8Array,
  level: number,
  out: Uint8Array,
  head: number,
): number | "sample" | "larger" {
  const params = { [z.constants.ZSTD_c_compressionLevel]: level };
  if (input.length > 4194304 && !sampleSaves(z, input, params)) return "sample";
  // A frame of the chunk's size or more is not kept: that is all the room it gets.
  const room = input.length - 1;
  if (room < 1) return "larger";
  const driven = compressDriven(z, input, params, out, head, room);
  if (driven !== undefined) return driven;
  try {
    const frame = z.zstdCompressSync(input, { params, maxOutputLength: room });
    out.set(frame, head);
    return frame.length;
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return "larger";
    throw e;
  }
}

/** compressJob's probe: whether 8 slices of 64 KiB spread over `input` compress by 1/32. */
function sampleSaves(z: ZstdLib, input: Uint8Array, params: Record<number, number>): boolean {
  const probe = new Uint8Array(524288);
  const step = Math.floor((input.length - 65536) / 7);
  for (let i = 0; i < 8; i++) probe.set(input.subarray(i * step, i * step + 65536), i * 65536);
  try {
    // Output over 31/32 of the probe throws: zstd stops as soon as it gets there.
    z.zstdCompressSync(probe, { params, maxOutputLength: 507904 });
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return false;
    throw e;
  }
}

/**
 * `input` as one frame into `out` at `head`, at most `room` bytes, through the zstd handle:
 * the frame's length, "larger" when it does not fit, undefined without the handle.
 */
function compressDriven(
  z: ZstdLib,
  input: Uint8Array,
  params: Record<number, number>,
  out: Uint8Array,
  head: number,
  room: number,
): number | "larger" | undefined {
  // The size in the frame header (node:zlib takes it, its types do not list it).
  const opts: zlib.ZstdOptions & { pledgedSrcSize: number } = {
    params,
    pledgedSrcSize: input.length,
  };
  const c = z.createZstdCompress(opts) as unknown as Driven;
  c.on("error", () => {}); // reported by writeSync's throw; the event must not go unhandled
  try {
    const state = c._writeState;
    if (typeof c._handle?.writeSync === "function" && state instanceof Uint32Array) {
      // All the input and the end of the frame in one call; no room left means too big.
      c._handle.writeSync(z.constants.ZSTD_e_end, input, 0, input.length, out, head, room);
      if (state[0] === 0) return "larger";
      if (state[1] !== 0) throw new Error(`zstd left ${state[1]} bytes of the chunk unread`);
      return room - state[0];
    }
    return undefined;
  } finally {
    c.close();
  }
}

/**
 * Decompress `frame` into `target`, never producing more than `target.length` bytes: once the
 * target is full, one more byte of output throws RangeError ERR_BUFFER_TOO_LARGE, however much
 * the frame declares. A frame asking for a window over 2^`windowLogMax` fails before any
 * allocation. Returns the bytes written (fewer than target.length when the frame is short: the
 * caller's size check says so).
 */
export function decompressJob(
  z: ZstdLib,
  frame: Uint8Array,
  target: Uint8Array,
  windowLogMax: number,
): number {
  const params = { [z.constants.ZSTD_d_windowLogMax]: windowLogMax };
  const driven = decompressDriven(z, frame, target, params);
  if (driven !== undefined) return driven;
  const out = z.zstdDecompressSync(frame, {
    params,
    maxOutputLength: target.length,
    chunkSize: Math.max(64, target.length),
  });
  target.set(out);
  return out.length;
}

/** decompressJob through the zstd handle, straight into `target`; undefined without it. */
function decompressDriven(
  z: ZstdLib,
  frame: Uint8Array,
  target: Uint8Array,
  params: Record<number, number>,
): number | undefined {
  const d = z.createZstdDecompress({ params }) as unknown as Driven;
  d.on("error", () => {}); // reported by writeSync's throw; the event must not go unhandled
  try {
    const state = d._writeState;
    if (typeof d._handle?.writeSync !== "function" || !(state instanceof Uint32Array)) {
      return undefined;
    }
    const spare = new Uint8Array(1);
    let written = 0;
    let read = 0;
    for (;;) {
      // Target full: ask for one byte more, which a frame of exactly this size has not got.
      const full = written === target.length;
      const outLen = full ? 1 : target.length - written;
      const inLen = frame.length - read;
      const out = full ? spare : target;
      d._handle.writeSync(
        z.constants.ZSTD_e_end,
        frame,
        read,
        inLen,
        out,
        full ? 0 : written,
        outLen,
      );
      const produced = outLen - state[0];
      const consumed = inLen - state[1];
      if (full && produced > 0) {
        const e = new RangeError(`zstd output over ${target.length} bytes`);
        throw Object.assign(e, { code: "ERR_BUFFER_TOO_LARGE" });
      }
      written += full ? 0 : produced;
      read += consumed;
      // Room left and the frame read: all of it is out. No progress: nothing more will come.
      if ((state[0] > 0 && state[1] === 0) || (produced === 0 && consumed === 0)) return written;
    }
  } finally {
    d.close();
  }
}

/**
 * The jobs and their steps as worker source text: one `const NAME = function ...;` each, so
 * the jobs find their steps by name there as here (node:zlib is the worker's `z`).
 */
export const JOBS_SOURCE: string = [
  compressJob,
  sampleSaves,
  compressDriven,
  decompressJob,
  decompressDriven,
].map((f) => `const ${f.name} = ${f.toString()};\n`).join("");
