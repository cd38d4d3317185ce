/**
 * zstd for `put --compress` (issue 17.3): the codec wrapper. node:zlib's zstd (built into
 * Deno 2.9: no package, no permission) does the work (zstd_jobs.ts), on a small pool of
 * workers (zstd_pool.ts) so that chunks compress in parallel and off the main thread: in Deno,
 * node:zlib's callback API runs zstd on the main thread (measured: a 1 ms timer did not fire
 * while 64 MiB compressed). Buffers move to a worker and back without copies. Without an open
 * pool (unit tests, or a caller that did not ask for one) the same jobs run in-process.
 */
import * as zlib from "node:zlib";
import { UsageError, ZstdError } from "../errors.ts";
import { ZstdPool } from "./zstd_pool.ts";
import { compressJob, decompressJob, JOBS_SOURCE } from "./zstd_jobs.ts";

/** The level `--compress zstd` uses, as the zstd CLI's default. */
export const ZSTD_DEFAULT_LEVEL = 3;
/**
 * Highest level accepted: levels 1-19 use windows of at most 2^23 bytes (zstd's tables; the
 * CLI's frames declare 2^19 at level 1, 2^21 at 3, 2^23 at 19), which the decoder's window
 * cap below accepts; 20-22 ("ultra") need up to 2^27 and are refused.
 */
export const ZSTD_MAX_LEVEL = 19;
/**
 * Largest window a frame may ask the decoder for: one notch above level 19's, so frames from a
 * newer zstd stay readable while no frame can make the decoder allocate more than 16 MiB of
 * window (zstd's own default cap is 128 MiB).
 */
export const ZSTD_WINDOW_LOG_MAX = 24;

/** `--compress zstd[:LEVEL]`, parsed. */
export interface Compression {
  /** The codec, recorded as the manifest's `compression`. */
  codec: "zstd";
  /** The zstd level, 1 to {@linkcode ZSTD_MAX_LEVEL}; it is not recorded (frames need no level). */
  level: number;
}

/**
 * Parse `zstd` or `zstd:LEVEL` (1-19).
 * @throws {UsageError} anything else
 */
export function parseCompression(spec: string): Compression {
  const m = /^zstd(?::(\d{1,2}))?$/.exec(spec.trim());
  const level = m?.[1] === undefined ? ZSTD_DEFAULT_LEVEL : Number(m[1]);
  if (!m || level < 1 || level > ZSTD_MAX_LEVEL) {
    throw new UsageError(
      `--compress '${spec.slice(0, 40)}': expected zstd or zstd:LEVEL with a level from 1 to ` +
        `${ZSTD_MAX_LEVEL} (default ${ZSTD_DEFAULT_LEVEL})`,
    );
  }
  return { codec: "zstd", level };
}

/** A frame that does not decompress within its bound (lib/errors.ts). */
export { ZstdError };

/** A compressed chunk for sealing, or the chunk back as it was (to be stored as it is). */
export interface Packed {
  /** The input chunk: the same bytes, but use this view (the original one may be detached). */
  chunk: Uint8Array;
  /** The output buffer given, back (use this view): the frame's buffer when there is one. */
  out: Uint8Array;
  /** The zstd frame inside `out`, after the room asked for; absent = store as it is. */
  frame?: Uint8Array;
  /** Why there is no frame. */
  skipped?: "sample" | "larger";
}

let pool: ZstdPool | undefined;
let users = 0;

/**
 * Start the worker pool for one pipeline; call the returned function when it is done (the
 * last one out terminates the workers, which would otherwise keep the process alive). Without
 * an open pool, pack and unpack run in-process.
 */
export function openZstd(): () => void {
  users++;
  pool ??= new ZstdPool(
    `import * as z from "node:zlib";\n` +
      JOBS_SOURCE +
      WORKER_LOOP,
  );
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    if (--users === 0) {
      pool?.close();
      pool = undefined;
    }
  };
}

