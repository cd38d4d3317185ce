import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ExistsError, NotFoundError, StoreError } from "../../lib/errors.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import type { ListEntry } from "../../lib/store/store.ts";
import { bytesEqual, pseudoRandom, refHex } from "../helpers.ts";

const enc = new TextEncoder();

/** A temp root with bucket `bkt` created; removed afterwards. */
async function withStore(fn: (store: FsStore, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "s3duct-fs-test-" });
  try {
    await Deno.mkdir(`${root}/bkt`);
    await fn(new FsStore(root, "bkt"), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function collect(it: AsyncIterable<ListEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(e.kind === "object" ? e.key : `prefix:${e.prefix}`);
  return out;
}

Deno.test("checkBucket: NotFoundError when the root or bucket directory is missing", async () => {
  const root = await Deno.makeTempDir({ prefix: "s3duct-fs-test-" });
  try {
    await assert.rejects(new FsStore(`${root}/nope`, "bkt").checkBucket(), NotFoundError);
    const store = new FsStore(root, "bkt");
    await assert.rejects(store.checkBucket(), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.exitCode, 3);
      assert.ok(e.message.includes("bkt"));
      return true;
    });
    await Deno.mkdir(`${root}/bkt`);
    await store.checkBucket();
    assert.equal(store.location, `file://${root}/bkt`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("put/get round trip; ETag is the quoted MD5; nested keys create directories", () =>
  withStore(async (store, root) => {
    const body = pseudoRandom(10_000, "fs-put");
    const { etag } = await store.put("db/nightly.dump/chunk-000000", body);
    assert.equal(etag, `"${refHex("md5", body)}"`);
    assert.ok(bytesEqual(await store.get("db/nightly.dump/chunk-000000"), body));
    assert.ok(bytesEqual(await Deno.readFile(`${root}/bkt/db/nightly.dump/chunk-000000`), body));
    const empty = await store.put("empty", new Uint8Array(0));
    assert.equal(empty.etag, `"${refHex("md5", new Uint8Array(0))}"`);
    assert.equal((await store.get("empty")).length, 0);
    // Overwrite without ifNoneMatch replaces.
    const body2 = pseudoRandom(10, "fs-put-2");
    await store.put("db/nightly.dump/chunk-000000", body2);
    assert.ok(bytesEqual(await store.get("db/nightly.dump/chunk-000000"), body2));
  }));

Deno.test("get: missing key -> NotFoundError", () =>
  withStore(async (store) => {
    await assert.rejects(store.get("no/such/key"), NotFoundError);
    await store.put("dir/file", enc.encode("x"));
    await assert.rejects(store.get("dir"), NotFoundError, "a directory is not an object");
  }));

Deno.test("get: inclusive byte ranges", () =>
  withStore(async (store) => {
    const body = enc.encode("0123456789");
    await store.put("k", body);
    assert.equal(Buffer.from(await store.get("k", { start: 2, end: 5 })).toString(), "2345");
    assert.equal(Buffer.from(await store.get("k", { start: 0, end: 0 })).toString(), "0");
    assert.equal(Buffer.from(await store.get("k", { start: 8, end: 100 })).toString(), "89");
  }));

Deno.test("head: size and ETag; missing -> undefined", () =>
  withStore(async (store) => {
    const body = pseudoRandom(4321, "fs-head");
    await store.put("a/b", body);
    const info = await store.head("a/b");
    assert.ok(info);
    assert.equal(info.key, "a/b");
    assert.equal(info.size, 4321);
    assert.equal(info.etag, `"${refHex("md5", body)}"`);
    assert.equal(await store.head("a/c"), undefined);
    assert.equal(await store.head("a"), undefined, "a directory is not an object");
  }));

Deno.test("list: keys in UTF-8 byte order, sizes, temp files excluded", () =>
  withStore(async (store, root) => {
    const keys = ["z", "a/b", "a-c", "\u{1F600}", "\uFF61", "é", "A", "a/b0/c2"];
    for (const [i, k] of keys.entries()) await store.put(k, pseudoRandom(i + 1, k));
    await Deno.writeFile(`${root}/bkt/.s3duct-tmp-leftover`, enc.encode("partial"));
    await Deno.writeFile(`${root}/bkt/a/.s3duct-tmp-other`, enc.encode("partial"));
    const want = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    // UTF-16 order would put U+1F600 (surrogates D83D..) before U+FF61; UTF-8 does not.
    assert.ok(want.indexOf("\uFF61") < want.indexOf("\u{1F600}"));
    assert.deepEqual(await collect(store.list("")), want);
    const sizes: Record<string, number> = {};
    for await (const e of store.list("")) if (e.kind === "object") sizes[e.key] = e.size;
    for (const [i, k] of keys.entries()) assert.equal(sizes[k], i + 1, k);
  }));

Deno.test("list: prefix filters by key prefix, not by directory", () =>
  withStore(async (store) => {
    for (const k of ["a/b", "a/c/d", "a-c", "ab", "b/a"]) await store.put(k, enc.encode(k));
    assert.deepEqual(await collect(store.list("a/")), ["a/b", "a/c/d"]);
    assert.deepEqual(await collect(store.list("a")), ["a-c", "a/b", "a/c/d", "ab"]);
    assert.deepEqual(await collect(store.list("a/c")), ["a/c/d"]);
    assert.deepEqual(await collect(store.list("a/c/d")), ["a/c/d"]);
    assert.deepEqual(await collect(store.list("nothing/")), []);
  }));

Deno.test("list: delimiter '/' folds common prefixes", () =>
  withStore(async (store) => {
    for (const k of ["top", "a-c", "a/b", "a/c/d", "a/c/e", "dir/x"]) {
      await store.put(k, enc.encode(k));
    }
    assert.deepEqual(await collect(store.list("", { delimiter: "/" })), [
      "a-c",
      "prefix:a/",
      "prefix:dir/",
      "top",
    ]);
    assert.deepEqual(await collect(store.list("a/", { delimiter: "/" })), ["a/b", "prefix:a/c/"]);
  }));

Deno.test("list: missing bucket directory lists nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "s3duct-fs-test-" });
  try {
    assert.deepEqual(await collect(new FsStore(root, "none").list("")), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("delete: removes; a missing key counts as deleted", () =>
  withStore(async (store) => {
    await store.put("x/1", enc.encode("1"));
    await store.put("x/2", enc.encode("2"));
    const r = await store.delete(["x/1", "x/missing"]);
    assert.deepEqual(r.deleted, ["x/1", "x/missing"]);
    assert.deepEqual(r.failed, []);
    assert.equal(await store.head("x/1"), undefined);
    assert.ok(await store.head("x/2"));
  }));

Deno.test("put ifNoneMatch: ExistsError on an existing key, old content kept, no temp left", () =>
  withStore(async (store, root) => {
    const first = enc.encode("first");
    const r = await store.put("m/.manifest.json", first, { ifNoneMatch: true });
    assert.equal(r.etag, `"${refHex("md5", first)}"`);
    await assert.rejects(
      store.put("m/.manifest.json", enc.encode("second"), { ifNoneMatch: true }),
      (e: unknown) => {
        assert.ok(e instanceof ExistsError, `expected ExistsError, got ${e}`);
        assert.equal(e.exitCode, 8);
        return true;
      },
    );
    assert.ok(bytesEqual(await store.get("m/.manifest.json"), first));
    const names = [...Deno.readDirSync(`${root}/bkt/m`)].map((e) => e.name);
    assert.deepEqual(names, [".manifest.json"]);
  }));

Deno.test("keys with empty, '.' or '..' segments are rejected and never escape the bucket", () =>
  withStore(async (store, root) => {
    await Deno.writeTextFile(`${root}/outside`, "keep me");
    for (const key of ["../outside", "a/../../outside", "a/../b", "a//b", "./a", "a/.", "", "/a"]) {
      await assert.rejects(store.put(key, enc.encode("x")), StoreError, `put ${key}`);
      await assert.rejects(store.get(key), StoreError, `get ${key}`);
      await assert.rejects(store.head(key), StoreError, `head ${key}`);
    }
    const r = await store.delete(["../outside"]);
    assert.deepEqual(r.deleted, []);
    assert.equal(r.failed.length, 1);
    assert.equal(await Deno.readTextFile(`${root}/outside`), "keep me");
  }));

Deno.test("get/head of a key below an existing object: not found, as S3 says", () =>
  withStore(async (store) => {
    // On S3 `a/chunk-000000/.manifest.json` is simply absent even if `a/chunk-000000` exists;
    // on disk the path hits a file where a directory is expected (ENOTDIR).
    await store.put("a/chunk-000000", enc.encode("chunk"));
    assert.equal(await store.head("a/chunk-000000/.manifest.json"), undefined);
    await assert.rejects(store.get("a/chunk-000000/.manifest.json"), NotFoundError);
  }));

Deno.test("list with a '..' prefix never yields keys outside the bucket", async () => {
  const root = await Deno.makeTempDir({ prefix: "s3duct-fs-test-" });
  try {
    await Deno.mkdir(`${root}/bkt`);
    await Deno.mkdir(`${root}/other`);
    await Deno.writeTextFile(`${root}/other/secret`, "another bucket's object");
    const store = new FsStore(root, "bkt");
    await store.put("mine", enc.encode("x"));
    const listed = await collect(store.list("../")).catch((e) => {
      // Rejecting the prefix outright is fine too.
      assert.ok(e instanceof StoreError, `unexpected error ${e}`);
      return [] as string[];
    });
    assert.deepEqual(listed.filter((k) => k.includes("..")), [], `listed ${listed}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("put over a FIFO at the key replaces the name with a regular file, never opening it", () =>
  withStore(async (store, root) => {
    await Deno.mkdir(`${root}/bkt/s`);
    const made = await new Deno.Command("mkfifo", { args: [`${root}/bkt/s/chunk-000000`] })
      .output();
    assert.equal(made.code, 0);
    // rename() replaces the name; opening the FIFO for writing would block forever.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      store.put("s/chunk-000000", enc.encode("regular now")),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("put blocked on the FIFO")), 3000);
      }),
    ]).finally(() => clearTimeout(timer));
    const st = await Deno.lstat(`${root}/bkt/s/chunk-000000`);
    assert.ok(st.isFile && !st.isFifo);
    assert.equal(Buffer.from(await store.get("s/chunk-000000")).toString(), "regular now");
    // With ifNoneMatch the FIFO's name counts as taken: nothing replaces it.
    await Deno.remove(`${root}/bkt/s/chunk-000000`);
    await new Deno.Command("mkfifo", { args: [`${root}/bkt/s/chunk-000000`] }).output();
    await assert.rejects(
      store.put("s/chunk-000000", enc.encode("x"), { ifNoneMatch: true }),
      ExistsError,
    );
    assert.ok((await Deno.lstat(`${root}/bkt/s/chunk-000000`)).isFifo);
  }));

Deno.test("get: a range past the end returns what is there; a huge range allocates nothing huge", () =>
  withStore(async (store) => {
    await store.put("k", enc.encode("0123456789"));
    // Before, the buffer was the range's size: 3 GiB here, for 10 bytes of file.
    const got = await store.get("k", { start: 5, end: 3 * 1024 ** 3 });
    assert.equal(Buffer.from(got).toString(), "56789");
    assert.equal(got.buffer.byteLength, 5, "buffer sized by the file, not the range");
    assert.equal((await store.get("k", { start: 20, end: 30 })).length, 0);
  }));
