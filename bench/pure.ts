/**
 * The machine's pure hashing and encryption rates, measured in-process with no I/O: the ceiling
 * the local-directory store is compared against. Independent of lib/ on purpose (the pipeline
 * under test may change; the reference must not).
 *
 * SHA-256 via node:crypto, SHA3-256 via npm:hash-wasm, AES-256-GCM via WebCrypto (one call per
 * block, like one chunk), ChaCha20-Poly1305 via node:crypto in 64 KiB segments (age's STREAM);
 * and the system OpenSSL's SHA-256, SHA3-256 and AES-256-GCM (pure_openssl.ts). Each mode's
 * ceiling takes the fastest implementation of each algorithm.
 */
import { createCipheriv, createHash, randomFillSync } from "node:crypto";
import { createSHA3 } from "hash-wasm";
import { opensslOneShot } from "./pure_openssl.ts";

export const PURE_ALGOS = [
  "sha256",
  "sha3-256",
  "aes-256-gcm",
  "aes-256-gcm-node",
  "chacha20-poly1305",
  "sha256-openssl",
  "sha3-256-openssl",
  "aes-256-gcm-openssl",
] as const;
export type PureAlgo = typeof PURE_ALGOS[number];

/** Seconds per GiB of each algorithm (measured over `total` bytes). */
export type PureTimes = Record<PureAlgo, number>;

const SEGMENT = 64 * 1024;

/**
 * Time each algorithm over `total` bytes, fed as `block`-byte buffers (the same random block);
 * returns seconds per GiB.
 */
export async function measurePure(total: number, block = 64 * 1024 * 1024): Promise<PureTimes> {
  const buf = new Uint8Array(block);
  for (let o = 0; o < block; o += 65536) randomFillSync(buf, o, Math.min(65536, block - o));
  const rounds = Math.max(1, Math.round(total / block));
  const time = async (f: () => void | Promise<void>): Promise<number> => {
    await f(); // warm-up (JIT, wasm instantiation) on one block, not counted
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await f();
    return ((performance.now() - t0) / 1000) * (1024 ** 3 / (rounds * block));
  };
  const sha3 = await createSHA3(256);
  const aesKey = await crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    "AES-GCM",
    false,
    ["encrypt"],
  );
  const chachaKey = crypto.getRandomValues(new Uint8Array(32));
  const nonce = new Uint8Array(12);
  const ossl = opensslOneShot();
  const sealed = new Uint8Array(block);
  return {
    "sha256-openssl": ossl ? await time(() => ossl.sha256(buf)) : NaN,
    "sha3-256-openssl": ossl ? await time(() => ossl.sha3(buf)) : NaN,
    "aes-256-gcm-openssl": ossl ? await time(() => ossl.aesGcm(buf, sealed)) : NaN,
    "sha256": await time(() => {
      createHash("sha256").update(buf).digest();
    }),
    "sha3-256": await time(() => {
      sha3.init();
      sha3.update(buf);
      sha3.digest("binary");
    }),
    "aes-256-gcm": await time(async () => {
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) },
        aesKey,
        buf,
      );
    }),
    "aes-256-gcm-node": await time(() => {
      const c = createCipheriv("aes-256-gcm", chachaKey, nonce, { authTagLength: 16 });
      c.update(buf);
      c.final();
      c.getAuthTag();
    }),
    "chacha20-poly1305": await time(() => {
      for (let o = 0, i = 0; o < block; o += SEGMENT, i++) {
        new DataView(nonce.buffer).setUint32(7, i);
        const c = createCipheriv("chacha20-poly1305", chachaKey, nonce, { authTagLength: 16 });
        c.update(buf.subarray(o, Math.min(block, o + SEGMENT)));
        c.final();
        c.getAuthTag();
      }
    }),
  };
}

/**
 * The same measurement on `workers` threads at once (each over total/workers bytes, all started
 * together): seconds per GiB of the pool = the slowest worker's seconds per GiB / workers, i.e.
 * what all cores together sustain.
 */
export async function measurePureParallel(total: number, workers: number): Promise<PureTimes> {
  const url = new URL("./pure_worker.ts", import.meta.url);
  const each = Math.max(64 * 1024 * 1024, Math.round(total / workers));
  const ws = Array.from({ length: workers }, () => new Worker(url, { type: "module" }));
  try {
    // Every worker runs the algorithms in the same order, so they overlap algorithm by algorithm.
    const results = await Promise.all(ws.map((w) =>
      new Promise<PureTimes>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<PureTimes | { error: string }>) =>
          "error" in e.data ? reject(new Error(e.data.error)) : resolve(e.data);
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
        w.postMessage({ total: each });
      })
    ));
    const out = {} as PureTimes;
    for (const a of PURE_ALGOS) {
      out[a] = Math.max(...results.map((r) => r[a])) / workers;
    }
    return out;
  } finally {
    for (const w of ws) w.terminate();
  }
}

/**
 * Seconds per GiB for one s3duct mode: both hashes, plus the cipher if any, each by the fastest
 * implementation measured.
 */
export function modeSeconds(t: PureTimes, mode: string): number {
  const best = (...a: number[]) => Math.min(...a.filter(Number.isFinite));
  const hashes = best(t["sha256"], t["sha256-openssl"]) +
    best(t["sha3-256"], t["sha3-256-openssl"]);
  if (mode === "aes") {
    return hashes + best(t["aes-256-gcm"], t["aes-256-gcm-node"], t["aes-256-gcm-openssl"]);
  }
  if (mode === "age") return hashes + t["chacha20-poly1305"];
  return hashes;
}
