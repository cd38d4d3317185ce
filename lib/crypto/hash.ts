/**
 * SHA-256 + SHA3-256 of chunks and of the whole stream (spec §5.1).
 * With OpenSSL (openssl.ts) both run off the JS thread, in parallel with each other and with
 * sealing. Without it: SHA-256 from node:crypto (SHA-NI) and SHA3-256 from hash-wasm, the
 * fastest portable options measured here (~320 MiB/s vs ~215 MiB/s for node:crypto's SHA3),
 * on worker threads (hash_pool.ts) for buffers big enough to be worth the trip.
 */
import { createHash, type Hash } from "node:crypto";
import { createSHA3, type IHasher } from "hash-wasm";
import { digest as nativeDigest, NativeDigest, openssl } from "./openssl.ts";
import { captureSha3Module, HashPool } from "./hash_pool.ts";
import { toHex } from "../format/chain.ts";

/** Below this a buffer is hashed in-thread: a worker's round trip costs more than the work. */
const POOL_MIN = 256 * 1024;

let pool: Promise<HashPool | undefined> | undefined;

/**
 * The portable path's hashing workers (undefined where they cannot run). Made before any other
 * SHA3 hasher of the process: it catches hash-wasm's module as that is compiled.
 */
function hashPool(): Promise<HashPool | undefined> {
  return pool ??= captureSha3Module().then(
    (m) => m && new HashPool(m, Math.max(2, Math.min(navigator.hardwareConcurrency || 2, 4))),
    () => undefined,
  );
}

/** hash-wasm's SHA3-256, made only after the pool had its chance to catch the module. */
async function wasmSha3(): Promise<IHasher> {
  await hashPool();
  return await createSHA3(256);
}

/** Both digests of some bytes, raw. */
export interface DualDigest {
  /** The 32-byte SHA-256 digest. */
  sha256: Uint8Array;
  /** The 32-byte SHA3-256 digest. */
  sha3: Uint8Array;
}

/** One running digest, fed in pieces; OpenSSL, node:crypto and hash-wasm each provide one. */
export interface Incremental {
  /** Feeds more bytes; await it before the next update or the digest. */
  update(bytes: Uint8Array): Promise<void>;
  /** The digest of everything fed since the last digest, which starts the hasher afresh. */
  digest(): Uint8Array;
}

/** Incremental SHA-256 + SHA3-256; await each update before the next. */
export class DualHasher {
  readonly #a?: Incremental;
  readonly #b?: Incremental;
  readonly #pooled?: PooledStream;
  private constructor(a?: Incremental, b?: Incremental, pooled?: PooledStream) {
    this.#a = a;
    this.#b = b;
    this.#pooled = pooled;
  }

  /**
   * A hasher on OpenSSL when it is available, else on the hashing workers, else on node:crypto
   * and hash-wasm in this thread.
   */
  static async create(): Promise<DualHasher> {
    const l = openssl();
    if (l) return new DualHasher(new NativeDigest(l, "sha256"), new NativeDigest(l, "sha3-256"));
    const p = await hashPool();
    if (p) return new DualHasher(undefined, undefined, new PooledStream(p));
    return new DualHasher(new NodeSha256(), new WasmSha3(await wasmSha3()));
  }

  /** Feeds `bytes` to both digests at once; the caller may reuse `bytes` once it resolves. */
  async update(bytes: Uint8Array): Promise<void> {
    if (this.#pooled) return await this.#pooled.update(bytes);
    await Promise.all([this.#a!.update(bytes), this.#b!.update(bytes)]);
  }

  /** Digest and reset, so one hasher can serve chunk after chunk. */
  async digest(): Promise<DualDigest> {
    if (this.#pooled) return await this.#pooled.digest();
    return { sha256: this.#a!.digest(), sha3: this.#b!.digest() };
  }
}

/**
 * A stream digest in the hashing workers. Small updates (small chunks) are gathered into one
 * buffer first, so a stream of 4 KiB chunks costs one worker trip per MiB, not per chunk.
 */
class PooledStream {
  readonly #s: ReturnType<HashPool["stream"]>;
  readonly #gather = new Uint8Array(1024 * 1024);
  #held = 0;
  constructor(pool: HashPool) {
    this.#s = pool.stream();
  }
  async update(bytes: Uint8Array): Promise<void> {
    if (this.#held + bytes.length <= this.#gather.length) {
      this.#gather.set(bytes, this.#held);
      this.#held += bytes.length;
      return;
    }
    await this.#flush();
    if (bytes.length < this.#gather.length) return await this.update(bytes);
    await this.#s.update(bytes);
  }
  async digest(): Promise<DualDigest> {
    await this.#flush();
    return await this.#s.digest();
  }
  async #flush(): Promise<void> {
    if (this.#held === 0) return;
    const n = this.#held;
    this.#held = 0;
    await this.#s.update(this.#gather.subarray(0, n));
  }
}

/** Incremental SHA-256 alone (what `get` recomputes over the whole stream). */
export function sha256Hasher(): Incremental {
  const l = openssl();
  return l ? new NativeDigest(l, "sha256") : new NodeSha256();
}

let sha3Fallback: Promise<IHasher> | undefined;

/** Both digests of one buffer (the two run in parallel when OpenSSL is there). */
export async function dualDigest(bytes: Uint8Array): Promise<DualDigest> {
  const l = openssl();
  if (l) {
    const [sha256, sha3] = await Promise.all([
      nativeDigest(l, "sha256", bytes),
      nativeDigest(l, "sha3-256", bytes),
    ]);
    return { sha256, sha3 };
  }
  if (bytes.length >= POOL_MIN) {
    const p = await hashPool();
    if (p) return await p.digest(bytes);
  }
  const h = await (sha3Fallback ??= wasmSha3());
  // One hasher serves every caller: init, update and digest run in one synchronous stretch,
  // so no other call can interleave (an await between them once mixed two chunks' states).
  h.init();
  h.update(bytes);
  const sha3 = h.digest("binary");
  return { sha256: await sha256(bytes), sha3 };
}

/** SHA-256 of some bytes (raw), for payload checksums. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  const l = openssl();
  if (l) return await nativeDigest(l, "sha256", bytes);
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** MD5 of some bytes as lower-case hex (S3 ETags of single-part objects). */
export async function md5Hex(bytes: Uint8Array): Promise<string> {
  const l = openssl();
  if (l) return toHex(await nativeDigest(l, "md5", bytes));
  return createHash("md5").update(bytes).digest("hex");
}

class NodeSha256 implements Incremental {
  #h: Hash = createHash("sha256");
  update(bytes: Uint8Array): Promise<void> {
    this.#h.update(bytes);
    return Promise.resolve();
  }
  digest(): Uint8Array {
    const out = new Uint8Array(this.#h.digest());
    this.#h = createHash("sha256");
    return out;
  }
}

class WasmSha3 implements Incremental {
  constructor(private h: IHasher) {
    h.init();
  }
  update(bytes: Uint8Array): Promise<void> {
    this.h.update(bytes);
    return Promise.resolve();
  }
  digest(): Uint8Array {
    const out = this.h.digest("binary");
    this.h.init();
    return out;
  }
}
