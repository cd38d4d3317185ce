/**
 * Object Lock on Ceph: buckets created here with Object Lock enabled. Every object's retention
 * and legal hold is read back with GetObjectRetention / GetObjectLegalHold (signed by aws4fetch,
 * not by the code under test), a multipart chunk included; delete refused and bypassed; a
 * COMPLIANCE stream that cannot go; --clobber and cleanup over a locked stream; a bucket
 * without Object Lock refused with nothing written; a bucket default honoured; resume.
 * GOVERNANCE objects are removed with the bypass; the tiny COMPLIANCE ones stay until Ceph
 * is wiped at stop.
 */
import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { ExitCode } from "../../lib/errors.ts";
import { S3Store } from "../../lib/store/s3_store.ts";
import { bytesEqual, ceph, cli, pseudoRandom, putInterrupted, s3Env } from "./harness.ts";
import { tempDir } from "../helpers.ts";

const c = ceph();
const aws = new AwsClient({
  accessKeyId: c.accessKey,
  secretAccessKey: c.secretKey,
  region: c.region,
  service: "s3",
});
const tag = crypto.randomUUID().slice(0, 8);
const LOCKED = `it-lock-${tag}`;
const DEFAULTED = `it-lockdef-${tag}`;
const PLAIN = `it-nolock-${tag}`;
const env = s3Env();
const DAY = 86_400_000;

async function s3(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return await aws.fetch(`${c.endpoint}/${path}`, { method, ...init });
}

async function createBucket(name: string, lock: boolean, defaultDays?: number) {
  const headers: Record<string, string> = lock
    ? { "x-amz-bucket-object-lock-enabled": "true" }
    : {};
  const r = await s3("PUT", name, { headers });
  assert.equal(r.status, 200, await r.text());
  if (defaultDays) {
    const body = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>" +
      `<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>${defaultDays}</Days>` +
      "</DefaultRetention></Rule></ObjectLockConfiguration>";
    const p = await s3("PUT", `${name}?object-lock=`, { body });
    assert.equal(p.status, 200, await p.text());
  }
}

function storeFor(bucket: string): S3Store {
  return new S3Store({
    bucket,
    region: c.region,
    endpoint: c.endpoint,
    credentials: { accessKeyId: c.accessKey, secretAccessKey: c.secretKey },
    keepAlive: false,
  });
}

interface Version {
  key: string;
  versionId: string;
  size: number;
  marker: boolean;
}

async function versionsOf(bucket: string, prefix: string): Promise<Version[]> {
  const out: Version[] = [];
  for await (const v of storeFor(bucket).versions(prefix)) {
    out.push({ key: v.key, versionId: v.versionId, size: v.size, marker: v.deleteMarker });
  }
  return out;
}

/** GetObjectRetention + GetObjectLegalHold of one version, read raw. */
async function lockOf(bucket: string, v: Version) {
  const q = `versionId=${encodeURIComponent(v.versionId)}`;
  const path = `${bucket}/${v.key.split("/").map(encodeURIComponent).join("/")}`;
  const r = await s3("GET", `${path}?retention=&${q}`);
  const rt = await r.text();
  const h = await s3("GET", `${path}?legal-hold=&${q}`);
  const ht = await h.text();
  return {
    mode: r.status === 200 ? /<Mode>([^<]*)<\/Mode>/.exec(rt)?.[1] : undefined,
    until: r.status === 200
      ? new Date(/<RetainUntilDate>([^<]*)</.exec(rt)![1]).toISOString()
      : undefined,
    hold: h.status === 200 && /<Status>ON<\/Status>/.test(ht),
  };
}

const args = (bucket: string, name: string, ...more: string[]) => [
  "--bucket",
  bucket,
  "--endpoint-url",
  c.endpoint,
  "--name",
  name,
  ...more,
];
const put = (bucket: string, name: string, data: Uint8Array, ...more: string[]) =>
  cli(["put", ...args(bucket, name, "--no-encrypt", "--chunk-size", "1000", ...more)], {
    stdin: data,
    env,
  });

