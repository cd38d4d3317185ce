/**
 * Writing to stdout (stream bytes, listings, keys) with one meaning per failure: the reader
 * went away (`| head`) is OutputClosedError (141, quiet), anything else that stops the bytes
 * (a full disk, a bad descriptor, an I/O error) is OutputError (12), never "unexpected failure".
 */
import { OutputClosedError, OutputError } from "../errors.ts";

/** Something to write to; Deno.stdout by default, injectable for tests. */
export interface Writable {
  /** Writes some of `p`, resolving to how many bytes (`Deno.Writer`). */
  write(p: Uint8Array): Promise<number>;
}

/** Write all of `bytes` to stdout (or `to`), turning write failures into typed errors. */
export async function writeStdout(bytes: Uint8Array, to: Writable = Deno.stdout): Promise<void> {
  let off = 0;
  try {
    while (off < bytes.length) off += await to.write(bytes.subarray(off));
  } catch (e) {
    throw outputFailure(e);
  }
}

/** The typed error for a failed write to stdout. */
export function outputFailure(e: unknown): Error {
  if (e instanceof OutputClosedError || e instanceof OutputError) return e;
  if (e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset) {
    return new OutputClosedError();
  }
  // Deno reports ENOSPC and EIO as plain Errors carrying `code`; EBADF as BadResource.
  const code = (e as { code?: unknown })?.code;
  const why = code === "ENOSPC"
    ? "no space left on the device"
    : e instanceof Error
    ? e.message.split("\n")[0]
    : String(e);
  return new OutputError(`cannot write to stdout: ${why}`, { cause: e });
}

const O_ACCMODE = 3;
const O_RDWR = 2;

/**
 * Whether stdout was closed when s3duct started (`s3duct get ... >&-`). The runtime (Rust's
 * start-up code) reopens a closed descriptor 0-2 on /dev/null, read-write, so every write would
 * then "succeed" and a restore would silently go nowhere. A shell's `> /dev/null` opens it
 * write-only, so /dev/null opened read-write on fd 1 is the runtime's doing (or an unusual
 * `1<>/dev/null`). Without read access to /proc (least-privilege runs) this says false.
 */
export function stdoutWasClosed(): boolean {
  try {
    // Asked first: without the permission Deno would prompt on a terminal, not just refuse.
    for (const path of ["/proc/self/fd/1", "/proc/self/fdinfo/1"]) {
      if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return false;
    }
    if (Deno.readLinkSync("/proc/self/fd/1") !== "/dev/null") return false;
    const info = Deno.readTextFileSync("/proc/self/fdinfo/1");
    const flags = /^flags:\s*([0-7]+)/m.exec(info)?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_ACCMODE) === O_RDWR;
  } catch {
    return false;
  }
}

/** OutputError unless stdout is usable; for commands whose only product is stdout. */
export function requireOpenStdout(): void {
  if (stdoutWasClosed()) {
    throw new OutputError(
      "stdout is closed (the runtime put /dev/null there); redirect it to a file or a pipe",
    );
  }
}
