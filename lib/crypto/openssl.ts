/**
 * The system's OpenSSL libcrypto through Deno FFI, when it is there and --allow-ffi allows it.
 * Measured here: AES-256-GCM 4.4 GB/s and ChaCha20-Poly1305 4.0 GB/s (vs ~100-150 MiB/s for
 * Deno's built-in software AES), SHA3-256 480 MB/s, SHA-256 1.6 GB/s. Big calls are
 * `nonblocking`: they run on Deno's blocking-task threads, so hashing and sealing of different
 * chunks use both cores while the JS thread keeps the network busy.
 * Everything here has a portable fallback (hash.ts, aes.ts, age_stream.ts).
 */

const CANDIDATES = [
  "libcrypto.so.3",
  "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
  "/usr/lib/aarch64-linux-gnu/libcrypto.so.3",
  "/usr/lib64/libcrypto.so.3",
  "/opt/homebrew/lib/libcrypto.3.dylib",
  "/usr/local/lib/libcrypto.3.dylib",
];

/**
 * The libcrypto functions s3duct binds, in `Deno.dlopen` form; `nonblocking` ones run off-thread.
 */
export const SYMBOLS = {
  EVP_sha256: { parameters: [], result: "pointer" },
  EVP_sha3_256: { parameters: [], result: "pointer" },
  EVP_md5: { parameters: [], result: "pointer" },
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_chacha20_poly1305: { parameters: [], result: "pointer" },
  EVP_MD_CTX_new: { parameters: [], result: "pointer" },
  EVP_MD_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_DigestInit_ex: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  EVP_DigestUpdate: {
    parameters: ["pointer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
  EVP_DigestFinal_ex: { parameters: ["pointer", "buffer", "pointer"], result: "i32" },
  EVP_Digest: {
    parameters: ["buffer", "usize", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  EVP_CipherInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_CipherUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  EVP_CipherFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  /** The same function, called synchronously with a null output: feeds AAD. */
  EVP_CipherUpdate_aad: {
    name: "EVP_CipherUpdate",
    parameters: ["pointer", "pointer", "buffer", "buffer", "i32"],
    result: "i32",
  },
} as const;

/** The bound libcrypto functions, as `Deno.dlopen` returns them for {@linkcode SYMBOLS}. */
export type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const CTRL_SET_IVLEN = 0x9;
const CTRL_GET_TAG = 0x10;
const CTRL_SET_TAG = 0x11;
/** EVP_CipherUpdate takes an int length: feed at most this much per call. */
const MAX_CALL = 1 << 30;

/** The digests bound here: chunk and stream hashes, and MD5 for single-part ETags. */
export type DigestName = "sha256" | "sha3-256" | "md5";
/** The AEAD ciphers bound here: AES-GCM for `--key`, ChaCha20-Poly1305 for age payloads. */
export type AeadName = "aes-256-gcm" | "chacha20-poly1305";

let lib: Lib | null | undefined;

/** The bound library, or null when unavailable (no libcrypto, or FFI not permitted). */
export function openssl(): Lib | null {
  if (lib !== undefined) return lib;
  lib = null;
  if (envFlag("S3DUCT_NO_OPENSSL")) return lib;
  for (const path of CANDIDATES) {
    try {
      lib = Deno.dlopen(path, SYMBOLS).symbols;
      break;
    } catch {
      // not here, or --allow-ffi not granted: try the next, then fall back
    }
  }
  return lib;
}

/** An env flag; unreadable (no --allow-env for it) counts as unset. */
function envFlag(name: string): boolean {
  try {
    return Boolean(Deno.env.get(name));
  } catch {
    return false;
  }
}

function md(l: Lib, name: DigestName): Deno.PointerValue {
  return name === "sha256" ? l.EVP_sha256() : name === "md5" ? l.EVP_md5() : l.EVP_sha3_256();
}

/** One-shot digest, off the JS thread. */
export async function digest(l: Lib, name: DigestName, data: Uint8Array): Promise<Uint8Array> {
  const out = new Uint8Array(name === "md5" ? 16 : 32);
  const ok = await l.EVP_Digest(
    data as Uint8Array<ArrayBuffer>,
    BigInt(data.length),
    out,
    null,
    md(l, name),
    null,
  );
  if (ok !== 1) throw new Error(`OpenSSL ${name} failed`);
  return out;
}

/** Incremental digest; updates must not overlap (await each). */
export class NativeDigest {
  readonly #l: Lib;
  readonly #name: DigestName;
  #ctx: Deno.PointerValue;
  /** A fresh OpenSSL context for `name`, held until {@linkcode NativeDigest.free}. */
  constructor(l: Lib, name: DigestName) {
    this.#l = l;
    this.#name = name;
    this.#ctx = l.EVP_MD_CTX_new();
    this.#init();
  }

  #init(): void {
    if (this.#l.EVP_DigestInit_ex(this.#ctx, md(this.#l, this.#name), null) !== 1) {
      throw new Error(`OpenSSL ${this.#name} init failed`);
    }
  }

  /** Feeds `data` off the JS thread; await it before the next update or the digest. */
  async update(data: Uint8Array): Promise<void> {
    if (
      await this.#l.EVP_DigestUpdate(
        this.#ctx,
        data as Uint8Array<ArrayBuffer>,
        BigInt(data.length),
      ) !== 1
    ) {
      throw new Error(`OpenSSL ${this.#name} update failed`);
    }
  }

  /** Digest and reset for reuse. */
  digest(): Uint8Array {
    const out = new Uint8Array(32);
    if (this.#l.EVP_DigestFinal_ex(this.#ctx, out, null) !== 1) {
      throw new Error(`OpenSSL ${this.#name} final failed`);
    }
    this.#init();
    return out;
  }

  /** Releases the OpenSSL context; the digest is unusable afterwards. */
  free(): void {
    this.#l.EVP_MD_CTX_free(this.#ctx);
    this.#ctx = null;
  }
}

/**
 * AEAD seal (encrypt = true) or open: `input` -> `output` (same length), tag out or checked.
 * Returns false when opening fails to authenticate.
 */
export async function aead(
  l: Lib,
  name: AeadName,
  encrypt: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  input: Uint8Array,
  output: Uint8Array,
  tag: Uint8Array,
  aad?: Uint8Array,
): Promise<boolean> {
  const op: AeadOp = { l, ctx: l.EVP_CIPHER_CTX_new(), name, encrypt };
  try {
    aeadInit(op, key, nonce, tag, aad);
    if (!await aeadUpdate(op, input, output)) return false;
    return aeadFinal(op, tag);
  } finally {
    l.EVP_CIPHER_CTX_free(op.ctx);
  }
}

/** One seal or open under way: the library, its cipher context, the cipher and direction. */
interface AeadOp {
  l: Lib;
  ctx: Deno.PointerValue;
  name: AeadName;
  encrypt: boolean;
}

/** Cipher, nonce length, key and nonce; when opening, the tag to check; then the AAD. */
function aeadInit(
  { l, ctx, name, encrypt }: AeadOp,
  key: Uint8Array,
  nonce: Uint8Array,
  tag: Uint8Array,
  aad?: Uint8Array,
): void {
  const enc = encrypt ? 1 : 0;
  const cipher = name === "aes-256-gcm" ? l.EVP_aes_256_gcm() : l.EVP_chacha20_poly1305();
  const outl = new Int32Array(1);
  if (l.EVP_CipherInit_ex(ctx, cipher, null, null, null, enc) !== 1) return fail(name);
  const ivLen = new Uint8Array(0);
  if (l.EVP_CIPHER_CTX_ctrl(ctx, CTRL_SET_IVLEN, nonce.length, ivLen) !== 1) return fail(name);
  const k = key as Uint8Array<ArrayBuffer>;
  const n = nonce as Uint8Array<ArrayBuffer>;
  if (l.EVP_CipherInit_ex(ctx, null, null, k, n, enc) !== 1) return fail(name);
  if (
    !encrypt &&
    l.EVP_CIPHER_CTX_ctrl(ctx, CTRL_SET_TAG, tag.length, tag as Uint8Array<ArrayBuffer>) !== 1
  ) {
    return fail(name);
  }
  if (aad?.length) {
    const a = aad as Uint8Array<ArrayBuffer>;
    if (l.EVP_CipherUpdate_aad(ctx, null, new Uint8Array(outl.buffer), a, a.length) !== 1) {
      return fail(name);
    }
  }
}

/** `input` through the cipher into `output`, MAX_CALL bytes a call; false: opening failed. */
async function aeadUpdate(
  { l, ctx, name, encrypt }: AeadOp,
  input: Uint8Array,
  output: Uint8Array,
): Promise<boolean> {
  const outl = new Int32Array(1);
  for (let off = 0; off < input.length; off += MAX_CALL) {
    const len = Math.min(MAX_CALL, input.length - off);
    const ok = await l.EVP_CipherUpdate(
      ctx,
      output.subarray(off) as Uint8Array<ArrayBuffer>,
      new Uint8Array(outl.buffer),
      input.subarray(off) as Uint8Array<ArrayBuffer>,
      len,
    );
    if (ok !== 1 || outl[0] !== len) return encrypt ? fail(name) : false;
  }
  return true;
}

/** Finish: opening checks the tag (false when it does not authenticate), sealing writes it. */
function aeadFinal({ l, ctx, name, encrypt }: AeadOp, tag: Uint8Array): boolean {
  const outl = new Int32Array(1);
  const scratch = new Uint8Array(32);
  if (l.EVP_CipherFinal_ex(ctx, scratch, new Uint8Array(outl.buffer)) !== 1) {
    return encrypt ? fail(name) : false;
  }
  if (
    encrypt &&
    l.EVP_CIPHER_CTX_ctrl(ctx, CTRL_GET_TAG, tag.length, tag as Uint8Array<ArrayBuffer>) !== 1
  ) {
    return fail(name);
  }
  return true;
}

function fail(name: string): never {
  throw new Error(`OpenSSL ${name} failed`);
}
