/**
 * The get pipeline in-process on the local directory store: get of what put stored (plain,
 * AES, age; format 1 and 2), after a resumed put and through the spill; tampering caught with
 * the right error class and exit code; and the pieces the orchestrators are built from
 * (verifyChunk, verifyTotals, the stream format's chain, buildManifest). No Ceph, no fixtures.
 */
import assert from "node:assert/strict";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { ExitCode, IntegrityError, KeyError, StoreError } from "../../lib/errors.ts";
import { aesCipher, type Cipher, plainCipher, sealedSizes } from "../../lib/crypto/cipher.ts";
import { ageCipher } from "../../lib/crypto/age.ts";
import { dualDigest } from "../../lib/crypto/hash.ts";
import { chainOfRecordsV2 } from "../../lib/crypto/v2.ts";
import { chainLink, toHex } from "../../lib/format/chain.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import { type ChunkRecord, type Manifest, serializeManifest } from "../../lib/format/manifest.ts";
import { type GetJob, getStream } from "../../lib/pipeline/get_stream.ts";
import { type PutJob, putStream } from "../../lib/pipeline/put_stream.ts";
import { verifyChunk, verifyTotals } from "../../lib/pipeline/chunk_check.ts";
import { newStreamFormat, storedStreamFormat } from "../../lib/pipeline/stream_format.ts";
import { buildManifest } from "../../lib/pipeline/manifest_build.ts";
import type { Keyring } from "../../lib/pipeline/manifest_io.ts";
import { Concurrency } from "../../lib/pipeline/concurrency.ts";
import { BufferPool, chunkMemory, poolBudget } from "../../lib/buffer_pool.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import type { PutOptions, Store } from "../../lib/store/store.ts";
import { Log } from "../../lib/ui/log.ts";
import { bytes, reader, testPutJob } from "./pipeline_inputs.ts";

const quiet = new Log("quiet", () => {});
const layout = new StreamLayout("s", "p");
const CHUNK = 1024;

