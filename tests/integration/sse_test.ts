/**
 * Server-side encryption on Ceph RGW 16.2 (tests/servers/ceph.sh enables SSE-C and SSE-KMS with
 * the `testing` KMS backend): round trips with a multipart chunk and ranged gets, what the
 * server says it stored (raw HEADs), SSE-S3 refused because Ceph stores it as plaintext, missing
 * and wrong SSE-C keys, `verify --deep`, resume after SIGKILL, and no key in any output.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { AwsClient } from "aws4fetch";
import { S3Store } from "../../lib/store/s3_store.ts";
import { FAULT_KINDS, type FaultKind, FaultProxy } from "../servers/fault_proxy.ts";
import { tempDir } from "../helpers.ts";
import {
  bytesEqual,
  ceph,
  cleanPrefix,
  cli,
  directStore,
  findChunkKey,
  pseudoRandom,
  putInterrupted,
  runPrefix,
  s3Args,
  s3Env,
} from "./harness.ts";

const c = ceph();
const prefix = runPrefix("sse");
const KMS_KEY = Deno.env.get("S3DUCT_TEST_KMS_KEY_ID") ?? "";
const SSE_C = "3c".repeat(16) + "d7".repeat(16);
const SSE_C_OTHER = "e1".repeat(32);
const AES = "5a".repeat(32);
const env = { ...s3Env(), SSEC: SSE_C, SSEC2: SSE_C_OTHER, K: AES };
const MiB = 1024 * 1024;
// One chunk over the 64 MiB multipart threshold, then a short tail chunk.
const BIG = pseudoRandom(66 * MiB + 12345, 7);
const BIG_CHUNK = "66M";

/** The key material in every form it could leak in: hex, base64. */
const SECRETS = [SSE_C, SSE_C_OTHER, AES].flatMap((h) => [
  h,
  Buffer.from(h, "hex").toString("base64"),
]);

function noSecrets(text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), "key material in the output");
}

const at = (name: string) => [...s3Args(c), "--prefix", prefix, "--name", name];

