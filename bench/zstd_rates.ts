/**
 * The codec's own rates (issue 17.3, README design notes): lib/crypto/zstd.ts compressing at
 * level 3 and decompressing 64 MiB of a synthetic SQL dump and of random bytes, in-process and
 * on the worker pool (one chunk per worker at once), median of 5; and node:zlib's plain
 * zstdCompressSync / zstdDecompressSync over the whole input (what random bytes cost without
 * the probe that skips them).
 *
 *   deno run -A bench/zstd_rates.ts [SIZE_MiB]
 */
import { makeInput, makeSqlInput } from "./input.ts";
import { openZstd, zstdPack, zstdUnpack } from "../lib/crypto/zstd.ts";
import * as zlib from "node:zlib";

const MiB = 1024 * 1024;
const size = Number(Deno.args[0] ?? 64) * MiB;
const room = { head: 12, tail: 16 };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * MB/s of `op` run on `parallel` slots at once (10^6 bytes per second). Each slot's buffers are
 * reused from one run to the next, as the pipeline's pool reuses them.
 */
async function rate(parallel: number, op: (slot: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: parallel }, (_, slot) => op(slot)));
    if (i > 0) times.push(performance.now() - t0); // the first run faults the pages in
  }
  return (parallel * size) / 1e6 / (median(times) / 1000);
}

const tmp = await Deno.makeTempDir({ prefix: "s3duct-zstd-rates-" });
try {
  const inputs = {
    sql: await Deno.readFile((await makeSqlInput(`${tmp}/sql`, size)).path),
    random: await Deno.readFile((await makeInput(`${tmp}/random`, size)).path),
  };
  const workers = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
  console.log(`| input | where | compress MB/s | decompress MB/s | stored / input |`);
  console.log(`| ----- | ----- | ------------- | --------------- | -------------- |`);
  for (const [name, data] of Object.entries(inputs)) {
    for (const pooled of [false, true]) {
      const close = pooled ? openZstd() : undefined;
      try {
        const n = pooled ? workers : 1;
        const slots: { chunk: Uint8Array; out: Uint8Array; target: Uint8Array }[] = Array.from({
          length: n,
        }, () => ({
          chunk: data.slice(),
          out: new Uint8Array(room.head + size + room.tail),
          target: new Uint8Array(size),
        }));
        const c = await rate(n, async (i) => {
          const p = await zstdPack(slots[i].chunk, 3, room, slots[i].out);
          [slots[i].chunk, slots[i].out] = [p.chunk, p.out];
        });
        const first = await zstdPack(data.slice(), 3, room, new Uint8Array(size + 28));
        const frame = first.frame;
        const d = frame
          ? await rate(n, async (i) => {
            const t = slots[i].target;
            slots[i].target = await zstdUnpack(frame, new Uint8Array(t.buffer, 0, size));
          })
          : undefined;
        const where = pooled ? `${workers} workers, ${workers} chunks at once` : "in-process";
        console.log(
          `| ${name} | ${where} | ${c.toFixed(0)} | ${d?.toFixed(0) ?? "– (stored as is)"} | ` +
            `${((frame?.length ?? size) / size).toFixed(3)} |`,
        );
      } finally {
        close?.();
      }
    }
    const params = { [zlib.constants.ZSTD_c_compressionLevel]: 3 };
    const c = await rate(1, () => Promise.resolve(zlib.zstdCompressSync(data, { params })));
    const frame = zlib.zstdCompressSync(data, { params });
    const d = await rate(1, () => Promise.resolve(zlib.zstdDecompressSync(frame)));
    console.log(
      `| ${name} | node:zlib sync, whole input, no probe | ${c.toFixed(0)} | ${d.toFixed(0)} | ` +
        `${(frame.length / size).toFixed(3)} |`,
    );
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
