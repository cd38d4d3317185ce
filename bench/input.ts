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

/**
 * A synthetic SQL dump of `size` bytes: `INSERT` lines whose columns repeat the way a real
 * table's do (a few names, cities, statuses, dates; increasing ids; amounts from a PRNG), so
 * zstd -3 shrinks it ~10x, in the range of real dumps. Deterministic (xorshift from `seed`),
 * built in 16 MiB blocks, SHA-256 computed on the way.
 */
export async function makeSqlInput(path: string, size: number, seed = 1): Promise<Input> {
  const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"];
  const cities = ["Berlin", "Paris", "Lisbon", "Oslo", "Madrid", "Rome", "Vienna", "Prague"];
  const states = ["active", "active", "active", "suspended", "closed"];
  let x = (seed * 2654435761) >>> 0 || 1;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const pad = (n: number) => String(n).padStart(2, "0");
  const hash = createHash("sha256");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const block = new Uint8Array(BLOCK);
  let id = 1;
  try {
    for (let done = 0; done < size;) {
      let fill = 0;
      // Whole lines into the block; the last block is cut at `size`.
      for (;;) {
        const name = names[rnd(names.length)];
        const line = "INSERT INTO customers (id, name, email, city, balance, created_at, " +
          `status) VALUES (${id++}, '${name}', '${name}${rnd(1000)}@example.com', ` +
          `'${cities[rnd(cities.length)]}', ${rnd(1000000) / 100}, '2025-${pad(1 + rnd(12))}-` +
          `${pad(1 + rnd(28))} ${pad(rnd(24))}:${pad(rnd(60))}:00', '${states[rnd(5)]}');\n`;
        if (fill + line.length * 3 > BLOCK) break;
        fill += enc.encodeInto(line, block.subarray(fill)).written;
      }
      const n = Math.min(fill, size - done);
      hash.update(block.subarray(0, n));
      for (let o = 0; o < n;) o += await file.write(block.subarray(o, n));
      done += n;
    }
  } finally {
    file.close();
  }
  return { path, size, sha256: hash.digest("hex") };
}