/** HEAD an object with a raw signed request: the SSE headers exactly as the server sent them. */
async function rawHead(key: string, headers: Record<string, string> = {}): Promise<Response> {
  const aws = new AwsClient({
    accessKeyId: c.accessKey,
    secretAccessKey: c.secretKey,
    region: c.region,
    service: "s3",
  });
  const url = `${c.endpoint}/${c.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const res = await aws.fetch(url, { method: "HEAD", headers });
  await res.body?.cancel();
  return res;
}

function sseCHeaders(hex: string): Record<string, string> {
  const key = Buffer.from(hex, "hex");
  return {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": key.toString("base64"),
    "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(key).digest(
      "base64",
    ),
  };
}

async function objectsUnder(base: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of directStore(c).list(`${base}/`)) if (e.kind === "object") keys.push(e.key);
  return keys;
}

/** The stored manifest's JSON (a plain manifest, read with the SSE-C headers when given). */
async function manifestJson(name: string, hex?: string): Promise<Record<string, unknown>> {
  const key = `${prefix}/${name}/.manifest.json`;
  const aws = new AwsClient({
    accessKeyId: c.accessKey,
    secretAccessKey: c.secretKey,
    region: c.region,
    service: "s3",
  });
  const res = await aws.fetch(`${c.endpoint}/${c.bucket}/${key}`, {
    headers: hex ? sseCHeaders(hex) : {},
  });
  assert.equal(res.status, 200, `manifest GET: ${res.status}`);
  return await res.json();
}

function lastJson(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trim().split("\n").at(-1)!);
}

Deno.test({
  name: "sse: SSE-KMS round trip, multipart chunk, ranged get; every object says aws:kms",
  sanitizeResources: false,
  fn: async () => {
    assert.ok(KMS_KEY, "S3DUCT_TEST_KMS_KEY_ID is not set: tests/servers/ceph.sh exports it");
    const put = await cli([
      "put",
      ...at("kms"),
      "--no-encrypt",
      "--chunk-size",
      BIG_CHUNK,
      "--sse",
      "aws:kms",
      "--sse-kms-key-id",
      KMS_KEY,
      "--sse-kms-context",
      btoa('{"app":"s3duct-test"}'),
    ], { stdin: BIG, env });
    assert.equal(put.code, 0, put.stderr);
    for (const key of [await findChunkKey(`${prefix}/kms`, 0), `${prefix}/kms/.manifest.json`]) {
      const h = await rawHead(key);
      assert.equal(h.status, 200);
      assert.equal(h.headers.get("x-amz-server-side-encryption"), "aws:kms", key);
      assert.equal(h.headers.get("x-amz-server-side-encryption-aws-kms-key-id"), KMS_KEY, key);
    }
    // The multipart chunk's ETag has the part count: it did go up as a multipart upload.
    const chunk0 = await directStore(c).head(await findChunkKey(`${prefix}/kms`, 0));
    assert.match(chunk0!.etag, /-\d+"?$/);
    assert.equal((await manifestJson("kms")).server_side_encryption, "sse-kms");
    const get = await cli(["get", ...at("kms")], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, BIG), "round trip");
    // A range across the border of the multipart chunk and the tail (reads need no headers).
    const from = 66 * MiB - 1000;
    const range = await cli(["get", ...at("kms"), "--offset", String(from), "--length", "3000"], {
      env,
    });
    assert.equal(range.code, 0, range.stderr);
    assert.ok(bytesEqual(range.stdout, BIG.subarray(from, from + 3000)));
    await cleanPrefix(`${prefix}/kms`);
  },
});

Deno.test({
  name: "sse: SSE-C with --key, multipart chunk, ranged get, verify --deep; key needed to read",
  sanitizeResources: false,
  fn: async () => {
    const put = await cli([
      "put",
      ...at("ssec"),
      "--key",
      "env:K",
      "--no-encrypt-manifest",
      "--chunk-size",
      BIG_CHUNK,
      "--sse-c-key",
      "env:SSEC",
    ], { stdin: BIG, env });
    assert.equal(put.code, 0, put.stderr);
    noSecrets(put.stderr);
    const chunk0 = await findChunkKey(`${prefix}/ssec`, 0);
    for (const key of [chunk0, `${prefix}/ssec/.manifest.json`]) {
      // Without the key the server refuses even a HEAD: the object is stored under SSE-C.
      assert.equal((await rawHead(key)).status, 400, key);
      const h = await rawHead(key, sseCHeaders(SSE_C));
      assert.equal(h.status, 200, key);
      assert.equal(h.headers.get("x-amz-server-side-encryption-customer-algorithm"), "AES256");
    }
    const manifest = await manifestJson("ssec", SSE_C);
    assert.equal(manifest.server_side_encryption, "sse-c");
    assert.equal(manifest.encryption_method, "aes-256-gcm");
    assert.ok(!JSON.stringify(manifest).includes(SSE_C), "the SSE-C key is not recorded");
    const read = ["--key", "env:K", "--sse-c-key", "env:SSEC"];
    const get = await cli(["get", ...at("ssec"), ...read], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, BIG), "round trip");
    const from = 66 * MiB - 7;
    const range = await cli(
      ["get", ...at("ssec"), ...read, "--offset", String(from), "--length", "20"],
      { env },
    );
    assert.equal(range.code, 0, range.stderr);
    assert.ok(bytesEqual(range.stdout, BIG.subarray(from, from + 20)));
    const deep = await cli(["verify", ...at("ssec"), ...read, "--deep"], { env });
    assert.equal(deep.code, 0, deep.stderr);
    noSecrets(get.stderr + range.stderr + deep.stderr);
  },
});

Deno.test({
  name: "sse: a missing or wrong SSE-C key is one line, exit 5, for get, verify and list",
  sanitizeResources: false,
  fn: async () => {
    const manifest = `s3://${c.bucket}/${prefix}/ssec/.manifest.json`;
    const missing = await cli(["get", ...at("ssec"), "--key", "env:K"], { env });
    assert.equal(missing.code, 5);
    assert.equal(missing.stdout.length, 0);
    assert.equal(
      missing.stderr.trim(),
      `s3duct: error: GET ${manifest}: the object is stored with SSE-C (a customer-provided ` +
        "key); pass the key it was stored with: --sse-c-key env:VAR or file:PATH",
    );
    const wrong = await cli(
      ["get", ...at("ssec"), "--key", "env:K", "--sse-c-key", "env:SSEC2"],
      { env },
    );
    assert.equal(wrong.code, 5);
    assert.equal(wrong.stdout.length, 0);
    assert.equal(
      wrong.stderr.trim(),
      `s3duct: error: GET ${manifest}: the SSE-C key is not the one this object was stored ` +
        "with; pass the key it was stored with: --sse-c-key env:VAR or file:PATH",
    );
    const deep = await cli(["verify", ...at("ssec"), "--key", "env:K", "--deep"], { env });
    assert.equal(deep.code, 5, deep.stderr);
    assert.match(deep.stderr, /stored with SSE-C/);
    // list names the stream it cannot read, and reads it with the key.
    const list = await cli(["list", ...s3Args(c), "--prefix", prefix], { env });
    assert.match(new TextDecoder().decode(list.stdout), /ssec .*manifest unreadable.*--sse-c-key/);
    const listed = await cli(
      ["list", ...s3Args(c), "--prefix", prefix, "--sse-c-key", "env:SSEC"],
      { env },
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(new TextDecoder().decode(listed.stdout), /ssec\s+2 chunks/);
    noSecrets(missing.stderr + wrong.stderr + deep.stderr + list.stderr + listed.stderr);
    await cleanPrefix(`${prefix}/ssec`);
  },
});

