/**
 * get, verify, restore, list, delete, cleanup and keygen options into typed settings
 * (lib/cli/command_settings.ts): defaults as commander gives them, each flag, each refusal.
 */
import { throwsUsage } from "../helpers.ts";
import assert from "node:assert/strict";
import {
  cleanupSettings,
  deleteSettings,
  getSettings,
  keygenSettings,
  listSettings,
  parseDuration,
  restoreSettings,
  verifySettings,
} from "../../lib/cli/command_settings.ts";

const BASE = { bucket: "b", name: "db", retries: "10", requestTimeout: "60", ageIdentity: [] };

Deno.test("getSettings: stream, keys, auth, range and download options", () => {
  const s = getSettings({
    ...BASE,
    key: "env:K",
    offset: "1M",
    length: "10",
    downloadWorkers: "2",
    summary: "json",
    progress: "none",
    expectSha256: "00".repeat(32),
  });
  assert.equal(s.layout.name, "db");
  assert.equal(s.keys.aes, "env:K");
  assert.deepEqual(s.range, { offset: 1024 * 1024, length: 10 });
  assert.deepEqual(s.transfer.workers, { fixed: 2 });
  assert.equal(s.output.summary, "json");
  assert.equal(s.output.progress, "none");
  assert.equal(s.auth.expectSha256, "00".repeat(32));
  assert.equal(getSettings(BASE).range, undefined);
  throwsUsage(() => getSettings({ ...BASE, downloadWorkers: "x" }), /^--download-workers must be/);
});

Deno.test("verifySettings: a range only with --deep", () => {
  const plain = verifySettings(BASE);
  assert.equal(plain.deep, false);
  assert.equal(plain.range, undefined);
  throwsUsage(() => verifySettings({ ...BASE, offset: "0" }), /verify --deep only/);
  const deep = verifySettings({ ...BASE, deep: true, length: "5" });
  assert.equal(deep.deep, true);
  assert.deepEqual(deep.range, { offset: 0, length: 5 });
});

Deno.test("restoreSettings: days, tier, wait, poll interval and timeout", () => {
  const RESTORE = { ...BASE, days: "7", tier: "Standard", pollInterval: "60", timeout: "72h" };
  const s = restoreSettings(RESTORE);
  assert.equal(s.days, 7);
  assert.equal(s.tier, "Standard");
  assert.equal(s.wait, false);
  assert.equal(s.pollMs, 60_000);
  assert.equal(s.timeoutMs, 72 * 3_600_000);
  const w = restoreSettings({ ...RESTORE, wait: true, tier: "Bulk", timeout: "90s" });
  assert.equal(w.wait, true);
  assert.equal(w.tier, "Bulk");
  assert.equal(w.timeoutMs, 90_000);
  throwsUsage(() => restoreSettings({ ...RESTORE, days: "0" }), /^--days must be .* 1 to 36500/);
  throwsUsage(() => restoreSettings({ ...RESTORE, pollInterval: "0" }), /^--poll-interval/);
  throwsUsage(
    () => restoreSettings({ ...RESTORE, timeout: "soon" }),
    /^--timeout 'soon' is not a duration/,
  );
});

Deno.test("parseDuration: units, fractions, bare seconds; zero and junk refused", () => {
  assert.equal(parseDuration("90s", "--t"), 90_000);
  assert.equal(parseDuration("30m", "--t"), 1_800_000);
  assert.equal(parseDuration("1.5h", "--t"), 5_400_000);
  assert.equal(parseDuration("1D", "--t"), 86_400_000);
  assert.equal(parseDuration("12", "--t"), 12_000);
  throwsUsage(
    () => parseDuration("0", "--t"),
    /^--t '0' is not a duration; use e.g. 90s, 30m, 2h$/,
  );
  throwsUsage(() => parseDuration("2w", "--t"), /^--t '2w'/);
});

Deno.test("deleteSettings and cleanupSettings: the flags, false unless given", () => {
  const d = deleteSettings(BASE);
  assert.deepEqual([d.dryRun, d.force, d.bypassGovernance], [false, false, false]);
  const f = deleteSettings({ ...BASE, dryRun: true, force: true, bypassGovernance: true });
  assert.deepEqual([f.dryRun, f.force, f.bypassGovernance], [true, true, true]);
  const c = cleanupSettings({ ...BASE, name: undefined, prefix: "p", force: true });
  assert.equal(c.root, "p/");
  assert.equal(c.name, undefined);
  assert.deepEqual([c.dryRun, c.force, c.bypassGovernance], [false, true, false]);
  assert.equal(cleanupSettings({ ...BASE }).name, "db");
});

Deno.test("listSettings: --json and -q", () => {
  const l = listSettings({ ...BASE, name: undefined, json: true, quiet: true });
  assert.equal(l.json, true);
  assert.equal(l.output.verbosity, "quiet");
  assert.equal(l.root, "");
  assert.equal(listSettings({ ...BASE, name: undefined }).json, false);
});

Deno.test("keygenSettings: one kind at most; -o", () => {
  assert.deepEqual(keygenSettings({}), { kind: "age", output: undefined });
  assert.deepEqual(keygenSettings({ pq: true }), { kind: "pq", output: undefined });
  assert.deepEqual(keygenSettings({ aes: true, output: "k" }), { kind: "aes", output: "k" });
  assert.deepEqual(keygenSettings({ sign: true }), { kind: "sign", output: undefined });
  throwsUsage(
    () => keygenSettings({ pq: true, sign: true }),
    /^--pq, --aes and --sign cannot be combined; choose one$/,
  );
});
