/**
 * AES-256-GCM over WebCrypto in 8 MiB pieces, for the portable path (no OpenSSL).
 *
 * WebCrypto seals and opens a message in one call, and each call copies its input into a fresh
 * buffer and returns another: for a 64 MiB chunk that is 128 MiB of new pages, page-faulted in
 * and freed on every chunk (measured: 1.8 s of system time per GiB sealed, more than the AES
 * itself). GCM is CTR encryption plus a GHASH over the ciphertext, and both can be done in pieces
 * with WebCrypto: AES-CTR with GCM's counter (`length: 32` is GCM's inc32), and GHASH by sealing
 * an empty message whose associated data is the piece, its tag being `E(J0) ^ GHASH(piece)`.
 * GHASH is linear, so the pieces' hashes combine with a few multiplications in GF(2^128) into the
 * tag of the whole message, bit for bit the tag a one-call AES-GCM gives (tested against it).
 * @module
 */

/** Bytes per WebCrypto call: a multiple of the 16-byte block, small enough to reuse heap pages. */
export const GCM_PIECE = 8 * 1024 * 1024;

/** A 128-bit field element as four big-endian 32-bit words, most significant first. */
export type Block = readonly [number, number, number, number];

/** A key imported for both halves of GCM, with the GHASH key and its piece power cached. */
export interface PiecedGcmKey {
  /** The key for AES-CTR (the GCM keystream). */
  readonly ctr: CryptoKey;
  /** The key for AES-GCM (GHASH of a piece, and E(J0)). */
  readonly gcm: CryptoKey;
  /** H = E(0^128), GHASH's multiplier: secret (it forges tags), so only branch-free math on it. */
  readonly h: Block;
  /** H^(GCM_PIECE / 16): one whole piece of blocks. */
  readonly hPiece: Block;
}

/**
 * Multiply in GCM's GF(2^128) (NIST SP 800-38D, algorithm 1), without branches or table
 * look-ups on the values: masks instead of ifs, so its time says nothing about H.
 */
function mul(x: Block, y: Block): Block {
  let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
  let [v0, v1, v2, v3] = y;
  for (let i = 0; i < 128; i++) {
    const m = -((x[i >>> 5] >>> (31 - (i & 31))) & 1);
    z0 ^= v0 & m;
    z1 ^= v1 & m;
    z2 ^= v2 & m;
    z3 ^= v3 & m;
    const r = -(v3 & 1);
    v3 = (v3 >>> 1) | (v2 << 31);
    v2 = (v2 >>> 1) | (v1 << 31);
    v1 = (v1 >>> 1) | (v0 << 31);
    v0 = (v0 >>> 1) ^ (0xe1000000 & r);
  }
  return [z0 >>> 0, z1 >>> 0, z2 >>> 0, z3 >>> 0];
}

function xor(a: Block, b: Block): Block {
  return [(a[0] ^ b[0]) >>> 0, (a[1] ^ b[1]) >>> 0, (a[2] ^ b[2]) >>> 0, (a[3] ^ b[3]) >>> 0];
}

/** The field's one, in GCM's reflected bit order. */
const ONE: Block = [0x80000000, 0, 0, 0];
const ZERO: Block = [0, 0, 0, 0];

function pow(h: Block, n: number): Block {
  let result = ONE;
  let base = h;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2) result = mul(result, base); // branches on the public exponent only
    base = mul(base, base);
  }
  return result;
}

function toBlock(b: Uint8Array): Block {
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return [v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(12)];
}

function toBytes(x: Block, out: Uint8Array): void {
  const v = new DataView(out.buffer, out.byteOffset, 16);
  x.forEach((w, i) => v.setUint32(4 * i, w));
}

/** GCM's length block: bit lengths of the associated data and of the ciphertext, 64 bits each. */
function lengths(aadBytes: number, textBytes: number): Block {
  const a = aadBytes * 8, t = textBytes * 8;
  return [Math.floor(a / 2 ** 32), a % 2 ** 32, Math.floor(t / 2 ** 32), t % 2 ** 32];
}

/**
 * Import a raw 32-byte key for {@linkcode gcmSealPieces} and {@linkcode gcmOpenPieces}.
 * @param raw the AES-256 key
 * @returns the key, both ways, with H computed
 */
export async function importPiecedGcmKey(raw: Uint8Array): Promise<PiecedGcmKey> {
  const bytes = raw as Uint8Array<ArrayBuffer>;
  const ctr = await crypto.subtle.importKey("raw", bytes, "AES-CTR", false, ["encrypt"]);
  const gcm = await crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt"]);
  const zero = new Uint8Array(16);
  const hBlock = await crypto.subtle.encrypt(
    { name: "AES-CTR", counter: zero, length: 128 },
    ctr,
    zero,
  );
  const h = toBlock(new Uint8Array(hBlock));
  return { ctr, gcm, h, hPiece: pow(h, GCM_PIECE / 16) };
}

