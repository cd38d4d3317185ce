/**
 * The zstd codec wrapper (lib/crypto/zstd.ts): round trips in-process and on the worker pool,
 * incompressible chunks passed through, `--compress` values, and decompression bounded by the
 * caller's size whatever a frame declares (a 32 KiB frame of 1 GiB fails fast, unallocated).
 */
import assert from "node:assert/strict";
import { UsageError } from "../../lib/errors.ts";
import {
  openZstd,
  parseCompression,
  ZSTD_DEFAULT_LEVEL,
  ZstdError,
  zstdPack,
  zstdUnpack,
} from "../../lib/crypto/zstd.ts";
import { compressJob, decompressJob, type ZstdLib } from "../../lib/crypto/zstd_jobs.ts";
import * as zlib from "node:zlib";

const MiB = 1024 * 1024;
const ROOM = { head: 12, tail: 16 };

/** Random bytes: nothing to compress. */
function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Repetitive text, like a SQL dump: compresses ~10x. */
function sqlLike(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const enc = new TextEncoder();
  for (let off = 0, id = 0; off < n; id++) {
    const line = enc.encode(
      `INSERT INTO t (id, name, city) VALUES (${id}, 'user${id % 97}', 'city${id % 13}');\n`,
    );
    out.set(line.subarray(0, n - off), off);
    off += line.length;
  }
  return out;
}

/**
 * A hand-made zstd frame of `total` bytes of 'A': RLE blocks of 128 KiB, 4 bytes each, so
 * 1 GiB takes 32 KiB. `declared`: the header states the content size (4-byte field);
 * `windowByte`: the window descriptor (0x38: 2^17; 0xa8: 2^31).
 */
function rleBomb(total: number, opts: { declared?: boolean; windowByte?: number } = {}) {
  const declared = opts.declared ?? true;
  const head = declared ? 10 : 6;
  const blocks = total / 131072;
  const out = new Uint8Array(head + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, declared ? 0x80 : 0x00, opts.windowByte ?? 0x38]);
  if (declared) new DataView(out.buffer).setUint32(6, total, true);
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const header = (131072 << 3) | (1 << 1) | last; // RLE block of 128 KiB
    out.set([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x41], head + i * 4);
  }
  return out;
}

/** zstdPack with an output buffer of the chunk's size plus the room, as put gives it. */
const pack = (chunk: Uint8Array, level = ZSTD_DEFAULT_LEVEL) =>
  zstdPack(chunk, level, ROOM, new Uint8Array(ROOM.head + chunk.length + ROOM.tail));

/** Run `fn` in-process and on the worker pool. */
function bothWays(name: string, fn: () => Promise<void>): void {
  Deno.test(`zstd (in-process): ${name}`, fn);
  Deno.test(`zstd (workers): ${name}`, async () => {
    const close = openZstd();
    try {
      await fn();
    } finally {
      close();
    }
  });
}

bothWays(
  "round trip; the frame lands after the sealer's room in the buffer given; the chunk comes back",
  async () => {
    for (const n of [1000, 3 * MiB, 9 * MiB]) {
      const data = sqlLike(n);
      const input = data.slice();
      const p = await pack(input);
      assert.ok(p.frame, `${n}: compressed`);
      assert.ok(p.frame.length < n / 4, `${n}: ${p.frame.length} bytes`);
      assert.deepEqual(p.chunk, data, "the chunk's bytes are intact");
      // In the buffer given for it, after the sealer's room (sealed in place there).
      assert.equal(p.frame.buffer, p.out.buffer);
      assert.equal(p.frame.byteOffset, ROOM.head);
      assert.equal(p.out.length, ROOM.head + n + ROOM.tail);
      const out = await zstdUnpack(p.frame, new Uint8Array(n));
      assert.equal(out.length, n);
      assert.deepEqual(out, data);
    }
  },
);

bothWays("incompressible chunks are stored as they are, probed or tried", async () => {
  // Over 4 MiB: the probe of 8 x 64 KiB decides, the chunk is not compressed whole.
  const big = random(9 * MiB);
  const p = await pack(big.slice());
  assert.equal(p.frame, undefined);
  assert.equal(p.skipped, "sample");
  assert.deepEqual(p.chunk, big);
  // Smaller: compressed whole, refused because the frame is not smaller.
  for (const n of [1, 100, MiB]) {
    const small = random(n);
    const q = await pack(small.slice());
    assert.equal(q.skipped, "larger", `${n} bytes`);
    assert.deepEqual(q.chunk, small);
  }
  // Random at the probe points but text elsewhere still compresses: the probe only skips
  // chunks whose samples all fail to shrink.
  const mixed = sqlLike(9 * MiB);
  mixed.set(random(64 * 1024), 0);
  assert.ok((await pack(mixed)).frame);
});

