/** `put`'s options into typed settings: defaults, each rule, each refusal (pure). */
import assert from "node:assert/strict";
import { UsageError } from "../../lib/errors.ts";
import { MAX_NOTES, parseTags, putSettings } from "../../lib/cli/put_settings.ts";

Deno.test("putSettings: defaults as commander gives them", () => {
  const s = putSettings({ chunkSize: "512M", tag: [], description: "", storageClass: "STANDARD" });
  assert.equal(s.chunkSize, 512 * 1024 ** 2);
  assert.deepEqual(s.tags, {});
  assert.equal(s.encrypt, true);
  assert.equal(s.encryptManifest, undefined);
  assert.equal(s.format, 1);
  assert.equal(s.strictResume, true);
  assert.equal(s.clobber, false);
  assert.equal(s.expectedSize, undefined);
  assert.equal(s.fromCommand, undefined);
});

Deno.test("putSettings: flags map to typed fields", () => {
  const s = putSettings({
    chunkSize: "1.5G",
    tag: ["a=1", "b=x=y"],
    description: "nightly",
    storageClass: "GLACIER",
    clobber: true,
    expectedSize: "10M",
    encrypt: false,
    encryptManifest: false,
    format: "2",
    fromCommand: "pg_dump db",
    strictResume: false,
    summary: "json",
  });
  assert.equal(s.chunkSize, 1.5 * 1024 ** 3);
  assert.deepEqual(s.tags, { a: "1", b: "x=y" });
  assert.equal(s.expectedSize, 10 * 1024 ** 2);
  assert.equal(s.encrypt, false);
  assert.equal(s.encryptManifest, false);
  assert.equal(s.format, 2);
  assert.equal(s.fromCommand, "pg_dump db");
  assert.equal(s.strictResume, false);
  assert.equal(s.summary, "json");
  assert.equal(s.storageClass, "GLACIER");
});

Deno.test("putSettings: refusals name the option", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ chunkSize: "0" }, /--chunk-size/],
    [{ chunkSize: "6G" }, /--chunk-size/],
    [{ chunkSize: "1.3K" }, /--chunk-size/],
    [{ chunkSize: "1M", expectedSize: "lots" }, /--expected-size/],
    [{ chunkSize: "1M", tag: ["novalue"] }, /--tag 'novalue'/],
    [{ chunkSize: "1M", tag: ["=v"] }, /--tag '=v'/],
    [{ chunkSize: "1M", description: "x".repeat(MAX_NOTES + 1) }, /--description and --tag/],
  ];
  for (const [o, msg] of bad) {
    assert.throws(() => putSettings(o), (e) => e instanceof UsageError && msg.test(e.message));
  }
  assert.deepEqual(parseTags(["k="]), { k: "" });
});
