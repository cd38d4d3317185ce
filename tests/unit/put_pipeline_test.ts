/**
 * The put pipeline in-process on the local directory store: the publish check, the resume
 * re-check, the race of two puts, and the pure pieces behind them (reserved names, canonical
 * resume identity, replay judgement, the portable digest under concurrency).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createSHA3 } from "hash-wasm";
import { ExistsError, IntegrityError } from "../../lib/errors.ts";
import { dualDigest } from "../../lib/crypto/hash.ts";
import { reservedPathProblem } from "../../lib/format/layout.ts";
import { putStream } from "../../lib/pipeline/put_stream.ts";
import type { PutJob } from "../../lib/pipeline/put_stream.ts";
import { canonicalEndpoint, logPath } from "../../lib/resume/resume_log.ts";
import { judgeReplay } from "../../lib/resume/fast_forward.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import type { PutOptions, Store } from "../../lib/store/store.ts";
import { Log } from "../../lib/ui/log.ts";
import { bytes, testPutJob } from "./pipeline_inputs.ts";
import { toHex } from "../../lib/format/chain.ts";
import { tempDir } from "../helpers.ts";

const quiet = new Log("quiet", () => {});

function fsStore(): FsStore {
  const root = tempDir("s3duct-pipe-"); // removed when the module ends
  Deno.mkdirSync(`${root}/b`);
  return new FsStore(root, "b");
}

function job(store: Store, data: Uint8Array, extra: Partial<PutJob> = {}): PutJob {
  return testPutJob(store, data, extra);
}

/**
 * A store that runs `hook` once when the manifest is near: at the publish check's listing
 * (`at: "check"`, a list of a chunk folder) or at the manifest write (`at: "manifest"`).
 */
function hooked(inner: Store, at: "check" | "manifest", hook: () => Promise<void>): Store {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await hook();
  };
  return {
    location: inner.location,
    checkBucket: () => inner.checkBucket(),
    put: async (key: string, body: Uint8Array, opts?: PutOptions) => {
      if (at === "manifest" && key.endsWith("/.manifest.json")) await once();
      return inner.put(key, body, opts);
    },
    get: (k, r, s) => inner.get(k, r, s),
    head: (k) => inner.head(k),
    list: async function* (p, o) {
      if (at === "check" && p.endsWith("/chunk-")) await once();
      yield* inner.list(p, o);
    },
    delete: (k) => inner.delete(k),
    restore: (k, d, t) => inner.restore(k, d, t),
  };
}

async function keys(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list("p/")) if (e.kind === "object") out.push(e.key);
  return out;
}

Deno.test("publish check: a chunk removed between upload and manifest -> IntegrityError, no manifest", async () => {
  const inner = fsStore();
  const store = hooked(inner, "check", async () => {
    const chunk1 = (await keys(inner)).find((k) => k.endsWith("/chunk-000001"))!;
    await inner.delete([chunk1]);
  });
  await assert.rejects(
    putStream(job(store, bytes(5000, 1))),
    (e) =>
      e instanceof IntegrityError &&
      /chunk 1 .* missing .* no manifest was written/.test(e.message),
  );
  assert.equal(await inner.head("p/s/.manifest.json"), undefined);
});

Deno.test("publish check: a chunk of another size put in its place -> IntegrityError", async () => {
  const inner = fsStore();
  const store = hooked(inner, "check", async () => {
    const chunk2 = (await keys(inner)).find((k) => k.endsWith("/chunk-000002"))!;
    await inner.put(chunk2, bytes(10, 9));
  });
  await assert.rejects(
    putStream(job(store, bytes(5000, 2))),
    (e) => e instanceof IntegrityError && /chunk 2 .* not what was uploaded/.test(e.message),
  );
  assert.equal(await inner.head("p/s/.manifest.json"), undefined);
});

Deno.test("publish: another put that published first wins; the loser gets ExistsError", async () => {
  const inner = fsStore();
  const other = bytes(3000, 4);
  // While this put is about to publish, another put of the same name completes.
  const store = hooked(inner, "manifest", async () => {
    if (await inner.head("p/s/.manifest.json")) return;
    await putStream(job(inner, other));
  });
  await assert.rejects(putStream(job(store, bytes(5000, 3))), ExistsError);
  const manifest = JSON.parse(new TextDecoder().decode(await inner.get("p/s/.manifest.json")));
  assert.equal(manifest.total_bytes, other.length, "the winner's stream stands");
  const winner = new Set(manifest.chunks.map((c: { s3_key: string }) => `p/${c.s3_key}`));
  for (const k of winner) assert.ok(await inner.head(k as string), `winner's ${k} is intact`);
});

Deno.test("put: every run writes into a fresh generation folder of the stream", async () => {
  const store = fsStore();
  await putStream(job(store, bytes(3000, 5)));
  const first = (await keys(store)).filter((k) => k.includes("/chunk-"));
  assert.ok(first.every((k) => /^p\/s\/g[0-9a-z]{8}\/chunk-00000[0-2]$/.test(k)), first.join());
  await putStream(job(store, bytes(2000, 6), { clobber: true }));
  const second = (await keys(store)).filter((k) => k.includes("/chunk-"));
  assert.equal(second.length, 2, "the replaced stream's chunks were removed");
  assert.notEqual(second[0].split("/")[2], first[0].split("/")[2], "another generation");
});

