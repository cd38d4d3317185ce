/**
 * Inputs the in-process pipeline tests share: repeatable bytes, a reader over them, and a put
 * job of stream `s` under prefix `p`.
 */
import { plainCipher } from "../../lib/crypto/cipher.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import { Concurrency } from "../../lib/pipeline/concurrency.ts";
import type { PutJob } from "../../lib/pipeline/put_stream.ts";
import type { ByteReader } from "../../lib/pipeline/source.ts";
import type { Store } from "../../lib/store/store.ts";
import { Log } from "../../lib/ui/log.ts";

/** `n` pseudo-random bytes, the same for the same `seed` (a linear congruential generator). */
export function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A byte source handing out `data` as stdin would, then the end. */
export function reader(data: Uint8Array): ByteReader {
  let off = 0;
  return {
    read(buf: Uint8Array): Promise<number | null> {
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(buf.length, data.length - off);
      buf.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
}

/** A plain put of `data` as stream `s` (prefix `p`): 1 KiB chunks, 3 workers, no output. */
export function testPutJob(store: Store, data: Uint8Array, extra: Partial<PutJob> = {}): PutJob {
  return {
    store,
    layout: new StreamLayout("s", "p"),
    input: reader(data),
    chunkSize: 1024,
    cipher: plainCipher,
    encryptManifest: false,
    description: "",
    tags: {},
    storageClass: "STANDARD",
    clobber: false,
    concurrency: new Concurrency({ fixed: 3, min: 3, max: 3 }),
    log: new Log("quiet", () => {}),
    ...extra,
  };
}
