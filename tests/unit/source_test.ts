import assert from "node:assert/strict";
import { type ByteReader, frameOf, readChunks, writeAll } from "../../lib/pipeline/source.ts";
import { bytesEqual, pseudoRandom } from "../helpers.ts";

/** A reader that hands out `data` in short, odd-sized reads, then null forever. */
function shortReader(data: Uint8Array, pattern = [1, 7, 3, 1000, 13, 4096, 2]) {
  let off = 0;
  let calls = 0;
  let afterEof = 0;
  const reader: ByteReader = {
    read(p: Uint8Array): Promise<number | null> {
      if (off >= data.length) {
        afterEof++;
        return Promise.resolve(null);
      }
      const n = Math.min(p.length, pattern[calls++ % pattern.length], data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
  return { reader, stats: () => ({ calls, afterEof }) };
}

async function chunksOf(r: ByteReader, size: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of readChunks(r, size)) out.push(c);
  return out;
}

Deno.test("readChunks: exact chunk sizes despite short reads; short last chunk", async () => {
  const data = pseudoRandom(10_007, "source");
  const r = shortReader(data);
  const chunks = await chunksOf(r.reader, 1000);
  assert.equal(chunks.length, 11);
  assert.ok(r.stats().calls > 11, "the reader really gave short reads");
  assert.equal(r.stats().afterEof, 1);
  for (const c of chunks.slice(0, -1)) assert.equal(c.length, 1000);
  assert.equal(chunks[10].length, 7);
  assert.ok(bytesEqual(new Uint8Array(chunks.flatMap((c) => [...c])), data));
});

Deno.test("readChunks: empty input yields nothing", async () => {
  const r = shortReader(new Uint8Array(0));
  assert.deepEqual(await chunksOf(r.reader, 1000), []);
  assert.equal(r.stats().afterEof, 1, "reads once past EOF, then stops");
});

Deno.test("readChunks: exact multiple yields no empty tail", async () => {
  const data = pseudoRandom(4 * 2048, "multiple");
  const r = shortReader(data);
  const chunks = await chunksOf(r.reader, 2048);
  assert.equal(chunks.length, 4);
  assert.equal(r.stats().afterEof, 1, "reads once past EOF, then stops");
  for (const [i, c] of chunks.entries()) {
    assert.equal(c.length, 2048);
    assert.ok(bytesEqual(c, data.subarray(i * 2048, (i + 1) * 2048)), `chunk ${i}`);
  }
});

Deno.test("readChunks: input smaller than one chunk; chunk size 1", async () => {
  const data = pseudoRandom(10, "small");
  const one = await chunksOf(shortReader(data).reader, 65536);
  assert.equal(one.length, 1);
  assert.ok(bytesEqual(one[0], data));
  const bytes = await chunksOf(shortReader(data).reader, 1);
  assert.equal(bytes.length, 10);
  assert.deepEqual(bytes.map((b) => b[0]), [...data]);
});

Deno.test("readChunks: chunks are independent buffers", async () => {
  const data = pseudoRandom(3000, "independent");
  const chunks = await chunksOf(shortReader(data).reader, 1000);
  chunks[0].fill(0);
  assert.ok(bytesEqual(chunks[1], data.subarray(1000, 2000)));
  assert.ok(bytesEqual(chunks[2], data.subarray(2000, 3000)));
});

Deno.test("readChunks with room: chunks sit at head offset with tail spare, tail chunk too", async () => {
  const data = pseudoRandom(2 * 5000 + 123, "room");
  const room = { head: 12, tail: 16 };
  const { reader } = shortReader(data);
  const out: Uint8Array[] = [];
  for await (const c of readChunks(reader, 5000, room)) out.push(c);
  assert.deepEqual(out.map((c) => c.length), [5000, 5000, 123]);
  for (const [i, c] of out.entries()) {
    assert.ok(bytesEqual(c, data.subarray(i * 5000, i * 5000 + c.length)));
    assert.equal(c.byteOffset, 12);
    const f = frameOf(c, room);
    assert.equal(f.length, 12 + c.length + 16);
    assert.equal(f.byteOffset + f.length, c.buffer.byteLength, "tail room ends the buffer");
  }
});

Deno.test("writeAll: loops over partial writes; broken pipe -> onClosed()", async () => {
  const data = pseudoRandom(5000, "write");
  const got: number[] = [];
  await writeAll(
    {
      write: (p) => {
        const n = Math.min(p.length, 333);
        got.push(...p.subarray(0, n));
        return Promise.resolve(n);
      },
    },
    data,
    () => new Error("closed"),
  );
  assert.ok(bytesEqual(new Uint8Array(got), data));

  const closed = new Error("reader went away");
  await assert.rejects(
    writeAll(
      { write: () => Promise.reject(new Deno.errors.BrokenPipe("pipe")) },
      data,
      () => closed,
    ),
    (e) => e === closed,
  );
  const other = new Error("disk full");
  await assert.rejects(
    writeAll({ write: () => Promise.reject(other) }, data, () => closed),
    (e) => e === other,
  );
});