bothWays("a frame expanding far beyond the bound fails fast, without allocating it", async () => {
  const bomb = rleBomb(1024 ** 3);
  assert.ok(bomb.length < 40 * 1024);
  const undeclared = rleBomb(1024 ** 3, { declared: false });
  const rss = Deno.memoryUsage().rss;
  const t0 = performance.now();
  await assert.rejects(zstdUnpack(bomb, new Uint8Array(MiB)), (e: unknown) => {
    assert.ok(e instanceof ZstdError, `${e}`);
    assert.equal(e.kind, "expands");
    return true;
  });
  await assert.rejects(
    zstdUnpack(undeclared, new Uint8Array(MiB)),
    (e: unknown) => e instanceof ZstdError && e.kind === "expands",
  );
  assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
  assert.ok(Deno.memoryUsage().rss - rss < 256 * MiB, "no gigabyte was allocated");
  // The same frame within its bound decodes (the bomb is a valid frame, only too big).
  const fine = rleBomb(4 * MiB);
  const out = await zstdUnpack(fine, new Uint8Array(4 * MiB));
  assert.equal(out.length, 4 * MiB);
  assert.equal(out[4 * MiB - 1], 0x41);
});

bothWays("frames asking for a huge window, garbage and short frames", async () => {
  // A window of 2^31 asked for (no content size to bound it): refused before it is allocated.
  const wide = rleBomb(MiB, { declared: false, windowByte: 0xa8 });
  await assert.rejects(zstdUnpack(wide, new Uint8Array(MiB)), (e: unknown) => {
    assert.ok(e instanceof ZstdError && e.kind === "corrupt", `${e}`);
    assert.match(e.message, /memory/);
    return true;
  });
  await assert.rejects(
    zstdUnpack(random(5000), new Uint8Array(MiB)),
    (e: unknown) => e instanceof ZstdError && e.kind === "corrupt",
  );
  // A cut frame yields fewer bytes: get's size check reports it.
  const p = await pack(sqlLike(2 * MiB));
  const cut = p.frame!.subarray(0, p.frame!.length - 100);
  assert.ok((await zstdUnpack(cut, new Uint8Array(2 * MiB))).length < 2 * MiB);
});

Deno.test("zstd workers: compression runs off the main thread, in parallel", async () => {
  const close = openZstd();
  try {
    const data = sqlLike(16 * MiB);
    await pack(data.slice()); // start the workers
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await Promise.all([pack(data.slice()), pack(data.slice())]);
    const ms = performance.now() - t0;
    clearInterval(timer);
    // In-process, the event loop would stand still for the whole time.
    assert.ok(ticks >= Math.min(10, ms / 10), `${ticks} timer ticks in ${ms.toFixed(0)} ms`);
  } finally {
    close();
  }
});

Deno.test("zstd workers: closing fails what is still queued; afterwards calls run in-process", async () => {
  const close = openZstd();
  const pending = pack(sqlLike(8 * MiB));
  close();
  close(); // twice is harmless
  await assert.rejects(pending, /closed/);
  assert.ok((await pack(sqlLike(MiB))).frame);
});

Deno.test("zstd jobs: without node:zlib's handle, the one-shot calls give the same results", () => {
  // node:zlib whose stream objects lack the internals the jobs drive.
  const bare = (f: (o: zlib.ZstdOptions) => unknown) => (o: zlib.ZstdOptions) => {
    const s = f(o) as { _handle?: unknown; close(): void };
    s._handle = undefined;
    return s;
  };
  const z = {
    ...zlib,
    createZstdCompress: bare(zlib.createZstdCompress),
    createZstdDecompress: bare(zlib.createZstdDecompress),
  } as unknown as ZstdLib;
  const data = sqlLike(3 * MiB);
  const out = new Uint8Array(3 * MiB + 28);
  const n = compressJob(z, data, 3, out, 12);
  assert.equal(typeof n, "number");
  const frame = out.subarray(12, 12 + (n as number));
  // The handle's frames also carry the content size (4 bytes): otherwise the same.
  const direct = compressJob(zlib, data, 3, new Uint8Array(3 * MiB + 28), 12) as number;
  assert.ok(Math.abs(direct - (n as number)) <= 8, `${direct} vs ${n}`);
  assert.equal(compressJob(z, random(MiB), 3, new Uint8Array(MiB + 28), 12), "larger");
  for (const lib of [z, zlib as unknown as ZstdLib]) {
    const target = new Uint8Array(3 * MiB);
    assert.equal(decompressJob(lib, frame, target, 24), 3 * MiB);
    assert.deepEqual(target, data);
    assert.throws(
      () => decompressJob(lib, rleBomb(64 * MiB), new Uint8Array(MiB), 24),
      (e: unknown) => (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE",
    );
    // Exactly the bound is fine.
    assert.equal(decompressJob(lib, rleBomb(MiB), new Uint8Array(MiB), 24), MiB);
  }
});

Deno.test("--compress values: zstd, zstd:LEVEL 1-19; anything else is a usage error", () => {
  assert.deepEqual(parseCompression("zstd"), { codec: "zstd", level: 3 });
  assert.deepEqual(parseCompression("zstd:1"), { codec: "zstd", level: 1 });
  assert.deepEqual(parseCompression("zstd:19"), { codec: "zstd", level: 19 });
  for (const bad of ["", "gzip", "zstd:", "zstd:0", "zstd:20", "zstd:-1", "zstd:3x", "ZSTD"]) {
    assert.throws(() => parseCompression(bad), (e: unknown) => {
      assert.ok(e instanceof UsageError, bad);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /zstd:LEVEL/);
      return true;
    });
  }
});