Deno.test({
  name: "sse: SSE-S3 on Ceph 16.2 (stored as plaintext) fails the put; nothing is left",
  sanitizeResources: false,
  fn: async () => {
    // Many small chunks and 4 workers: no chunk may be left in flight to land in plaintext.
    const data = pseudoRandom(1_000_000, 3);
    const r = await cli(
      [
        "put",
        ...at("s3"),
        "--no-encrypt",
        "--chunk-size",
        "64K",
        "--upload-workers",
        "4",
        "--sse",
        "AES256",
      ],
      { stdin: data, env },
    );
    assert.equal(r.code, 7, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /^s3duct: error: PUT s3:\/\/\S+: the server answered without x-amz-server-side-encryption: it does not support SSE-S3 \(--sse AES256\) \(Ceph RGW 16\.2 accepts AES256 and stores plaintext\); use --sse aws:kms or --sse-c-key there; refusing to store data the server may have kept unencrypted$/,
    );
    // No manifest, and the plaintext chunk the server took was deleted again.
    assert.deepEqual(await objectsUnder(`${prefix}/s3`), []);
  },
});

Deno.test({
  name:
    "sse: a put with SSE-C resumes after SIGKILL (log, then bucket records); another SSE-C key is refused",
  sanitizeResources: false,
  fn: async () => {
    const data = pseudoRandom(3 * MiB, 11);
    const state = { ...env, S3DUCT_STATE_DIR: tempDir("s3duct-sse-") };
    const args = (key: string) => [
      "put",
      ...at("resume"),
      "--no-encrypt",
      "--chunk-size",
      "256K",
      "--upload-workers",
      "2",
      "--summary",
      "json",
      "--sse-c-key",
      key,
    ];
    await putInterrupted(args("env:SSEC"), data, state, 3);
    const other = await cli(args("env:SSEC2"), { stdin: data, env: state });
    assert.equal(other.code, 11, other.stderr);
    assert.match(other.stderr, /different key or encryption/);
    // A fresh state dir: no log, so the chunks' bucket records are read (HEADs with the key).
    const fresh = { ...env, S3DUCT_STATE_DIR: tempDir("s3duct-sse-") };
    const again = await cli([...args("env:SSEC"), "-v"], { stdin: data, env: fresh });
    assert.equal(again.code, 0, again.stderr);
    assert.ok((lastJson(again.stderr).chunks_resumed as number) >= 3, again.stderr);
    const get = await cli(["get", ...at("resume"), "--sse-c-key", "env:SSEC"], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, data), "resumed stream restores byte-identical");
    noSecrets(other.stderr + again.stderr + get.stderr);
    // Chunks stored without SSE are not lent to a put asking for it.
    const plain = args("env:SSEC").slice(0, -2);
    const noSse = { ...env, S3DUCT_STATE_DIR: tempDir("s3duct-sse-") };
    plain[plain.indexOf("resume")] = "resume-kms";
    await putInterrupted(plain, data, noSse, 3);
    const kms = await cli([...plain, "--sse", "aws:kms", "--sse-kms-key-id", KMS_KEY], {
      stdin: data,
      env: noSse,
    });
    assert.equal(kms.code, 11, kms.stderr);
    await cleanPrefix(`${prefix}/resume`);
    await cleanPrefix(`${prefix}/resume-kms`);
  },
});

