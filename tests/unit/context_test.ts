/**
 * commandContext (lib/cli/context.ts): one place builds log, layout, keys and store, in a fixed
 * order; and every key or identity file goes through the one reader (lib/crypto/keyspec.ts),
 * so a missing file is a KeyError (exit 5, README "Exit codes") on every path.
 */
import assert from "node:assert/strict";
import { ExitCode, KeyError, UsageError } from "../../lib/errors.ts";
import { commandContext, keyringOf } from "../../lib/cli/context.ts";
import { signingStoreOf } from "../../lib/cli/auth.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import { Log } from "../../lib/ui/log.ts";
import {
  keySettings,
  outputSettings,
  type StoreSettings,
  storeSettings,
} from "../../lib/cli/settings.ts";

/** A local directory store with bucket `b` under a fresh temp folder, removed afterwards. */
async function withStore(f: (store: StoreSettings, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "s3duct-context-" });
  try {
    await Deno.mkdir(`${dir}/b`);
    const store = storeSettings({
      bucket: "b",
      name: "db",
      endpointUrl: `file://${dir}`,
      retries: "0",
      requestTimeout: "5",
    });
    await f(store, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const QUIET = outputSettings({ quiet: true });

function keyError(file: string) {
  return (e: unknown) =>
    e instanceof KeyError && e.exitCode === ExitCode.KEY && e.message.includes(`'${file}'`) &&
    /does not exist/.test(e.message);
}

Deno.test("commandContext: log, layout, keys and an opened store", async () => {
  await withStore(async (store, dir) => {
    const layout = new StreamLayout("db", "p/");
    const ctx = await commandContext({ store, output: QUIET, layout, keys: keySettings({}) });
    assert.equal(ctx.layout, layout);
    assert.equal(ctx.log.verbosity, "quiet");
    assert.deepEqual(ctx.keys, {});
    assert.equal(ctx.sse, undefined);
    assert.match(ctx.store.location, new RegExp(dir));
    await ctx.store.checkBucket(); // a real, usable store
    const guarded = await commandContext({
      store,
      output: QUIET,
      layout,
      keys: keySettings({ key: `hex:${"ab".repeat(32)}` }),
      auth: { expectSha256: "00".repeat(32) },
    });
    assert.ok(guarded.keys.aes, "the AES key was read");
    assert.ok(guarded.keys.guard, "readers get the manifest guard");
  });
});

Deno.test("commandContext: keys first, then the command's key check, then the store", async () => {
  await withStore(async (store) => {
    // A bucket openStore refuses: reached only once the keys and their check have passed.
    const bad = { ...store, bucket: "not a bucket" };
    const both = keySettings({ key: "env:K", ageIdentity: ["id.txt"] });
    let checked = false;
    const use = { checkKeys: () => (checked = true) };
    await assert.rejects(
      commandContext({ store: bad, output: QUIET, layout: undefined, keys: both }, use),
      (e: unknown) => e instanceof UsageError && /cannot be combined; choose one/.test(e.message),
    );
    assert.equal(checked, false, "no key check before the keys are read");
    const refuse = {
      checkKeys: () => {
        throw new KeyError("checked before the store");
      },
    };
    await assert.rejects(
      commandContext({ store: bad, output: QUIET, layout: undefined }, refuse),
      /checked before the store/,
    );
    await assert.rejects(
      commandContext({ store: bad, output: QUIET, layout: undefined }),
      (e: unknown) => e instanceof UsageError && /is not a valid bucket name/.test(e.message),
    );
  });
});

Deno.test("a missing key or identity file is exit 5 on every path, naming the file", async () => {
  const log = new Log("quiet");
  const missing = "/nonexistent/s3duct-key";
  await assert.rejects(keyringOf(keySettings({ key: `file:${missing}` }), log), keyError(missing));
  await assert.rejects(
    keyringOf(keySettings({ ageIdentity: [missing] }), log),
    keyError(missing),
  );
  await assert.rejects(
    keyringOf(keySettings({ ageRecipientsFile: [missing] }), log, true),
    keyError(missing),
  );
  await withStore(async (store) => {
    const layout = new StreamLayout("db");
    await assert.rejects(
      commandContext({ store, output: QUIET, layout, auth: { verifyKey: missing } }),
      keyError(missing),
    );
    const sseC = { ...store, sse: { mode: "sse-c" as const, customerKey: `file:${missing}` } };
    await assert.rejects(
      commandContext({ store: sseC, output: QUIET, layout }),
      keyError(missing),
    );
    const ctx = await commandContext({ store, output: QUIET, layout });
    await assert.rejects(
      signingStoreOf(ctx.store, missing, "b", layout, log),
      keyError(missing),
    );
  });
});
