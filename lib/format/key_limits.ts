/**
 * How long a stream's names may be for the store that holds it. Pure.
 *
 * S3 object keys are at most 1024 bytes of UTF-8; a local store maps each key segment to a
 * file or directory name, at most 255 bytes on Linux file systems (NAME_MAX), and a whole path
 * to at most 4095 (PATH_MAX less the NUL). Past these the store fails with an error about some
 * object key, after the first requests (for `put`, possibly after chunks were uploaded), so the
 * names are checked up front against the longest key s3duct writes for the stream:
 * `{prefix}{name}/g1a2b3c4d/chunk-NNNNNNNNNN` (a `--clobber` generation and a chunk index of up
 * to 10 digits: 2^32 chunks, the format 2 nonce budget, is 10 digits).
 */

/** S3's limit on an object key, in UTF-8 bytes. */
export const S3_MAX_KEY_BYTES = 1024;
/** A file or directory name on Linux file systems, in bytes. */
export const LOCAL_MAX_SEGMENT_BYTES = 255;
/** A whole path on Linux, in bytes (PATH_MAX 4096 includes the terminating NUL). */
export const LOCAL_MAX_PATH_BYTES = 4095;

/** The longest key suffix after `{prefix}{name}`: `/g1a2b3c4d/chunk-` and 10 digits. */
export const LONGEST_KEY_SUFFIX = "/g00000000/chunk-0000000000";

/** Which store the names are for. */
export type KeyStore = { kind: "s3" } | { kind: "local"; root: string; bucket: string };

function bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * Why `{prefix}{name}` is too long for the store, or undefined. `prefix` is normalised (`""` or
 * ending in `/`); `name` may be empty when only a prefix is given (list, cleanup).
 */
export function keyLengthProblem(
  prefix: string,
  name: string,
  store: KeyStore,
): string | undefined {
  const path = prefix + name;
  const longest = path + LONGEST_KEY_SUFFIX;
  if (store.kind === "s3") {
    const n = bytes(longest);
    if (n <= S3_MAX_KEY_BYTES) return undefined;
    const room = S3_MAX_KEY_BYTES - bytes(LONGEST_KEY_SUFFIX);
    return `${subject(prefix, name)} is ${bytes(path)} bytes long; S3 keys are at most ` +
      `${S3_MAX_KEY_BYTES} bytes and s3duct adds up to ${bytes(LONGEST_KEY_SUFFIX)}, so ` +
      `prefix and name together may have ${room}`;
  }
  for (const seg of path.split("/")) {
    const n = bytes(seg);
    if (n > LOCAL_MAX_SEGMENT_BYTES) {
      return `${subject(prefix, name)} has a path segment of ${n} bytes ('${
        seg.slice(0, 24)
      }...'); ` +
        `a local store's file names are at most ${LOCAL_MAX_SEGMENT_BYTES} bytes`;
    }
  }
  const full = `${store.root.replace(/\/+$/, "")}/${store.bucket}/${longest}`;
  const n = bytes(full);
  if (n > LOCAL_MAX_PATH_BYTES) {
    return `${
      subject(prefix, name)
    } is too long for the local store: its longest object path would ` +
      `be ${n} bytes, over the ${LOCAL_MAX_PATH_BYTES} a path may have`;
  }
  return undefined;
}

function subject(prefix: string, name: string): string {
  return name === "" ? "--prefix" : prefix === "" ? "--name" : "--prefix with --name";
}