Deno.test({
  name: "sse: SSE-C requests survive resets, 500s, SlowDown and truncation (fault proxy)",
  sanitizeResources: false,
  fn: async () => {
    const plan: (FaultKind | "none")[] = [...FAULT_KINDS.filter((k) => k !== "stall"), "none"];
    const body = pseudoRandom(2 * MiB + 3, 13);
    const key = `${prefix}/faults/object`;
    const sse = { mode: "sse-c" as const, customerKey: Buffer.from(SSE_C, "hex") };
    for (const op of ["put", "get", "range"] as const) {
      const p = new FaultProxy({ upstream: c.endpoint, plan, stallMs: 1000 });
      try {
        const store = new S3Store({
          bucket: c.bucket,
          region: c.region,
          endpoint: p.endpoint,
          credentials: { accessKeyId: c.accessKey, secretAccessKey: c.secretKey },
          keepAlive: false,
          retry: { retries: 10, baseMs: 1, capMs: 20 },
          sse,
        });
        if (op === "put") await store.put(key, body);
        else if (op === "get") assert.ok(bytesEqual(await store.get(key), body), "GET bytes");
        else {
          const got = await store.get(key, { start: 5, end: MiB });
          assert.ok(bytesEqual(got, body.subarray(5, MiB + 1)), "range bytes");
        }
        assert.equal(p.requests, plan.length, `${op}: one attempt per fault, then the good one`);
      } finally {
        await p.close();
      }
    }
    assert.equal((await rawHead(key)).status, 400, "stored under SSE-C");
    await cleanPrefix(`${prefix}/faults`);
  },
});

Deno.test({
  name: "sse: bad SSE settings are one line before anything is stored",
  sanitizeResources: false,
  fn: async () => {
    const data = pseudoRandom(1000, 5);
    const cases: [string[], number, RegExp][] = [
      [["--sse", "aws:kms", "--sse-kms-key-id", "no-such-key"], 5, /cannot use the KMS key/],
      [["--sse-kms-key-id", KMS_KEY], 2, /need --sse aws:kms/],
      [["--sse", "AES256", "--sse-c-key", "env:SSEC"], 2, /choose one/],
      [["--sse-c-key", "env:K", "--key", "env:K"], 2, /must not be the --key/],
      [["--sse-c-key", "env:NOPE"], 5, /'NOPE' named by --sse-c-key is not set/],
      [
        ["--sse", "aws:kms", "--sse-kms-context", btoa("not json")],
        2,
        /--sse-kms-context must be base64/,
      ],
    ];
    for (const [flags, code, message] of cases) {
      const r = await cli(["put", ...at("bad"), "--no-encrypt", ...flags], { stdin: data, env });
      assert.equal(r.code, code, `${flags.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, message);
      noSecrets(r.stderr);
    }
    const local = Deno.makeTempDirSync({ prefix: "s3duct-sse-local-" });
    const fs = await cli(
      [
        "put",
        "--endpoint-url",
        `file://${local}`,
        "--bucket",
        "b",
        "--name",
        "x",
        "--no-encrypt",
        "--sse",
        "aws:kms",
      ],
      { stdin: data, env },
    );
    assert.equal(fs.code, 2, fs.stderr);
    assert.match(fs.stderr, /local-directory store \(file:\/\/\) has no server-side encryption/);
    assert.deepEqual(await objectsUnder(`${prefix}/bad`), []);
    Deno.removeSync(local, { recursive: true });
  },
});
