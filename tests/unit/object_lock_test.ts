/** Object Lock, pure: headers, XML bodies and answers, put's lock flags, delete's refusal. */
import assert from "node:assert/strict";
import { LockedError, UsageError } from "../../lib/errors.ts";
import {
  blocksDelete,
  contentMd5,
  describeLock,
  legalHoldXml,
  lockFromHeaders,
  lockHeaders,
  parseLegalHold,
  parseLockConfiguration,
  parseRetention,
  protectsAsMuch,
  retentionXml,
  sameLock,
  settingsFromRule,
} from "../../lib/store/object_lock.ts";
import { lockSettingsOf, parseDuration } from "../../lib/cli/lock_options.ts";
import { refuseLocked, type VersionPlan } from "../../lib/cli/delete_versions.ts";
import { heldMessage } from "../../lib/cli/lock_put.ts";

const NOW = new Date("2026-12-01T10:00:00Z");
const DAY = 86_400_000;

Deno.test("lockHeaders: mode, ISO date and legal hold; nothing for an empty lock", () => {
  const until = new Date("2026-12-02T10:00:00Z");
  assert.deepEqual(lockHeaders({ mode: "GOVERNANCE", retainUntil: until, legalHold: true }), {
    "x-amz-object-lock-mode": "GOVERNANCE",
    "x-amz-object-lock-retain-until-date": "2026-12-02T10:00:00.000Z",
    "x-amz-object-lock-legal-hold": "ON",
  });
  assert.deepEqual(lockHeaders({ legalHold: false }), {});
});

Deno.test("contentMd5: base64 MD5 as S3 checks it", () => {
  assert.equal(contentMd5(new TextEncoder().encode("abc")), "kAFQmDzST7DWlj99KOF/cg==");
});

Deno.test("lockFromHeaders: reads HEAD headers, 9 fractional digits included (Ceph)", () => {
  const h = new Headers({
    "x-amz-object-lock-mode": "COMPLIANCE",
    "x-amz-object-lock-retain-until-date": "2026-12-02T07:29:28.141243585Z",
    "x-amz-object-lock-legal-hold": "ON",
  });
  const l = lockFromHeaders(h);
  assert.equal(l.mode, "COMPLIANCE");
  assert.equal(l.retainUntil?.toISOString(), "2026-12-02T07:29:28.141Z");
  assert.equal(l.legalHold, true);
  assert.deepEqual(lockFromHeaders(new Headers()), { legalHold: false });
  // A mode without a usable date is no retention at all.
  assert.deepEqual(lockFromHeaders(new Headers({ "x-amz-object-lock-mode": "GOVERNANCE" })), {
    legalHold: false,
  });
});

Deno.test("retention and legal hold bodies round-trip through their parsers", () => {
  const until = new Date("2027-01-31T00:00:00Z");
  assert.deepEqual(parseRetention(retentionXml("GOVERNANCE", until)), {
    mode: "GOVERNANCE",
    retainUntil: until,
  });
  assert.equal(parseLegalHold(legalHoldXml(true)), true);
  assert.equal(parseLegalHold(legalHoldXml(false)), false);
  assert.equal(parseRetention("<Retention></Retention>"), undefined);
});

Deno.test("parseLockConfiguration: Ceph (no xmlns) and AWS (xmlns, Years)", () => {
  assert.deepEqual(
    parseLockConfiguration(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>",
    ),
    { enabled: true },
  );
  assert.deepEqual(
    parseLockConfiguration(
      '<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>" +
        "<Mode>COMPLIANCE</Mode><Years>1</Years></DefaultRetention></Rule>" +
        "</ObjectLockConfiguration>",
    ),
    { enabled: true, rule: { mode: "COMPLIANCE", days: 365 } },
  );
  assert.deepEqual(parseLockConfiguration("<Other/>"), { enabled: false });
});

Deno.test("settingsFromRule: one explicit date for every object of the put", () => {
  const s = settingsFromRule({ mode: "GOVERNANCE", days: 2 }, NOW);
  assert.equal(s.retainUntil?.getTime(), NOW.getTime() + 2 * DAY);
  assert.equal(s.mode, "GOVERNANCE");
  assert.equal(s.legalHold, false);
});

Deno.test("sameLock, protectsAsMuch, blocksDelete", () => {
  const gov = {
    mode: "GOVERNANCE" as const,
    retainUntil: new Date(NOW.getTime() + DAY),
    legalHold: false,
  };
  const comp = { ...gov, mode: "COMPLIANCE" as const };
  const none = { legalHold: false };
  assert.ok(sameLock(gov, { ...gov, retainUntil: new Date(gov.retainUntil) }));
  assert.ok(!sameLock(gov, comp));
  assert.ok(protectsAsMuch(comp, gov));
  assert.ok(!protectsAsMuch(gov, comp));
  assert.ok(!protectsAsMuch(none, gov));
  assert.ok(!protectsAsMuch({ ...gov, retainUntil: NOW }, gov));
  assert.ok(!protectsAsMuch(gov, { legalHold: true }));
  assert.ok(blocksDelete(gov, NOW, false));
  assert.ok(!blocksDelete(gov, NOW, true));
  assert.ok(blocksDelete(comp, NOW, true));
  assert.ok(!blocksDelete(comp, new Date(NOW.getTime() + 2 * DAY), false));
  assert.ok(blocksDelete({ legalHold: true }, NOW, true));
  assert.equal(describeLock(none), "no retention, legal hold off");
});

