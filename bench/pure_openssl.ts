/**
 * The system OpenSSL's one-shot rates, in-process through Deno FFI (synchronous calls): the
 * fastest hashing and AES on this machine, so the "pure" ceiling is not set by a slow library.
 * Written here, not imported from lib/, so the reference does not move with the code under test.
 */
const SYMBOLS = {
  EVP_sha256: { parameters: [], result: "pointer" },
  EVP_sha3_256: { parameters: [], result: "pointer" },
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_Digest: {
    parameters: ["buffer", "usize", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_EncryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  EVP_EncryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** undefined when libcrypto.so.3 cannot be opened (no OpenSSL 3, or no --allow-ffi). */
export function opensslOneShot():
  | {
    sha256(b: Uint8Array): void;
    sha3(b: Uint8Array): void;
    aesGcm(b: Uint8Array, out: Uint8Array): void;
  }
  | undefined {
  let l: Lib;
  try {
    l = Deno.dlopen("libcrypto.so.3", SYMBOLS).symbols;
  } catch {
    return undefined;
  }
  const md = new Uint8Array(64);
  const digest = (type: Deno.PointerValue) => (b: Uint8Array) => {
    if (l.EVP_Digest(b as Uint8Array<ArrayBuffer>, BigInt(b.length), md, null, type, null) !== 1) {
      throw new Error("EVP_Digest failed");
    }
  };
  const key = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const outl = new Uint8Array(4);
  const MAX = 1 << 30;
  return {
    sha256: digest(l.EVP_sha256()),
    sha3: digest(l.EVP_sha3_256()),
    aesGcm(b, out) {
      const ctx = l.EVP_CIPHER_CTX_new();
      try {
        if (l.EVP_EncryptInit_ex(ctx, l.EVP_aes_256_gcm(), null, key, iv) !== 1) {
          throw new Error("EVP_EncryptInit_ex failed");
        }
        for (let o = 0; o < b.length; o += MAX) {
          const n = Math.min(MAX, b.length - o);
          const src = b.subarray(o) as Uint8Array<ArrayBuffer>;
          if (
            l.EVP_EncryptUpdate(ctx, out.subarray(o) as Uint8Array<ArrayBuffer>, outl, src, n) !== 1
          ) {
            throw new Error("EVP_EncryptUpdate failed");
          }
        }
        l.EVP_EncryptFinal_ex(ctx, md, outl);
      } finally {
        l.EVP_CIPHER_CTX_free(ctx);
      }
    },
  };
}