/**
 * Compress one chunk at `level` into `out` (a buffer of the chunk's size plus `room`), the
 * frame starting at `room.head`. Both buffers move to a worker and back (no copy): nothing may
 * use them meanwhile; use `Packed.chunk` and `Packed.out` afterwards.
 */
export async function zstdPack(
  chunk: Uint8Array,
  level: number,
  room: { head: number; tail: number },
  out: Uint8Array,
): Promise<Packed> {
  // Read before the move: a detached view reports offset and length 0.
  const { byteOffset: off, length: len } = chunk;
  const { byteOffset: ooff, length: olen } = out;
  let n: number | "sample" | "larger";
  let back = { chunk, out };
  if (!pool) n = compressJob(zlib, chunk, level, out, room.head);
  else {
    const [buf, obuf] = [chunk.buffer as ArrayBuffer, out.buffer as ArrayBuffer];
    const reply = await pool.run({
      op: "c",
      buf,
      off,
      len,
      obuf,
      ooff,
      olen,
      level,
      head: room.head,
    }, [
      buf,
      obuf,
    ]);
    back = {
      chunk: new Uint8Array(reply.buf as ArrayBuffer, off, len),
      out: new Uint8Array(reply.obuf as ArrayBuffer, ooff, olen),
    };
    if (reply.error !== undefined) throw new Error(`zstd compression failed: ${reply.error}`);
    n = reply.n as number | "sample" | "larger";
  }
  if (typeof n === "string") return { ...back, skipped: n };
  return { ...back, frame: back.out.subarray(room.head, room.head + n) };
}

/**
 * Decompress a frame into `target` (whose length is the bound: a chunk's recorded size).
 * The frame is copied to the worker (its buffer may be shared); `target`'s buffer moves there
 * and back: use the returned view, exactly the bytes written.
 * @throws {ZstdError} the frame expands beyond the bound, or is not a frame zstd decodes
 */
export async function zstdUnpack(frame: Uint8Array, target: Uint8Array): Promise<Uint8Array> {
  if (!pool) {
    try {
      return target.subarray(0, decompressJob(zlib, frame, target, ZSTD_WINDOW_LOG_MAX));
    } catch (e) {
      throw zstdError((e as Error).message, (e as { code?: string }).code);
    }
  }
  const input = frame.slice();
  const { byteOffset: toff, length: tlen } = target;
  const t = target.buffer as ArrayBuffer;
  const reply = await pool.run(
    { op: "d", buf: input.buffer, target: t, toff, tlen, wlog: ZSTD_WINDOW_LOG_MAX },
    [input.buffer, t],
  );
  if (reply.error !== undefined) throw zstdError(String(reply.error), reply.code as string);
  return new Uint8Array(reply.target as ArrayBuffer, toff, reply.n as number);
}

function zstdError(message: string, code?: string): ZstdError {
  return code === "ERR_BUFFER_TOO_LARGE"
    ? new ZstdError("expands", "it decompresses to more bytes than its record's size")
    : new ZstdError("corrupt", message.replace(/^Zstd decompress error: /, ""));
}

/** The worker's message loop (plain JS: it runs as text in the worker). */
const WORKER_LOOP = `
self.onmessage = ({ data: m }) => {
  const back = m.op === "c" ? [m.buf, m.obuf] : [m.target];
  const reply = m.op === "c" ? { buf: m.buf, obuf: m.obuf } : { target: m.target };
  try {
    reply.n = m.op === "c"
      ? compressJob(z, new Uint8Array(m.buf, m.off, m.len), m.level,
          new Uint8Array(m.obuf, m.ooff, m.olen), m.head)
      : decompressJob(z, new Uint8Array(m.buf), new Uint8Array(m.target, m.toff, m.tlen), m.wlog);
  } catch (e) {
    reply.error = String(e && e.message !== undefined ? e.message : e);
    reply.code = e && e.code;
  }
  self.postMessage(reply, back);
};
`;
