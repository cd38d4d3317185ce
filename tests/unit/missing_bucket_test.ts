/**
 * lib/cli/missing_bucket.ts on the local store: a missing bucket is reported as one by every
 * store call a command makes (issue 12.6 E), while a missing object stays a missing object.
 */
import assert from "node:assert/strict";
import { MissingBucketError, NotFoundError } from "../../lib/errors.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import { reportingMissingBucket } from "../../lib/cli/missing_bucket.ts";
import type { Store } from "../../lib/store/store.ts";

const root = await Deno.makeTempDir({ prefix: "s3duct-nobucket-" });

/** The store, counting checkBucket calls. */
function counted(bucket: string): { store: Store; checks: () => number } {
  const inner = new FsStore(root, bucket);
  let n = 0;
  const check = inner.checkBucket.bind(inner);
  inner.checkBucket = () => {
    n++;
    return check();
  };
  return { store: reportingMissingBucket(inner), checks: () => n };
}

const isMissingBucket = (e: unknown) =>
  e instanceof MissingBucketError && e.exitCode === 3 &&
  /bucket '.*nob' does not exist/.test(e.message);

Deno.test("missing bucket: get, head, list and checkBucket all say so (exit 3)", async () => {
  const { store } = counted("nob");
  await assert.rejects(store.get("s/.manifest.json"), isMissingBucket);
  await assert.rejects(store.head("s/chunk-000000"), isMissingBucket);
  await assert.rejects(
    (async () => {
      for await (const _ of store.list("s/")) { /* the local store lists it as empty */ }
    })(),
    isMissingBucket,
  );
  await assert.rejects(store.checkBucket(), isMissingBucket);
  // Not a NotFoundError: code that maps missing objects to "stream not found" lets it through.
  await assert.rejects(store.get("k"), (e: unknown) => !(e instanceof NotFoundError));
});

Deno.test("existing bucket: a missing object stays NotFoundError, and the bucket is checked once", async () => {
  await Deno.mkdir(`${root}/b`);
  const { store, checks } = counted("b");
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      store.get(`missing-${i}`),
      (e: unknown) =>
        e instanceof NotFoundError && /object 'missing-\d' does not exist/.test(e.message),
    );
    assert.equal(await store.head(`missing-${i}`), undefined);
  }
  assert.equal(checks(), 1, "one bucket check per run, not one per missing object");
  await store.put("a/x", new Uint8Array([1, 2, 3]));
  assert.deepEqual(await store.get("a/x"), new Uint8Array([1, 2, 3]));
  const listed: string[] = [];
  for await (const e of store.list("a/")) if (e.kind === "object") listed.push(e.key);
  assert.deepEqual(listed, ["a/x"]);
  // Methods it does not wrap pass through, bound to the real store (private fields work).
  assert.equal(store.location, `file://${root}/b`);
  assert.equal(await store.restore("a/x", 1, "Standard"), "available");
});

Deno.test("missing bucket: clean up", () => Deno.remove(root, { recursive: true }));
