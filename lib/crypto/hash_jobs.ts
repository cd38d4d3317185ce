/**
 * What a hashing worker runs (hash_pool.ts): SHA-256 (node:crypto) and SHA3-256 (hash-wasm's
 * WASM module, posted in compiled), fed piece by piece from a shared slab. The message loop is
 * sent to the worker as its own source text (`Function.prototype.toString`), so it uses nothing
 * from its scope but its parameters and declares everything it needs inside.
 * @module
 */

/** What the loop uses of node:crypto. */
export interface NodeHash {
  /** node:crypto's createHash. */
  createHash(alg: string): {
    update(b: Uint8Array): unknown;
    digest(): Uint8Array;
  };
}

/** A message to a hashing worker. */
export interface HashMessage {
  /** "init" (module and slab), "dual" (one buffer's digests), "stream" (a running digest). */
  op: "init" | "dual" | "stream";
  /** init: hash-wasm's SHA3 module, compiled. */
  module?: WebAssembly.Module;
  /** init: the slab pieces are copied into. */
  slab?: SharedArrayBuffer;
  /** stream: which running digest. */
  id?: number;
  /** Bytes of the slab holding this piece. */
  length?: number;
  /** dual/stream: this piece starts a new digest (dual: always on the first piece). */
  first?: boolean;
  /** dual/stream: answer with the digests after this piece. */
  last?: boolean;
}

/** One running SHA-256 + SHA3-256 digest (a WASM instance holds SHA3's state). */
export interface DualState {
  /** The SHA3 instance's exports (hash-wasm's Hash_* functions and its memory). */
  ex: Record<string, unknown>;
  /** The running SHA-256. */
  sha256: ReturnType<NodeHash["createHash"]>;
}

/** Starting, feeding and finishing a {@linkcode DualState}, as {@linkcode dualHasher} makes them. */
export interface DualHasher {
  /** A new digest of nothing yet. */
  fresh(): DualState;
  /** Add `bytes` to both digests. */
  feed(s: DualState, bytes: Uint8Array): void;
  /** Both digests of all that was fed. */
  finish(s: DualState): { sha256: Uint8Array; sha3: Uint8Array };
}

/**
 * SHA-256 from `crypto` and SHA3-256 from hash-wasm's module `mod`, side by side. Sent to the
 * worker as source text like {@linkcode hashLoop}: it uses nothing but its parameters.
 */
export function dualHasher(crypto: NodeHash, mod: () => WebAssembly.Module): DualHasher {
  const fresh = () => {
    const ex = new WebAssembly.Instance(mod(), {}).exports as Record<string, unknown>;
    (ex.Hash_Init as (bits: number) => void)(256);
    return { ex, sha256: crypto.createHash("sha256") };
  };
  const feed = (s: DualState, bytes: Uint8Array) => {
    s.sha256.update(bytes);
    const memory = s.ex.memory as WebAssembly.Memory;
    const at = (s.ex.Hash_GetBuffer as () => number)();
    for (let off = 0; off < bytes.length; off += 16384) {
      const piece = bytes.subarray(off, off + 16384);
      new Uint8Array(memory.buffer, at, piece.length).set(piece);
      (s.ex.Hash_Update as (n: number) => void)(piece.length);
    }
  };
  const finish = (s: DualState) => {
    (s.ex.Hash_Final as (padding: number) => void)(0x06);
    const memory = s.ex.memory as WebAssembly.Memory;
    const at = (s.ex.Hash_GetBuffer as () => number)();
    return {
      sha256: new Uint8Array(s.sha256.digest()),
      sha3: new Uint8Array(memory.buffer, at, 32).slice(),
    };
  };
  return { fresh, feed, finish };
}

/**
 * The worker's message loop: `post` answers each message with `{ok}` or, after a `last` piece,
 * `{sha256, sha3}`; a failure answers `{error}`. `hasher` is {@linkcode dualHasher} (passed in,
 * since the loop may use nothing from its scope).
 */
export function hashLoop(
  crypto: NodeHash,
  post: (m: unknown) => void,
  hasher: typeof dualHasher,
): (m: HashMessage) => void {
  let slab: Uint8Array = new Uint8Array(0);
  let mod: WebAssembly.Module | undefined;
  const { fresh, feed, finish } = hasher(crypto, () => mod!);
  // One WASM instance per running digest: hash-wasm keeps its state in the instance's memory.
  const states = new Map<number, DualState>();
  return (m) => {
    try {
      if (m.op === "init") {
        mod = m.module;
        slab = new Uint8Array(m.slab!);
        post({ ok: true });
        return;
      }
      const key = m.op === "dual" ? -1 : m.id!;
      if (m.first) states.set(key, fresh());
      // A piece that continues a digest this worker does not hold: never start afresh silently.
      if (!states.has(key)) throw new Error(`no running digest ${key} in this worker`);
      const s = states.get(key)!;
      feed(s, slab.subarray(0, m.length));
      if (!m.last) {
        post({ ok: true });
        return;
      }
      const out = finish(s);
      // The caller starts its next digest with `first`: nothing to keep meanwhile.
      states.delete(key);
      post(out);
    } catch (e) {
      post({ error: String(e) });
    }
  };
}