Deno.test("object lock: buckets", async () => {
  await createBucket(LOCKED, true);
  await createBucket(DEFAULTED, true, 1);
  await createBucket(PLAIN, false);
});

Deno.test("object lock: every object carries the retention and legal hold, multipart chunk included; verify reports it; delete refused, then bypassed", async () => {
  const data = pseudoRandom(66 * 1024 * 1024 + 3000, 7);
  const r = await cli([
    "put",
    ...args(LOCKED, "big", "--no-encrypt", "--chunk-size", "66M"),
    "--object-lock-mode",
    "GOVERNANCE",
    "--retain-for",
    "1d",
  ], { stdin: data, env });
  assert.equal(r.code, 0, r.stderr);
  const until = /GOVERNANCE until (\S+),/.exec(r.stderr)?.[1];
  assert.ok(until, r.stderr);
  const vs = await versionsOf(LOCKED, "big/");
  assert.equal(vs.length, 3, JSON.stringify(vs)); // 2 chunks + manifest
  assert.ok(vs.some((v) => v.size > 64 * 1024 * 1024), "no multipart-sized chunk");
  for (const v of vs) {
    assert.deepEqual(await lockOf(LOCKED, v), { mode: "GOVERNANCE", until, hold: false }, v.key);
  }
  const text = await cli(["verify", ...args(LOCKED, "big")], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, new RegExp(`Object Lock: GOVERNANCE until ${until}, legal hold off`));
  assert.match(text.stderr, /all 2 other objects carry the same lock/);
  const json = await cli(["verify", ...args(LOCKED, "big", "--summary", "json")], { env });
  const lock = JSON.parse(json.stderr.trim().split("\n").at(-1)!).object_lock;
  assert.deepEqual(lock, {
    mode: "GOVERNANCE",
    retain_until: until,
    legal_hold: false,
    objects_checked: 3,
    objects_different: [],
  });
  const refused = await cli(["delete", ...args(LOCKED, "big", "--force")], { env });
  assert.equal(refused.code, ExitCode.LOCKED, refused.stderr);
  assert.match(refused.stderr, /3 of 3 objects cannot be deleted yet \(3 under GOVERNANCE/);
  assert.match(refused.stderr, new RegExp(`can be deleted after ${until}`));
  assert.equal((await versionsOf(LOCKED, "big/")).length, 3, "a refused delete removed something");
  const bypass = await cli(["delete", ...args(LOCKED, "big", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(bypass.code, 0, bypass.stderr);
  assert.match(bypass.stderr, /Deleted 3 object versions of 'big'/);
  assert.deepEqual(await versionsOf(LOCKED, "big/"), [], "versions or markers left behind");
});

Deno.test("object lock: a legal hold and a COMPLIANCE stream cannot be deleted, even with the bypass", async () => {
  const hold = await put(LOCKED, "held", pseudoRandom(1500, 2), "--legal-hold");
  assert.equal(hold.code, 0, hold.stderr);
  for (const v of await versionsOf(LOCKED, "held/")) {
    assert.deepEqual(await lockOf(LOCKED, v), { mode: undefined, until: undefined, hold: true });
  }
  const v = await cli(["verify", ...args(LOCKED, "held")], { env });
  assert.match(v.stderr, /no retention, legal hold on/);
  const d1 = await cli(["delete", ...args(LOCKED, "held", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(d1.code, ExitCode.LOCKED, d1.stderr);
  assert.match(d1.stderr, /3 under a legal hold/);
  const comp = await put(
    LOCKED,
    "comp",
    pseudoRandom(1500, 3),
    "--object-lock-mode",
    "COMPLIANCE",
    "--retain-for",
    "1d",
  );
  assert.equal(comp.code, 0, comp.stderr);
  const d2 = await cli(["delete", ...args(LOCKED, "comp", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(d2.code, ExitCode.LOCKED, d2.stderr);
  assert.match(d2.stderr, /3 of 3 objects cannot be deleted yet \(3 under COMPLIANCE retention\)/);
  assert.equal((await versionsOf(LOCKED, "comp/")).length, 3);
  // Lift the hold so the bucket is not left with objects nothing can remove.
  for (const x of await versionsOf(LOCKED, "held/")) {
    const body = "<LegalHold><Status>OFF</Status></LegalHold>";
    const r = await s3("PUT", `${LOCKED}/${x.key}?legal-hold=&versionId=${x.versionId}`, { body });
    assert.equal(r.status, 200, await r.text());
  }
  const d3 = await cli(["delete", ...args(LOCKED, "held", "--force")], { env });
  assert.equal(d3.code, 0, d3.stderr);
});

Deno.test("object lock: --clobber leaves the locked generation; cleanup lists it with dates and removes it once allowed", async () => {
  const soon = new Date(Date.now() + 6000).toISOString();
  const first = await put(
    LOCKED,
    "clob",
    pseudoRandom(3000, 4),
    "--object-lock-mode",
    "GOVERNANCE",
    "--retain-until",
    soon,
  );
  assert.equal(first.code, 0, first.stderr);
  const data = pseudoRandom(2000, 5);
  const again = await put(
    LOCKED,
    "clob",
    data,
    "--clobber",
    "--object-lock-mode",
    "GOVERNANCE",
    "--retain-for",
    "1d",
  );
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /3 objects of the replaced stream are retained until/);
  const got = await cli(["get", ...args(LOCKED, "clob")], { env });
  assert.equal(got.code, 0, got.stderr);
  assert.ok(bytesEqual(got.stdout, data));
  const dry = await cli(["cleanup", ...args(LOCKED, "clob", "--dry-run")], { env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(new TextDecoder().decode(dry.stdout).trim().split("\n").length, 3);
  assert.equal(
    (dry.stderr.match(/LOCKED clob\/g[0-9a-z]{8}\/chunk-\d+: GOVERNANCE until/g) ?? []).length,
    3,
  );
  const kept = await cli(["cleanup", ...args(LOCKED, "clob", "--force")], { env });
  assert.equal(kept.code, 0, kept.stderr);
  assert.match(kept.stderr, /3 of them are still locked and stay/);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(soon) - Date.now() + 1000)));
  const gone = await cli(["cleanup", ...args(LOCKED, "clob", "--force")], { env });
  assert.equal(gone.code, 0, gone.stderr);
  assert.match(gone.stderr, /Deleted 3 orphan chunks/);
  // Chunks of the live generation, its manifest and the old manifest version remain.
  const left = await versionsOf(LOCKED, "clob/");
  assert.equal(left.filter((v) => /chunk-/.test(v.key)).length, 2, JSON.stringify(left));
  const del = await cli(["delete", ...args(LOCKED, "clob", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(del.code, 0, del.stderr);
  // What went, truthfully: 2 chunks (2000 bytes) plus two manifest versions.
  assert.match(del.stderr, /Deleted 4 object versions of 'clob'/);
  assert.deepEqual(await versionsOf(LOCKED, "clob/"), []);
});

Deno.test("object lock: a bucket without Object Lock is refused before any object is written; the local store refuses the flags", async () => {
  const r = await put(
    PLAIN,
    "s",
    pseudoRandom(3000, 6),
    "--object-lock-mode",
    "GOVERNANCE",
    "--retain-for",
    "1d",
  );
  assert.equal(r.code, ExitCode.USAGE, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /does not have Object Lock enabled/);
  assert.deepEqual(await versionsOf(PLAIN, ""), []);
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/b`);
  const local = await cli([
    "put",
    "--bucket",
    "b",
    "--endpoint-url",
    `file://${dir}`,
    "--name",
    "s",
    "--no-encrypt",
    "--legal-hold",
  ], { stdin: pseudoRandom(10), env });
  assert.equal(local.code, ExitCode.USAGE, local.stderr);
  assert.match(local.stderr, /local directory store does not support Object Lock/);
  assert.deepEqual([...Deno.readDirSync(`${dir}/b`)], []);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("object lock: a bucket default retention is honoured and reported without any flag", async () => {
  const r = await put(DEFAULTED, "d", pseudoRandom(2500, 8));
  assert.equal(r.code, 0, r.stderr);
  const until =
    /bucket default retention GOVERNANCE 1 days: every object of this put is retained until (\S+)/
      .exec(r.stderr)?.[1];
  assert.ok(until, r.stderr);
  assert.ok(Math.abs(Date.parse(until) - Date.now() - DAY) < 60_000);
  const vs = await versionsOf(DEFAULTED, "d/");
  assert.equal(vs.length, 4);
  for (const v of vs) {
    assert.deepEqual(await lockOf(DEFAULTED, v), { mode: "GOVERNANCE", until, hold: false });
  }
  const d = await cli(["delete", ...args(DEFAULTED, "d", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(d.code, 0, d.stderr);
});

Deno.test("object lock: an interrupted locked put resumes; the publish check runs; kept chunks get the new lock", async () => {
  const data = pseudoRandom(40_000, 9);
  const renv = { ...env, S3DUCT_STATE_DIR: tempDir("s3duct-state-") };
  const lockArgs = ["--object-lock-mode", "GOVERNANCE", "--retain-for", "1d"];
  const base = ["put", ...args(LOCKED, "res", "--no-encrypt", "--chunk-size", "1000"), ...lockArgs];
  await putInterrupted(base, data, renv, 3);
  await new Promise((r) => setTimeout(r, 1100)); // the re-run's --retain-for date is later
  const r = await cli([...base, "--summary", "json"], { stdin: data, env: renv });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stderr.trim().split("\n").find((l) => l.startsWith("{"))!);
  assert.ok(summary.chunks_resumed >= 3, r.stderr);
  assert.ok(summary.publish_check_list_requests >= 1, r.stderr);
  assert.match(r.stderr, /extended \d+ chunks kept from the interrupted run/);
  const v = await cli(["verify", ...args(LOCKED, "res")], { env });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stderr, /all 40 other objects carry the same lock/);
  const got = await cli(["get", ...args(LOCKED, "res")], { env });
  assert.ok(bytesEqual(got.stdout, data));
  const d = await cli(["delete", ...args(LOCKED, "res", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(d.code, 0, d.stderr);
  // Chunks of the interrupted run beyond the manifest are orphans; cleanup takes them.
  const cl = await cli(["cleanup", ...args(LOCKED, "res", "--force", "--bypass-governance")], {
    env,
  });
  assert.equal(cl.code, 0, cl.stderr);
  Deno.removeSync(renv.S3DUCT_STATE_DIR, { recursive: true });
});

Deno.test("object lock with SSE: KMS objects get the lock once encrypted; Ceph's plaintext SSE-S3 leaves no locked version", async () => {
  const kms = Deno.env.get("S3DUCT_TEST_KMS_KEY_ID");
  assert.ok(kms, "tests/servers/ceph.sh exports S3DUCT_TEST_KMS_KEY_ID");
  const lock = ["--object-lock-mode", "GOVERNANCE", "--retain-for", "1d"];
  const data = pseudoRandom(3000, 21);
  const ok = await put(
    LOCKED,
    "sse-kms",
    data,
    ...lock,
    "--sse",
    "aws:kms",
    "--sse-kms-key-id",
    kms,
  );
  assert.equal(ok.code, 0, ok.stderr);
  const vs = (await versionsOf(LOCKED, "sse-kms/")).filter((v) => !v.marker);
  assert.ok(vs.length >= 4, "chunks and manifest");
  for (const v of vs) assert.equal((await lockOf(LOCKED, v)).mode, "GOVERNANCE", v.key);

  // Ceph 16.2 stores SSE-S3 objects in plaintext: the put fails on its first object, which
  // must be gone for good, not kept as a locked version behind a delete marker.
  const bad = await put(LOCKED, "sse-s3", data, ...lock, "--sse", "AES256");
  assert.equal(bad.code, ExitCode.STORE, bad.stderr);
  const left = (await versionsOf(LOCKED, "sse-s3/")).filter((v) => !v.marker);
  assert.deepEqual(left, [], "no version of the unencrypted object stays");
  // Clean up the KMS stream's locked versions (GOVERNANCE: bypass).
  const del = await cli(["delete", ...args(LOCKED, "sse-kms"), "--force", "--bypass-governance"], {
    env,
  });
  assert.equal(del.code, 0, del.stderr);
});