/** A local store in a fresh temp folder, removed once `fn` is done. */
async function withStore(fn: (store: FsStore, root: string) => Promise<void>): Promise<void> {
  const root = Deno.makeTempDirSync({ prefix: "s3duct-getpipe-" });
  try {
    Deno.mkdirSync(`${root}/b`);
    await fn(new FsStore(root, "b"), root);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

function putJob(store: Store, data: Uint8Array, extra: Partial<PutJob> = {}): PutJob {
  return testPutJob(store, data, { pool: new BufferPool(0), ...extra });
}

/** Get the stream into memory; the bytes written, and the outcome. */
/** Gets the stream; `parts` receives every write (on failure: what reached the output). */
async function getAll(
  store: Store,
  keys: Keyring,
  extra: Partial<GetJob> = {},
  parts: Uint8Array[] = [],
) {
  const outcome = await getStream({
    store,
    layout,
    keys,
    write: (b) => {
      parts.push(b.slice());
      return Promise.resolve();
    },
    workersFor: () => 3,
    log: quiet,
    pool: new BufferPool(0),
    ...extra,
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { out, outcome };
}

async function ageKeys(): Promise<{ seal: Cipher; open: Cipher }> {
  const id = await generateX25519Identity();
  const recipient = await identityToRecipient(id);
  return { seal: ageCipher({ recipients: [recipient] }), open: ageCipher({ identities: [id] }) };
}

/** `inner` with chunk writes going through `put` first (which may delay or fail them). */
function onChunkPut(inner: Store, put: (key: string) => Promise<void>): Store {
  return {
    location: inner.location,
    checkBucket: () => inner.checkBucket(),
    put: async (key: string, body: Uint8Array, opts?: PutOptions) => {
      if (key.includes("/chunk-")) await put(key);
      return inner.put(key, body, opts);
    },
    get: (k, r, s) => inner.get(k, r, s),
    head: (k) => inner.head(k),
    list: (p, o) => inner.list(p, o),
    delete: (k) => inner.delete(k),
    restore: (k, d, t) => inner.restore(k, d, t),
  };
}

/** Rewrites the (plain) manifest without its last chunk record, the counts made to agree. */
async function dropLastRecord(store: Store, manifest: Manifest): Promise<void> {
  const cut: Manifest = {
    ...manifest,
    chunks: manifest.chunks.slice(0, -1),
    chunk_count: manifest.chunk_count - 1,
    total_bytes: manifest.total_bytes - manifest.chunks.at(-1)!.size,
  };
  await store.put(layout.full(layout.manifestKey), serializeManifest(cut));
}

/** Reads a stored object, changes it with `fn`, and writes it back. */
async function rewrite(store: Store, key: string, fn: (b: Uint8Array) => Uint8Array) {
  await store.put(layout.full(key), fn((await store.get(layout.full(key))).slice()));
}

async function rejectsWith(
  p: Promise<unknown>,
  cls: typeof IntegrityError,
  code: number,
  re: RegExp,
) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `${(e as Error).constructor.name}: ${(e as Error).message}`);
    assert.equal(e.exitCode, code);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("get of put: plain, AES (sealed manifest) and age, several chunks and a short tail", async () => {
  const data = bytes(5 * CHUNK + 300, 7);
  const aes = await aesCipher(bytes(32, 3));
  const age = await ageKeys();
  const cases: [string, Partial<PutJob>, Keyring][] = [
    ["plain", {}, {}],
    ["aes", { cipher: aes, encryptManifest: true }, { aes }],
    ["age", { cipher: age.seal }, { age: age.open }],
  ];
  for (const [label, put, keys] of cases) {
    await withStore(async (store) => {
      const stored = await putStream(putJob(store, data, put));
      assert.equal(stored.manifest.chunk_count, 6, label);
      const { out, outcome } = await getAll(store, keys);
      assert.deepEqual(out, data, label);
      assert.equal(outcome.manifest.final_chain, stored.manifest.final_chain, label);
      assert.equal(outcome.manifestSealing, label === "aes" ? "aes-256-gcm" : "plain", label);
    });
  }
});

Deno.test("get of put: format 2 (keyed chain), compressed too; a range of it verifies and cuts", async () => {
  const data = new Uint8Array(4 * CHUNK + 10).fill(65); // compressible
  data.set(bytes(CHUNK, 9), CHUNK); // one chunk that is not
  const aes = await aesCipher(bytes(32, 4));
  for (const compress of [undefined, { codec: "zstd" as const, level: 3 }]) {
    await withStore(async (store) => {
      const stored = await putStream(putJob(store, data, { cipher: aes, format: 2, compress }));
      assert.equal(stored.manifest.version, 2);
      assert.equal(stored.manifest.compression, compress?.codec);
      assert.deepEqual((await getAll(store, { aes })).out, data);
      const part = await getAll(store, { aes }, { range: { offset: 1000, length: 2100 } });
      assert.deepEqual(part.out, data.subarray(1000, 3100));
      await rejectsWith(getAll(store, {}), KeyError, ExitCode.KEY, /format 2|--key/);
    });
  }
});

Deno.test("get after a resumed put: kept chunks are not uploaded again, the stream restores", async () => {
  const data = bytes(6 * CHUNK, 11);
  await withStore(async (store, root) => {
    const dir = `${root}/state`;
    const resume = {
      dir,
      identity: { endpoint: `file://${root}`, bucket: "b", prefix: "p/", name: "s" },
      keyFingerprint: plainCipher.fingerprint,
      strict: true,
    };
    let puts = 0;
    const failing = onChunkPut(
      store,
      () =>
        ++puts > 3
          ? Promise.reject(new StoreError("injected: connection lost"))
          : Promise.resolve(),
    );
    const one = { concurrency: new Concurrency({ fixed: 1, min: 1, max: 1 }), resume };
    await assert.rejects(putStream(putJob(failing, data, one)), StoreError);
    const again = await putStream(putJob(store, data, one));
    assert.equal(again.resumedFrom, "local log");
    assert.equal(again.chunksResumed, 3);
    assert.equal(again.chunksNew, 3);
    assert.deepEqual((await getAll(store, {})).out, data);
  });
});

Deno.test("get after a put that spilled: chunks that waited on disk restore, the folder is gone", async () => {
  const data = bytes(8 * CHUNK, 13);
  await withStore(async (store, root) => {
    // Uploads held until everything is read: every chunk past the one worker waits on disk.
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    const slow = onChunkPut(store, () => held);
    const spill = { dir: `${root}/spill`, maxChunks: 100, maxBytes: 1 << 20 };
    const input = reader(data);
    const ending = {
      read: async (buf: Uint8Array) => {
        const n = await input.read(buf);
        if (n === null) release();
        return n;
      },
    };
    const concurrency = new Concurrency({ fixed: 1, min: 1, max: 1 });
    const stored = await putStream(putJob(slow, data, { spill, concurrency, input: ending }));
    assert.ok(stored.chunksSpilled >= 6, `spilled ${stored.chunksSpilled}`);
    assert.deepEqual([...Deno.readDirSync(spill.dir)], []);
    assert.deepEqual((await getAll(store, {})).out, data);
  });
});

Deno.test("tampering: a flipped byte, swapped chunks, a dropped record -> IntegrityError (exit 4)", async () => {
  const data = bytes(4 * CHUNK, 17);
  const aes = await aesCipher(bytes(32, 5));
  await withStore(async (store) => {
    const { manifest } = await putStream(putJob(store, data));
    await rewrite(store, manifest.chunks[1].s3_key, (b) => (b[100] ^= 1, b));
    const written: Uint8Array[] = [];
    await rejectsWith(
      getAll(store, {}, {}, written),
      IntegrityError,
      4,
      /chunk 1 .* corrupt: SHA-256 differs/,
    );
    // Only the chunk before the damaged one reached the output, whole and in order.
    assert.deepEqual(written, [data.subarray(0, CHUNK)]);
  });
  await withStore(async (store) => {
    const { manifest } = await putStream(putJob(store, data, { cipher: aes }));
    const [k0, k1] = manifest.chunks.map((r) => r.s3_key);
    const [b0, b1] = [await store.get(layout.full(k0)), await store.get(layout.full(k1))];
    await store.put(layout.full(k0), b1.slice());
    await store.put(layout.full(k1), b0.slice());
    const written: Uint8Array[] = [];
    await rejectsWith(getAll(store, { aes }, {}, written), IntegrityError, 4, /chunk 0 .* corrupt/);
    assert.deepEqual(written, [], "nothing of a swapped first chunk is written");
  });
  await withStore(async (store) => {
    const { manifest } = await putStream(putJob(store, data));
    // Format 1: the chain of the records' hashes is checked before any chunk is fetched.
    await dropLastRecord(store, manifest);
    await rejectsWith(
      getAll(store, {}),
      IntegrityError,
      4,
      /field 'final_chain' does not match the chain/,
    );
  });
  await withStore(async (store) => {
    const { manifest } = await putStream(putJob(store, data, { cipher: aes, format: 2 }));
    // Dropping the last record (and fixing the counts) breaks the keyed chain of the records.
    await dropLastRecord(store, manifest);
    await rejectsWith(getAll(store, { aes }), IntegrityError, 4, /final_chain/);
  });
  await withStore(async (store) => {
    const { manifest } = await putStream(putJob(store, data, { cipher: aes, format: 2 }));
    const bytes0 = await store.get(layout.full(manifest.chunks[0].s3_key));
    await store.put(layout.full(manifest.chunks[1].s3_key), bytes0.slice());
    await rejectsWith(getAll(store, { aes }), IntegrityError, 4, /chunk 1 .* fails authentication/);
  });
});

Deno.test("a wrong key is KeyError (exit 5), not damage; an age stranger is no match", async () => {
  const data = bytes(3 * CHUNK, 19);
  const aes = await aesCipher(bytes(32, 6));
  const other = await aesCipher(bytes(32, 8));
  const age = await ageKeys();
  const stranger = await ageKeys();
  await withStore(async (store) => {
    await putStream(putJob(store, data, { cipher: aes }));
    await rejectsWith(getAll(store, { aes: other }), KeyError, 5, /wrong key/);
  });
  await withStore(async (store) => {
    await putStream(putJob(store, data, { cipher: age.seal }));
    await rejectsWith(getAll(store, { age: stranger.open }), KeyError, 5, /wrong key|match/);
  });
});

function record(index: number, plain: Uint8Array, d: { sha256: Uint8Array; sha3: Uint8Array }) {
  return {
    index,
    s3_key: `s/chunk-${index}`,
    size: plain.length,
    sha256: toHex(d.sha256),
    sha3_256: toHex(d.sha3),
    etag: "",
  } satisfies ChunkRecord;
}

Deno.test("verifyChunk: accepts its record; names size and each hash that differs", async () => {
  const plain = bytes(500, 1);
  const d = await dualDigest(plain);
  const r = record(2, plain, d);
  verifyChunk(r, plain, d, "s");
  assert.throws(
    () => verifyChunk({ ...r, size: 501 }, plain, d, "s"),
    /chunk 2 of 's' is corrupt: size 500 != 501$/,
  );
  const other = await dualDigest(bytes(500, 2));
  assert.throws(
    () => verifyChunk(r, plain, other, "s"),
    (e: unknown) =>
      e instanceof IntegrityError && /SHA-256 differs, SHA3-256 differs/.test(e.message),
  );
  assert.throws(
    () => verifyChunk(r, plain, { ...d, sha3: other.sha3 }, "s"),
    /: SHA3-256 differs$/,
  );
});

Deno.test("verifyTotals: the chain is checked first, then SHA-256 and (when given) SHA3-256", async () => {
  const plain = bytes(700, 3);
  const d = await dualDigest(plain);
  const chain = chainLink(undefined, d.sha256, d.sha3);
  const m = {
    final_chain: toHex(chain),
    stream_sha256: toHex(d.sha256),
    stream_sha3_256: toHex(d.sha3),
  } as Manifest;
  verifyTotals(m, chain, d, "s");
  verifyTotals(m, chain, d.sha256, "s");
  verifyTotals({ ...m, final_chain: "" }, undefined, d, "s");
  const wrong = await dualDigest(bytes(700, 4));
  assert.throws(() => verifyTotals(m, undefined, wrong, "s"), /final chain of 's'/);
  assert.throws(() => verifyTotals(m, chain, wrong.sha256, "s"), /stream hash of 's'/);
  assert.throws(() => verifyTotals(m, chain, { ...d, sha3: wrong.sha3 }, "s"), /stream hash/);
});

Deno.test("stream format: put's chain steps are what get recomputes, format 1 and 2", async () => {
  const aes = await aesCipher(bytes(32, 7));
  const chunks = [bytes(CHUNK, 1), bytes(CHUNK, 2), bytes(10, 3)];
  const digests = await Promise.all(chunks.map(dualDigest));
  const records = chunks.map((c, i) => record(i, c, digests[i]));
  const v1 = newStreamFormat(aes, 1, undefined);
  assert.equal(v1.chunks, aes);
  assert.equal(v1.v2, undefined);
  let c1: Uint8Array | undefined;
  for (const [i, d] of digests.entries()) c1 = v1.step(c1, i, d);
  const expect1 = chainLink(
    chainLink(
      chainLink(undefined, digests[0].sha256, digests[0].sha3),
      digests[1].sha256,
      digests[1].sha3,
    ),
    digests[2].sha256,
    digests[2].sha3,
  );
  assert.deepEqual(c1, expect1);

  const v2 = newStreamFormat(aes, 2, undefined);
  assert.ok(v2.v2 && v2.chunks !== aes);
  let c2: Uint8Array | undefined;
  for (const [i, d] of digests.entries()) c2 = v2.step(c2, i, d);
  const m = {
    version: 2,
    format_salt: toHex(v2.v2.salt),
    stream_id: toHex(v2.v2.streamId),
    chunks: records,
    final_chain: toHex(c2!),
  } as Manifest;
  const noFetch = () => Promise.reject(new Error("not fetched"));
  const back = await storedStreamFormat(m, aes, "s", "aes-256-gcm", noFetch);
  let c3: Uint8Array | undefined;
  for (const [i, d] of digests.entries()) c3 = back.step(c3, i, d);
  assert.deepEqual(c3, c2);
  const mac = aes.formatV2!(v2.v2).mac;
  assert.equal(chainOfRecordsV2(mac, v2.v2.streamId, records), m.final_chain);
  // The chunk cipher is bound to the stream: what put sealed, get opens at the same position.
  const sealed = await v2.chunks.seal(chunks[0].slice(), undefined, { index: 0, last: false });
  assert.deepEqual(await back.chunks.open(sealed, undefined, { index: 0, last: false }), chunks[0]);
  assert.equal(await back.chunks.open(sealed, undefined, { index: 1, last: false }), undefined);
  await assert.rejects(
    storedStreamFormat({ ...m, final_chain: "00" }, aes, "s", "aes-256-gcm", noFetch),
    /field 'final_chain' does not match/,
  );
  assert.throws(() => newStreamFormat(plainCipher, 2, undefined), KeyError);
  assert.throws(() => newStreamFormat(aes, 1, { codec: "zstd", level: 3 }), /--compress needs/);
});

Deno.test("buildManifest: totals, format 1 vs 2 fields, optional fields only when set", async () => {
  const d = await dualDigest(bytes(10, 1));
  const records = [record(0, bytes(CHUNK, 1), d), record(1, bytes(10, 2), d)];
  const facts = {
    name: "s",
    description: "",
    created: "2026-01-01T00:00:00.000000+00:00",
    chunkSize: CHUNK,
    encryptionMethod: null,
    encryptionRecipient: null,
    encryptManifest: false,
    storageClass: "STANDARD",
    tags: { a: "b" },
    records,
    chain: new Uint8Array(32).fill(1),
    whole: d,
  };
  const m1 = buildManifest(facts);
  assert.equal(m1.version, 1);
  assert.equal(m1.chunk_count, 2);
  assert.equal(m1.total_bytes, CHUNK + 10);
  assert.equal(m1.encrypted, false);
  assert.equal(m1.final_chain, "01".repeat(32));
  assert.equal(m1.stream_sha3_256, toHex(d.sha3));
  assert.ok(!("format_salt" in m1) && !("compression" in m1) && !("server_side_encryption" in m1));
  assert.equal(buildManifest({ ...facts, records: [], chain: undefined }).final_chain, "");
  const v2 = { salt: new Uint8Array(32).fill(2), streamId: new Uint8Array(16).fill(3) };
  const m2 = buildManifest({ ...facts, encryptionMethod: "aes-256-gcm", v2, compression: "zstd" });
  assert.equal(m2.version, 2);
  assert.equal(m2.encrypted, true);
  assert.equal(m2.format_salt, "02".repeat(32));
  assert.equal(m2.stream_id, "03".repeat(16));
  assert.equal(m2.compression, "zstd");
  assert.ok(!("compression" in buildManifest({ ...facts, compression: "zstd" })), "format 1 never");
});

Deno.test("sealed sizes: exact for plain and AES (what put stores), a bound for age", async () => {
  const aes = await aesCipher(bytes(32, 9));
  const age = await ageKeys();
  for (const n of [0, 1, 65536, 65537, 200_000]) {
    const plain = bytes(n, 5);
    assert.equal(plainCipher.sealedSize(n), n);
    assert.equal((await aes.seal(plain.slice())).length, aes.sealedSize(n));
    assert.equal(sealedSizes("aes-256-gcm").sealedSize(n), n + 28);
    assert.equal(age.seal.sealedSize(n), undefined);
    assert.ok((await age.seal.seal(plain)).length <= age.seal.sealedSizeLimit(n, 1));
  }
  assert.equal(chunkMemory(CHUNK), CHUNK + 64 * 1024);
  assert.equal(chunkMemory(CHUNK, 2), 2 * CHUNK + 64 * 1024);
  assert.equal(poolBudget(3, 100), 500);
});
