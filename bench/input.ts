/**
 * Benchmark input: `size` bytes from a fast deterministic PRNG (the AES-128-CTR keystream of a
 * fixed seed, several GB/s with AES-NI) written once to a file, with its SHA-256 computed on the
 * way. Random bytes so nothing downstream (compression, dedup in the server) can cheat.
 */
import { createCipheriv, createHash } from "node:crypto";

export interface Input {
  path: string;
  size: number;
  sha256: string;
}

const BLOCK = 16 * 1024 * 1024;

export async function makeInput(path: string, size: number, seed = "s3duct-bench"): Promise<Input> {
  const key = createHash("sha256").update(seed).digest().subarray(0, 16);
  const ctr = createCipheriv("aes-128-ctr", key, new Uint8Array(16));
  const zeros = new Uint8Array(BLOCK);
  const hash = createHash("sha256");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(BLOCK, size - done);
      const block = new Uint8Array(ctr.update(zeros.subarray(0, n)));
      hash.update(block);
      for (let o = 0; o < n;) o += await file.write(block.subarray(o));
      done += n;
    }
  } finally {
    file.close();
  }
  return { path, size, sha256: hash.digest("hex") };
}
