/** The shared options into typed settings (lib/cli/settings.ts): defaults, rules, refusals. */
import { throwsUsage } from "../helpers.ts";
import assert from "node:assert/strict";
import {
  authSettings,
  hasReadKey,
  keySettings,
  outputSettings,
  storeSettings,
  streamLocation,
  treeLocation,
} from "../../lib/cli/settings.ts";

/** What commander gives a stream command with only the required options. */
const BASE = { bucket: "b", name: "db", retries: "10", requestTimeout: "60" };

Deno.test("storeSettings: defaults as commander gives them", () => {
  const s = storeSettings(BASE);
  assert.deepEqual(s, {
    bucket: "b",
    name: "db",
    prefix: undefined,
    endpointUrl: undefined,
    region: undefined,
    caBundle: undefined,
    retries: 10,
    timeoutMs: 60_000,
    sse: {
      mode: undefined,
      kmsKeyId: undefined,
      kmsContext: undefined,
      customerKey: undefined,
      clientKey: undefined,
    },
  });
});

Deno.test("storeSettings: flags map to typed fields", () => {
  const s = storeSettings({
    ...BASE,
    prefix: "backups/2026",
    endpointUrl: "http://127.0.0.1:9000",
    region: "eu-west-1",
    caBundle: "/etc/ca.pem",
    retries: "0",
    requestTimeout: "0.5",
    sseCKey: "env:K",
    key: "env:A",
  });
  assert.equal(s.prefix, "backups/2026");
  assert.equal(s.endpointUrl, "http://127.0.0.1:9000");
  assert.equal(s.region, "eu-west-1");
  assert.equal(s.caBundle, "/etc/ca.pem");
  assert.equal(s.retries, 0);
  assert.equal(s.timeoutMs, 500);
  assert.equal(s.sse.mode, "sse-c");
  assert.equal(s.sse.customerKey, "env:K");
  assert.equal(s.sse.clientKey, "env:A");
});

Deno.test("storeSettings: bad --retries and --request-timeout, with the value typed", () => {
  throwsUsage(
    () => storeSettings({ ...BASE, retries: "x" }),
    /--retries must be .* 0 to 100, got 'x'/,
  );
  throwsUsage(() => storeSettings({ ...BASE, retries: "101" }), /--retries/);
  for (const t of ["0", "3601", "1e3", "abc", "-1"]) {
    throwsUsage(
      () => storeSettings({ ...BASE, requestTimeout: t }),
      new RegExp(`--request-timeout must be a number of seconds from 0.1 to 3600, got '${t}'`),
    );
  }
  throwsUsage(() => storeSettings({ ...BASE, sse: "AES256", sseCKey: "env:K" }), /choose one/);
});

Deno.test("streamLocation: the layout, and --name / --prefix refused as before", () => {
  const { layout, store } = streamLocation({ ...BASE, name: "db/nightly", prefix: "p/q/" });
  assert.equal(layout.name, "db/nightly");
  assert.equal(layout.prefix, "p/q/");
  assert.equal(store.prefix, "p/q/", "the prefix as typed (restore hints repeat it)");
  throwsUsage(() => streamLocation({ ...BASE, name: "" }), /^--name: /);
  throwsUsage(
    () => streamLocation({ ...BASE, prefix: "/abs" }),
    /^--prefix must not start with '\/'/,
  );
  throwsUsage(() => streamLocation({ ...BASE, prefix: "a/../b" }), /'\.\.' path segments/);
  throwsUsage(() => streamLocation({ ...BASE, name: "x".repeat(1100) }), /1024/);
});

Deno.test("treeLocation: the normalized root; cleanup's optional --name checked", () => {
  assert.equal(treeLocation({ ...BASE, name: undefined }).root, "");
  const t = treeLocation({ ...BASE, name: undefined, prefix: "backups//" });
  assert.equal(t.root, "backups/", "trailing slashes folded, as list always did");
  assert.equal(t.name, undefined);
  assert.equal(treeLocation({ ...BASE, name: "db" }).name, "db");
  throwsUsage(() => treeLocation({ ...BASE, name: "", prefix: "p" }), /^--name: /);
  throwsUsage(() => treeLocation({ ...BASE, name: undefined, prefix: "/x" }), /^--prefix /);
});

Deno.test("outputSettings: -q wins over -v; defaults for commands without the options", () => {
  assert.deepEqual(outputSettings({}), {
    verbosity: "normal",
    quiet: false,
    summary: "text",
    progress: "auto",
  });
  assert.equal(outputSettings({ verbose: true }).verbosity, "verbose");
  const q = outputSettings({ quiet: true, verbose: true, summary: "json", progress: "none" });
  assert.deepEqual(q, { verbosity: "quiet", quiet: true, summary: "json", progress: "none" });
});

Deno.test("keySettings: the specs only, never a key", () => {
  const none = keySettings({ ageIdentity: [] });
  assert.deepEqual(none, {
    aes: undefined,
    ageIdentities: [],
    ageRecipients: [],
    ageRecipientFiles: [],
  });
  assert.equal(hasReadKey(none), false);
  assert.equal(hasReadKey(keySettings({ key: "env:K" })), true);
  const age = keySettings({
    ageIdentity: ["id.txt"],
    ageRecipient: ["age1x"],
    ageRecipientsFile: ["r.txt"],
  });
  assert.deepEqual(age.ageIdentities, ["id.txt"]);
  assert.deepEqual(age.ageRecipients, ["age1x"]);
  assert.deepEqual(age.ageRecipientFiles, ["r.txt"]);
  assert.equal(hasReadKey(age), true);
  assert.equal(
    hasReadKey(keySettings({ ageRecipient: ["age1x"] })),
    false,
    "recipients open nothing",
  );
});

Deno.test("authSettings: --expect-sha256 checked and lowercased; --verify-key as given", () => {
  const hex = "AB".repeat(32);
  assert.deepEqual(authSettings({ expectSha256: ` ${hex} `, verifyKey: "pub.txt" }), {
    verifyKey: "pub.txt",
    expectSha256: hex.toLowerCase(),
  });
  assert.deepEqual(authSettings({}), { verifyKey: undefined, expectSha256: undefined });
  throwsUsage(
    () => authSettings({ expectSha256: "abc" }),
    /^--expect-sha256 must be 64 hex digits \(a SHA-256\), got 'abc'$/,
  );
});
