/**
 * SHA-256 + SHA3-256 of chunks and of the whole stream (spec §5.1).
 * SHA-256 uses node:crypto (SHA-NI, ~1.6 GB/s here); SHA3-256 uses hash-wasm, the fastest
 * correct option measured on this machine (~320 MiB/s vs ~215 MiB/s for node:crypto).
 */
import { createHash, type Hash } from "node:crypto";
import { createSHA3, type IHasher } from "hash-wasm";

/** Both digests of some bytes, raw. */
export interface DualDigest {
  sha256: Uint8Array;
  sha3: Uint8Array;
}

/** Incremental SHA-256 + SHA3-256. */
export class DualHasher {
  #sha256: Hash;
  #sha3: IHasher;
  private constructor(sha3: IHasher) {
    this.#sha256 = createHash("sha256");
    this.#sha3 = sha3;
  }

  /** A fresh hasher (async because the WASM module is instantiated once per hasher). */
  static async create(): Promise<DualHasher> {
    const sha3 = await createSHA3(256);
    sha3.init();
    return new DualHasher(sha3);
  }

  update(bytes: Uint8Array): this {
    this.#sha256.update(bytes);
    this.#sha3.update(bytes);
    return this;
  }

  /** Digest and reset, so one hasher can serve chunk after chunk. */
  digest(): DualDigest {
    const out = {
      sha256: new Uint8Array(this.#sha256.digest()),
      sha3: this.#sha3.digest("binary"),
    };
    this.#sha256 = createHash("sha256");
    this.#sha3.init();
    return out;
  }
}

/** SHA-256 of some bytes (raw), for payload checksums. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** MD5 of some bytes as lower-case hex (S3 ETags of single-part objects). */
export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}