Deno.test("lockSettingsOf: --retain-for counts from the put's start; --retain-until as given", () => {
  assert.equal(lockSettingsOf({}, NOW), undefined);
  const a = lockSettingsOf({ objectLockMode: "GOVERNANCE", retainFor: "30d" }, NOW)!;
  assert.equal(a.retainUntil?.getTime(), NOW.getTime() + 30 * DAY);
  assert.equal(a.legalHold, false);
  const b = lockSettingsOf(
    { objectLockMode: "COMPLIANCE", retainUntil: "2027-01-31T01:00:00+01:00", legalHold: true },
    NOW,
  )!;
  assert.equal(b.retainUntil?.toISOString(), "2027-01-31T00:00:00.000Z");
  assert.equal(b.mode, "COMPLIANCE");
  assert.deepEqual(lockSettingsOf({ legalHold: true }, NOW), { legalHold: true });
  assert.equal(parseDuration("12h"), 12 * 3_600_000);
  assert.equal(parseDuration("1y"), 365 * DAY);
  assert.equal(parseDuration("0d"), undefined);
  assert.equal(parseDuration("3w"), undefined);
});

Deno.test("lockSettingsOf: each refusal is a UsageError naming the flag", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ objectLockMode: "GOVERNANCE" }, /needs --retain-until DATE or --retain-for/],
    [{ retainFor: "1d" }, /--retain-for needs --object-lock-mode/],
    [{ retainUntil: "2027-01-01T00:00:00Z" }, /--retain-until needs --object-lock-mode/],
    [
      { objectLockMode: "GOVERNANCE", retainFor: "1d", retainUntil: "2027-01-01T00:00:00Z" },
      /cannot be combined/,
    ],
    [{ objectLockMode: "GOVERNANCE", retainFor: "soon" }, /--retain-for 'soon' is not a duration/],
    [{ objectLockMode: "GOVERNANCE", retainFor: "101y" }, /over 100 years/],
    [{ objectLockMode: "GOVERNANCE", retainUntil: "2027-01-01" }, /not an RFC 3339 date-time/],
    [{ objectLockMode: "GOVERNANCE", retainUntil: "2026-11-30T00:00:00Z" }, /not in the future/],
    [{ objectLockMode: "FOREVER", retainFor: "1d" }, /GOVERNANCE or COMPLIANCE, got 'FOREVER'/],
  ];
  for (const [o, re] of bad) {
    assert.throws(
      () => lockSettingsOf(o, NOW),
      (e: Error) => e instanceof UsageError && re.test(e.message),
      JSON.stringify(o),
    );
  }
});

Deno.test("refuseLocked: counts per mode and the date the stream may go; bypass lifts GOVERNANCE only", () => {
  const until = new Date(NOW.getTime() + DAY);
  const later = new Date(NOW.getTime() + 2 * DAY);
  const v = (key: string, lock: object) => ({
    key,
    versionId: "v",
    size: 1,
    marker: false,
    lock: { legalHold: false, ...lock },
  });
  const plan: VersionPlan = {
    chunks: [
      v("c0", { mode: "GOVERNANCE", retainUntil: until }),
      v("c1", { mode: "COMPLIANCE", retainUntil: later }),
    ],
    last: [v("m", { mode: "GOVERNANCE", retainUntil: until })],
  };
  assert.throws(
    () => refuseLocked(plan, "db", false, NOW),
    (e: Error) =>
      e instanceof LockedError && /3 of 3 objects cannot be deleted/.test(e.message) &&
      /2 under GOVERNANCE/.test(e.message) && /1 under COMPLIANCE/.test(e.message) &&
      e.message.includes(`after ${later.toISOString()}`) && /nothing was deleted/.test(e.message),
  );
  assert.throws(() => refuseLocked(plan, "db", true, NOW), /1 of 3 objects cannot be deleted/);
  refuseLocked({ chunks: [plan.chunks[0]], last: [] }, "db", true, NOW); // bypass: allowed
  refuseLocked(plan, "db", false, new Date(NOW.getTime() + 3 * DAY)); // all expired
});

Deno.test("heldMessage: says how many stay and until when", () => {
  assert.equal(heldMessage({ count: 0, legalHold: 0 }), undefined);
  const m = heldMessage({ count: 3, legalHold: 0, until: new Date("2026-12-02T10:00:00Z") })!;
  assert.match(m, /^3 objects of the replaced stream are retained until 2026-12-02T10:00:00.000Z/);
  assert.match(m, /s3duct cleanup/);
});