/** The tag of sealing nothing with `aad`: E(J0) ^ GHASH(pad(aad) || lengths(aad, 0)). */
async function emptyTag(key: PiecedGcmKey, nonce: Uint8Array, aad?: Uint8Array): Promise<Block> {
  const params = {
    name: "AES-GCM",
    iv: nonce as Uint8Array<ArrayBuffer>,
    ...(aad ? { additionalData: aad as Uint8Array<ArrayBuffer> } : {}),
  };
  const tag = await crypto.subtle.encrypt(params, key.gcm, new Uint8Array(0));
  return toBlock(new Uint8Array(tag));
}

/** Folds the GHASHes of consecutive pieces, in order, into the whole message's GHASH. */
class GhashFold {
  #acc: Block = ZERO;
  constructor(readonly key: PiecedGcmKey, readonly ej0: Block) {}

  /** Add the piece `bytes` (a whole number of blocks unless it is the last of its part). */
  async add(nonce: Uint8Array, bytes: Uint8Array): Promise<void> {
    const g = xor(await emptyTag(this.key, nonce, bytes), this.ej0);
    const blocks = Math.ceil(bytes.length / 16);
    const power = blocks * 16 === GCM_PIECE ? this.key.hPiece : pow(this.key.h, blocks);
    this.#acc = xor(xor(mul(this.#acc, power), g), mul(lengths(bytes.length, 0), this.key.h));
  }

  /** The tag of the whole message: E(J0) ^ GHASH(aad, text, lengths). */
  tag(aadBytes: number, textBytes: number): Block {
    return xor(xor(this.ej0, this.#acc), mul(lengths(aadBytes, textBytes), this.key.h));
  }
}

/** XOR `from` into `to` with the CTR keystream for GCM block `2 + offset / 16` onwards. */
async function ctrPiece(
  key: PiecedGcmKey,
  nonce: Uint8Array,
  offset: number,
  from: Uint8Array,
  to: Uint8Array,
): Promise<void> {
  const counter = new Uint8Array(16);
  counter.set(nonce);
  new DataView(counter.buffer).setUint32(12, (2 + offset / 16) >>> 0);
  const out = await crypto.subtle.encrypt(
    { name: "AES-CTR", counter, length: 32 },
    key.ctr,
    from as Uint8Array<ArrayBuffer>,
  );
  to.set(new Uint8Array(out));
  out.transfer?.(0); // free its pages now, not at the next collection
}

async function fold(
  key: PiecedGcmKey,
  nonce: Uint8Array,
  aad: Uint8Array | undefined,
): Promise<GhashFold> {
  const f = new GhashFold(key, await emptyTag(key, nonce));
  if (aad?.length) await f.add(nonce, aad);
  return f;
}

/**
 * Seal `plaintext` into `out` (same length) and return the 16-byte tag, as AES-GCM does.
 * @param key from {@linkcode importPiecedGcmKey}
 * @param nonce 12 bytes, never reused with this key
 * @param plaintext the message
 * @param out where the ciphertext goes (`plaintext.length` bytes): the plaintext's own memory
 *   (sealing in place) or memory apart from it, never a shifted overlap
 * @param aad associated data, authenticated and not encrypted
 * @returns the tag
 */
export async function gcmSealPieces(
  key: PiecedGcmKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  aad?: Uint8Array,
): Promise<Uint8Array> {
  const f = await fold(key, nonce, aad);
  let hashing: Promise<void> = Promise.resolve();
  try {
    for (let o = 0; o < plaintext.length; o += GCM_PIECE) {
      const end = Math.min(plaintext.length, o + GCM_PIECE);
      await ctrPiece(key, nonce, o, plaintext.subarray(o, end), out.subarray(o, end));
      await hashing; // pieces fold in order; this piece's CTR ran beside the last one's GHASH
      hashing = f.add(nonce, out.subarray(o, end));
    }
  } finally {
    // A failed CTR call must not leave the last GHASH's rejection unheard (it kills the process).
    await hashing.catch(() => {});
  }
  await hashing;
  const tag = new Uint8Array(16);
  toBytes(f.tag(aad?.length ?? 0, plaintext.length), tag);
  return tag;
}

/**
 * Check `tag` over `ciphertext` and decrypt it into `out` (same length).
 * @param key from {@linkcode importPiecedGcmKey}
 * @param nonce the 12 bytes it was sealed with
 * @param ciphertext the sealed message without nonce and tag
 * @param tag the 16-byte tag
 * @param out where the plaintext goes; its content is meaningless when false is returned
 * @param aad the associated data it was sealed with
 * @returns whether the tag verified
 */
export async function gcmOpenPieces(
  key: PiecedGcmKey,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  out: Uint8Array,
  aad?: Uint8Array,
): Promise<boolean> {
  const f = await fold(key, nonce, aad);
  for (let o = 0; o < ciphertext.length; o += GCM_PIECE) {
    const piece = ciphertext.subarray(o, Math.min(ciphertext.length, o + GCM_PIECE));
    // Both read only the ciphertext: they run at once, on two of Deno's blocking threads.
    await Promise.all([f.add(nonce, piece), ctrPiece(key, nonce, o, piece, out.subarray(o))]);
  }
  const want = new Uint8Array(16);
  toBytes(f.tag(aad?.length ?? 0, ciphertext.length), want);
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= want[i] ^ tag[i];
  return tag.length === 16 && diff === 0;
}