Deno.test("reservedPathProblem: generation, chunk and dot segments are refused anywhere", () => {
  for (
    const bad of [
      "cl/g1a2b3c4d",
      "g1a2b3c4d/x",
      "a/chunk-000001",
      "a/chunk-1",
      "a/.manifest.json",
      "a/.x",
    ]
  ) {
    assert.ok(reservedPathProblem(bad), bad);
  }
  for (
    const ok of ["cl", "a/b", "db/nightly.dump", "g1a2b3c4", "g1a2b3c4de", "chunks", "a/g1A2b3c4d"]
  ) {
    assert.equal(reservedPathProblem(ok), undefined, ok);
  }
});

Deno.test("resume identity: one log for one store, however it is spelled", () => {
  assert.equal(canonicalEndpoint("file:///d/"), canonicalEndpoint("file:///d"));
  assert.equal(canonicalEndpoint("HTTP://Host:80/"), canonicalEndpoint("http://host"));
  assert.equal(canonicalEndpoint(undefined), "aws");
  const a = logPath("/s", { endpoint: "file:///d", bucket: "b", prefix: "p/", name: "X" });
  const b = logPath("/s", { endpoint: "file:///d/", bucket: "b", prefix: "", name: "p/X" });
  assert.equal(a, b);
  const c = logPath("/s", { endpoint: "file:///d", bucket: "other", prefix: "p/", name: "X" });
  assert.notEqual(a, c);
});

Deno.test("judgeReplay: same / refused / tail (non-strict) / lenient stops on any difference", async () => {
  const chunk = bytes(100, 7);
  const d = await dualDigest(chunk);
  const e = {
    index: 0,
    size: 100,
    sha256: toHex(d.sha256),
    sha3_256: toHex(d.sha3),
    chain: "",
    s3_key: "s/chunk-000000",
    etag: "",
  };
  const rules = { name: "s", strict: true, lenient: false, log: quiet };
  assert.equal(judgeReplay(e, chunk, d, rules), "same");
  const other = bytes(100, 8);
  const od = await dualDigest(other);
  assert.throws(() => judgeReplay(e, other, od, rules), /stdin differs/);
  const short = chunk.subarray(0, 50);
  const sd = await dualDigest(short);
  assert.throws(() => judgeReplay(e, short, sd, rules), /stdin differs/);
  assert.equal(judgeReplay(e, short, sd, { ...rules, strict: false }), "tail");
  assert.equal(judgeReplay(e, other, od, { ...rules, lenient: true }), "tail");
});

Deno.test("dualDigest: 300 concurrent calls each get their own buffer's digests", async () => {
  const inputs = Array.from({ length: 300 }, (_, i) => bytes(1 + (i * 977) % 40000, i + 1));
  const got = await Promise.all(inputs.map((b) => dualDigest(b)));
  const sha3 = await createSHA3(256);
  for (const [i, b] of inputs.entries()) {
    sha3.init();
    sha3.update(b);
    assert.equal(toHex(got[i].sha3), sha3.digest("hex"), `sha3 of input ${i}`);
    assert.equal(toHex(got[i].sha256), createHash("sha256").update(b).digest("hex"));
  }
});

Deno.test("local store If-Match: replaces only over the ETag read; otherwise ExistsError", async () => {
  const store = fsStore();
  const first = await store.put("p/k", new Uint8Array([1]));
  const second = await store.put("p/k", new Uint8Array([2]), { ifMatch: first.etag });
  assert.deepEqual([...await store.get("p/k")], [2]);
  await assert.rejects(store.put("p/k", new Uint8Array([3]), { ifMatch: first.etag }), ExistsError);
  assert.deepEqual([...await store.get("p/k")], [2], "the lost replace wrote nothing");
  await store.put("p/k", new Uint8Array([4]), { ifMatch: second.etag });
  assert.deepEqual([...await store.get("p/k")], [4]);
  const listed: string[] = [];
  for await (const e of store.list("p/")) if (e.kind === "object") listed.push(e.key);
  assert.deepEqual(listed, ["p/k"], "no lock or temporary file left");
});

Deno.test("clean-up after publish: folders older than the put go, a later put's folder stays", async () => {
  const inner = fsStore();
  await inner.put("p/s/gold00000/chunk-000000", new Uint8Array([1])); // an interrupted upload
  const later = "p/s/glater000/chunk-000000";
  // Another put starts while this one runs: its folder appears after this put listed.
  const store = hooked(inner, "manifest", async () => {
    await inner.put(later, new Uint8Array([2]));
  });
  const out = await putStream(job(store, bytes(3000, 11)));
  assert.equal(out.orphansDeleted, 1);
  assert.equal(await inner.head("p/s/gold00000/chunk-000000"), undefined, "the old orphan went");
  assert.ok(await inner.head(later), "the later put's chunk is untouched");
});

Deno.test("clean-up failing after publish only warns: the put still succeeds", async () => {
  const inner = fsStore();
  let published = false;
  const store: Store = {
    ...hooked(inner, "manifest", () => {
      published = true;
      return Promise.resolve();
    }),
    delete: () => Promise.reject(new Error("delete refused")),
  };
  await inner.put("p/s/gold00000/chunk-000000", new Uint8Array([1]));
  const out = await putStream(job(store, bytes(2000, 12)));
  assert.ok(published);
  assert.equal(out.orphansDeleted, 0);
  assert.ok(await inner.head("p/s/.manifest.json"));
});
