/**
 * Server-side encryption: which headers each S3 request carries per mode, how a server's answer
 * is checked (a missing or different header fails the put), how Ceph's and AWS's refusals map
 * to typed errors, option parsing, the SSE-C key reader, and the manifest's SSE field.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { AccessError, KeyError, StoreError, UsageError } from "../../lib/errors.ts";
import {
  answerMustShowSse,
  checkSseAnswer,
  customerKeyMd5,
  sameKmsKey,
  type SseCall,
  sseHeaders,
  SseNotAppliedError,
  sseRefusal,
  sseResumeFingerprint,
  type SseSettings,
} from "../../lib/store/sse.ts";
import {
  checkKmsContext,
  loadCustomerKey,
  loadSse,
  sseModeOf,
  sseRequestOf,
} from "../../lib/cli/sse_options.ts";
import type { RawOptions } from "../../lib/cli/common.ts";
import type { KeySources } from "../../lib/crypto/keyspec.ts";
import { type Manifest, parseManifest, serializeManifest } from "../../lib/format/manifest.ts";
import { IntegrityError } from "../../lib/errors.ts";
import { leaksSecret, pseudoRandom, throwsUsage } from "../helpers.ts";

const KEY = pseudoRandom(32, "sse-c");
const KEY_B64 = Buffer.from(KEY).toString("base64");
const KEY_HEX = Buffer.from(KEY).toString("hex");
const MD5 = createHash("md5").update(KEY).digest("base64");
const C: SseSettings = { mode: "sse-c", customerKey: KEY };
const KMS: SseSettings = { mode: "sse-kms", kmsKeyId: "testkey-1" };
const S3: SseSettings = { mode: "sse-s3" };

const put = { method: "PUT", key: "p/n/chunk-000000" };
const create = { method: "POST", key: "k", query: { uploads: "" } };
const part = { method: "PUT", key: "k", query: { partNumber: "1", uploadId: "u" } };
const complete = { method: "POST", key: "k", query: { uploadId: "u" } };
const get = { method: "GET", key: "k" };
const head = { method: "HEAD", key: "k" };
const list = { method: "GET", query: { "list-type": "2", prefix: "p/" } };
const retention = { method: "PUT", key: "k", query: { retention: "" } };
const del = { method: "POST", query: { delete: "" } };

Deno.test("SSE-C headers go on every object read and write, parts and completion included", () => {
  const want = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": KEY_B64,
    "x-amz-server-side-encryption-customer-key-md5": MD5,
  };
  for (const call of [put, create, part, complete, get, head] as SseCall[]) {
    assert.deepEqual(sseHeaders(C, call), want, `${call.method} ${JSON.stringify(call.query)}`);
  }
  for (const call of [list, retention, del, { method: "DELETE", key: "k" }] as SseCall[]) {
    assert.deepEqual(sseHeaders(C, call), {}, `${call.method} ${JSON.stringify(call.query)}`);
  }
  assert.equal(customerKeyMd5(KEY), MD5);
});

Deno.test("SSE-S3 and SSE-KMS headers go on PutObject and CreateMultipartUpload only", () => {
  assert.deepEqual(sseHeaders(S3, put), { "x-amz-server-side-encryption": "AES256" });
  assert.deepEqual(sseHeaders(S3, create), { "x-amz-server-side-encryption": "AES256" });
  const ctx = btoa('{"app":"db"}');
  const kms = { ...KMS, kmsContext: ctx };
  const want = {
    "x-amz-server-side-encryption": "aws:kms",
    "x-amz-server-side-encryption-aws-kms-key-id": "testkey-1",
    "x-amz-server-side-encryption-context": ctx,
  };
  assert.deepEqual(sseHeaders(kms, put), want);
  assert.deepEqual(sseHeaders(kms, create), want);
  // No key id: AWS uses the account's default key, so none is sent.
  assert.deepEqual(sseHeaders({ mode: "sse-kms" }, put), {
    "x-amz-server-side-encryption": "aws:kms",
  });
  for (const call of [part, complete, get, head, list, retention]) {
    assert.deepEqual(sseHeaders(kms, call), {});
    assert.deepEqual(sseHeaders(S3, call), {});
  }
  assert.deepEqual(sseHeaders(undefined, put), {});
});

Deno.test("answers are checked for writes only: PUT, CreateMultipartUpload, UploadPart", () => {
  for (const call of [put, create, part]) assert.ok(answerMustShowSse(KMS, call));
  for (const call of [complete, get, head, list, retention]) {
    assert.ok(!answerMustShowSse(KMS, call));
  }
  assert.ok(!answerMustShowSse(undefined, put));
});

function refused(fn: () => void, mention: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SseNotAppliedError, `expected SseNotAppliedError, got ${e}`);
    assert.ok(e instanceof StoreError && !e.transient, "never retried");
    assert.equal(e.exitCode, 7);
    assert.match(e.message, mention);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("an answer without the SSE headers fails, naming the gap (Ceph's SSE-S3)", () => {
  const what = "PUT s3://b/k";
  // Ceph 16.2 answers AES256 with 200 and no header: stored as plaintext.
  refused(() => checkSseAnswer(S3, new Headers(), what), /does not support SSE-S3.*Ceph RGW 16\.2/);
  refused(
    () => checkSseAnswer(KMS, new Headers({ "x-amz-server-side-encryption": "AES256" }), what),
    /answered x-amz-server-side-encryption: AES256, not aws:kms/,
  );
  refused(
    () =>
      checkSseAnswer(
        KMS,
        new Headers({
          "x-amz-server-side-encryption": "aws:kms",
          "x-amz-server-side-encryption-aws-kms-key-id": "testkey-2",
        }),
        what,
      ),
    /KMS key 'testkey-2', not --sse-kms-key-id 'testkey-1'/,
  );
  refused(() => checkSseAnswer(C, new Headers(), what), /did not confirm SSE-C/);
  refused(
    () =>
      checkSseAnswer(
        C,
        new Headers({
          "x-amz-server-side-encryption-customer-algorithm": "AES256",
          "x-amz-server-side-encryption-customer-key-md5": customerKeyMd5(new Uint8Array(32)),
        }),
        what,
      ),
    /another algorithm or key/,
  );
});

Deno.test("matching answers pass", () => {
  checkSseAnswer(S3, new Headers({ "x-amz-server-side-encryption": "AES256" }), "w");
  checkSseAnswer(
    KMS,
    new Headers({
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": "testkey-1",
    }),
    "w",
  );
  // No key id asked for: any KMS key the server chose.
  checkSseAnswer(
    { mode: "sse-kms" },
    new Headers({ "x-amz-server-side-encryption": "aws:kms" }),
    "w",
  );
  checkSseAnswer(
    C,
    new Headers({
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key-md5": MD5,
    }),
    "w",
  );
});

Deno.test("KMS key ids: AWS answers with the ARN whatever form was asked for", () => {
  const arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  assert.ok(sameKmsKey(arn, arn));
  assert.ok(sameKmsKey("1234abcd-12ab-34cd-56ef-1234567890ab", arn));
  assert.ok(sameKmsKey("alias/backups", arn)); // an alias cannot be resolved client-side
  assert.ok(!sameKmsKey("alias/backups", null));
  assert.ok(!sameKmsKey("abcd-12ab-34cd-56ef-1234567890ab", arn.replace("1234abcd-", "x")));
  assert.ok(!sameKmsKey(arn.replace("eu-west-1", "us-east-1"), arn));
  assert.ok(!sameKmsKey("testkey-1", "testkey-2"));
});

function xml(code: string, message: string): string {
  return `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

function keyError(e: unknown, mention: RegExp): void {
  assert.ok(e instanceof KeyError, `expected KeyError, got ${e}`);
  assert.equal(e.exitCode, 5);
  assert.match(e.message, mention);
  assert.ok(!leaksSecret(e.message, KEY_HEX) && !e.message.includes(KEY_B64));
}

Deno.test("a missing SSE-C key: Ceph's 400 InvalidArgument and AWS's 400 InvalidRequest", () => {
  const ceph = xml(
    "InvalidArgument",
    "Requests specifying Server Side Encryption with Customer provided keys must provide a " +
      "valid encryption algorithm.",
  );
  const aws = xml(
    "InvalidRequest",
    "The object was stored using a form of Server Side Encryption. The correct parameters " +
      "must be provided to retrieve the object.",
  );
  for (const body of [ceph, aws]) {
    keyError(
      sseRefusal(undefined, get, 400, undefined, body, "GET s3://b/k"),
      /^GET s3:\/\/b\/k: the object is stored with SSE-C .*--sse-c-key env:VAR or file:PATH$/,
    );
  }
  // A HEAD's 400 has no body at all.
  keyError(sseRefusal(undefined, head, 400, undefined, "", "HEAD s3://b/k"), /--sse-c-key/);
  // Not a read (a listing) or not a 400: not about SSE-C.
  assert.equal(sseRefusal(undefined, list, 400, undefined, "", "GET s3://b"), undefined);
  assert.equal(sseRefusal(undefined, head, 403, undefined, "", "HEAD s3://b/k"), undefined);
});

Deno.test("a wrong SSE-C key: Ceph's 400 MD5 mismatch and AWS's 403", () => {
  const ceph = xml(
    "InvalidArgument",
    "The calculated MD5 hash of the key did not match the hash that was provided.",
  );
  keyError(sseRefusal(C, get, 400, "InvalidArgument", ceph, "GET k"), /not the one this object/);
  keyError(sseRefusal(C, get, 403, "AccessDenied", xml("AccessDenied", ""), "GET k"), /wrong/);
  keyError(sseRefusal(C, head, 400, undefined, "", "HEAD k"), /the key is wrong/);
  keyError(
    sseRefusal(
      C,
      get,
      400,
      "InvalidRequest",
      xml("InvalidRequest", "The encryption parameters are not applicable to this object."),
      "GET k",
    ),
    /not stored with SSE-C; drop --sse-c-key/,
  );
  // Without an SSE-C key a 403 is an ordinary access problem, left to s3Error.
  assert.equal(sseRefusal(undefined, get, 403, "AccessDenied", "", "GET k"), undefined);
  // A write's 403 is not about a wrong key either.
  assert.equal(sseRefusal(C, put, 403, "AccessDenied", "", "PUT k"), undefined);
});

Deno.test("KMS refusals: unknown key (exit 5), missing kms permission (exit 6), no key id (2)", () => {
  const unknown = xml("InvalidAccessKeyId", "Failed to retrieve the actual key, kms-keyid: nokey");
  keyError(sseRefusal(KMS, put, 403, "InvalidAccessKeyId", unknown, "PUT k"), /KMS key.*nokey/);
  const denied = xml(
    "AccessDenied",
    "User: arn:aws:iam::1:user/u is not authorized to perform: kms:GenerateDataKey",
  );
  const e = sseRefusal(KMS, put, 403, "AccessDenied", denied, "PUT k");
  assert.ok(e instanceof AccessError && e.exitCode === 6);
  assert.match(e.message, /kms:GenerateDataKey.*kms:Decrypt/);
  const noId = xml(
    "InvalidArgument",
    "Server Side Encryption with KMS managed key requires HTTP header " +
      "x-amz-server-side-encryption-aws-kms-key-id",
  );
  const u = sseRefusal({ mode: "sse-kms" }, put, 400, "InvalidArgument", noId, "PUT k");
  assert.ok(u instanceof UsageError && u.exitCode === 2);
  assert.match(u.message, /needs --sse-kms-key-id/);
  // Unrelated failures are not SSE's business.
  assert.equal(
    sseRefusal(KMS, put, 500, "InternalError", xml("InternalError", ""), "PUT"),
    undefined,
  );
});

Deno.test("resume fingerprint: bound to the SSE mode and key, no key material in it", () => {
  const fp = sseResumeFingerprint(C);
  assert.match(fp, /^\+sse-c:[0-9a-f]{16}$/);
  assert.equal(sseResumeFingerprint({ mode: "sse-c", customerKey: KEY.slice() }), fp);
  assert.notEqual(sseResumeFingerprint({ mode: "sse-c", customerKey: new Uint8Array(32) }), fp);
  assert.ok(!KEY_HEX.includes(fp.slice(7)));
  // The other modes are bound too: a run without SSE must not lend its chunks to one with it.
  assert.equal(sseResumeFingerprint(KMS), "+sse-kms:testkey-1");
  assert.equal(sseResumeFingerprint({ mode: "sse-kms" }), "+sse-kms:default");
  assert.equal(sseResumeFingerprint(S3), "+sse-s3");
  assert.equal(sseResumeFingerprint(undefined), "", "logs from before SSE still match");
});

Deno.test("option parsing: modes and the combinations refused", () => {
  assert.equal(sseModeOf({}), undefined);
  assert.equal(sseModeOf({ sse: "AES256" }), "sse-s3");
  assert.equal(sseModeOf({ sse: "aws:kms" }), "sse-kms");
  assert.equal(sseModeOf({ sse: "aws:kms", sseKmsKeyId: "arn:aws:kms:r:1:key/x" }), "sse-kms");
  assert.equal(sseModeOf({ sseCKey: "env:K" }), "sse-c");
  throwsUsage(() => sseModeOf({ sse: "AES256", sseCKey: "env:K" }), /choose one/);
  throwsUsage(() => sseModeOf({ sseKmsKeyId: "k" }), /need --sse aws:kms/);
  throwsUsage(() => sseModeOf({ sse: "AES256", sseKmsContext: btoa("{}") }), /need --sse aws:kms/);
  throwsUsage(() => sseModeOf({ sse: "aws:kms:dsse" }), /AES256 or aws:kms/);
  throwsUsage(() => sseModeOf({ sse: "aws:kms", sseKmsKeyId: "a b" }), /--sse-kms-key-id/);
  throwsUsage(() => sseModeOf({ sse: "aws:kms", sseKmsKeyId: "" }), /--sse-kms-key-id/);
});

Deno.test("--sse-kms-context must be base64 of a JSON object of strings", () => {
  checkKmsContext(btoa('{"app":"db","env":"prod"}'));
  checkKmsContext(btoa("{}"));
  for (const bad of ["not base64!", btoa("[1]"), btoa('{"n":1}'), btoa("{"), "", btoa("null")]) {
    throwsUsage(() => checkKmsContext(bad), /base64 of a JSON object of strings/);
  }
});

function fakeSources(env: Record<string, string>, files: Record<string, Uint8Array>) {
  const reads: string[] = [];
  const s: KeySources = {
    env: (n) => env[n],
    readFile: (p) => {
      reads.push(p);
      return files[p] ? Promise.resolve(files[p]) : Promise.reject(new Deno.errors.NotFound(p));
    },
    mode: () => Promise.resolve(0o644),
  };
  return { s, reads };
}

async function rejectsKey(p: Promise<unknown>, mention: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    keyError(e, mention);
    return true;
  });
}

Deno.test("the SSE-C key: env hex, file raw or hex; errors name the source, never the key", async () => {
  const enc = new TextEncoder();
  const { s } = fakeSources({ K: KEY_HEX, SHORT: KEY_HEX.slice(2), EMPTY: "" }, {
    "/raw": KEY,
    "/hex": enc.encode(KEY_HEX + "\n"),
    "/half": enc.encode(KEY_HEX.slice(0, 32)),
    "/short": KEY.slice(1),
  });
  assert.deepEqual(await loadCustomerKey("env:K", () => {}, s), KEY);
  assert.deepEqual(await loadCustomerKey("file:/raw", () => {}, s), KEY);
  assert.deepEqual(await loadCustomerKey("file:/hex", () => {}, s), KEY);
  await rejectsKey(
    loadCustomerKey("env:NOPE", () => {}, s),
    /'NOPE' named by --sse-c-key is not set/,
  );
  await rejectsKey(loadCustomerKey("env:EMPTY", () => {}, s), /not set/);
  await rejectsKey(loadCustomerKey("env:SHORT", () => {}, s), /'SHORT'.*64 hex digits/);
  await rejectsKey(loadCustomerKey("file:/half", () => {}, s), /'\/half'.*32 bytes/);
  await rejectsKey(loadCustomerKey("file:/short", () => {}, s), /'\/short'.*32 bytes/);
  await rejectsKey(loadCustomerKey("file:/missing", () => {}, s), /'\/missing' does not exist/);
  await rejectsKey(loadCustomerKey(`hex:${KEY_HEX}`, () => {}, s), /env:VARIABLE.*file:PATH/);
  await rejectsKey(loadCustomerKey(KEY_HEX, () => {}, s), /env:VARIABLE.*file:PATH/);
  const warnings: string[] = [];
  await loadCustomerKey("file:/raw", (m) => warnings.push(m), s);
  assert.match(warnings.join("\n"), /SSE-C key file '\/raw' is readable by group or others/);
});

Deno.test("sseRequestOf + loadSse: settings per mode, the key file read once, never the --key", async () => {
  const { s, reads } = fakeSources({}, { "/raw": KEY });
  const sseOf = (o: RawOptions) => loadSse(sseRequestOf(o), () => {}, s);
  assert.deepEqual(await sseOf({ sseCKey: "file:/raw" }), { mode: "sse-c", customerKey: KEY });
  assert.deepEqual(reads, ["/raw"], "the key file is read once");
  assert.deepEqual(await sseOf({ sse: "aws:kms", sseKmsKeyId: "testkey-1" }), KMS);
  assert.deepEqual(await sseOf({ sse: "AES256" }), S3);
  assert.equal(await sseOf({}), undefined);
  await assert.rejects(
    sseOf({ key: "file:/raw", sseCKey: "file:/raw" }),
    (e: unknown) => e instanceof UsageError && /must not be the --key/.test(e.message),
  );
});

const BASE: Manifest = {
  version: 1,
  name: "db",
  description: "",
  created: "2026-12-01T00:00:00+00:00",
  tool_version: "0.5.0",
  chunk_count: 0,
  chunk_size: 1024,
  total_bytes: 0,
  encrypted: false,
  encrypted_manifest: false,
  encryption_method: null,
  encryption_recipient: null,
  storage_class: "STANDARD",
  tags: {},
  chunks: [],
  final_chain: "",
  stream_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  stream_sha3_256: "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
};

Deno.test("manifest: server_side_encryption is written last, only when set, and read back", () => {
  const plain = new TextDecoder().decode(serializeManifest(BASE));
  assert.ok(!plain.includes("server_side_encryption"), "streams without SSE stay as they were");
  assert.equal(parseManifest(plain).server_side_encryption, undefined);
  for (const mode of ["sse-s3", "sse-kms", "sse-c"] as const) {
    const text = new TextDecoder().decode(
      serializeManifest({ ...BASE, server_side_encryption: mode }),
    );
    assert.ok(text.endsWith(`"server_side_encryption": "${mode}"\n}`), text.slice(-60));
    assert.equal(parseManifest(text).server_side_encryption, mode);
    // Byte-identical re-serialisation, as for every other field.
    assert.equal(new TextDecoder().decode(serializeManifest(parseManifest(text))), text);
  }
  const bad = plain.replace(/\n}$/, ',\n  "server_side_encryption": "rot13"\n}');
  assert.throws(() => parseManifest(bad), (e: unknown) => {
    return e instanceof IntegrityError &&
      /server_side_encryption' has unknown value/.test(e.message);
  });
});
