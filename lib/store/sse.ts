/**
 * Server-side encryption (SSE-S3, SSE-KMS, SSE-C) for S3 requests: which headers each request
 * carries, and whether the server's answer shows it did what was asked. Pure: S3Store calls
 * these for every request. A server that takes the headers and stores plaintext anyway (Ceph
 * 16.2 with `AES256`) answers without the matching response headers; the check turns that into
 * a failed put instead of an unencrypted backup that claims otherwise.
 */
import { createHash, createHmac } from "node:crypto";
import { AccessError, KeyError, SseNotAppliedError, UsageError } from "../errors.ts";
import { encodeBase64 } from "../format/base64.ts";
import type { ServerSideEncryption } from "../format/manifest.ts";

/** The SSE modes `put --sse` / `--sse-c-key` ask for (recorded in the manifest by this name). */
export type SseMode = ServerSideEncryption;

/** A store's server-side encryption, fixed when the store is opened. */
export interface SseSettings {
  /** What writes ask for; reads of SSE-S3 and SSE-KMS objects need no headers. */
  mode: SseMode;
  /** SSE-KMS: the key id, ARN or alias; absent = the account's default key (AWS only). */
  kmsKeyId?: string;
  /** SSE-KMS: `--sse-kms-context`, base64 of a JSON object (sent as given). */
  kmsContext?: string;
  /** SSE-C: the 32-byte customer key; sent on every object read and write, never printed. */
  customerKey?: Uint8Array;
}

/** The parts of an S3 request that decide which SSE headers it needs. */
export interface SseCall {
  /** HTTP method. */
  method: string;
  /** The object key; undefined for bucket-level requests (listings, batch delete). */
  key?: string;
  /** Query parameters: `uploads`, `partNumber`/`uploadId` mark the multipart steps. */
  query?: Record<string, string>;
}

/** What an object request is, as far as SSE goes; "other" needs no SSE headers. */
type Step = "put" | "create" | "part" | "complete" | "read" | "other";

function stepOf(call: SseCall): Step {
  if (call.key === undefined) return "other";
  const q = Object.keys(call.query ?? {}).sort().join("&");
  if (call.method === "PUT") {
    return q === "" ? "put" : q === "partNumber&uploadId" ? "part" : "other";
  }
  if (call.method === "POST") {
    return q === "uploads" ? "create" : q === "uploadId" ? "complete" : "other";
  }
  // Object Lock reads (?retention, ?legal-hold) and the like are not object reads.
  if (call.method === "GET" || call.method === "HEAD") return q === "" ? "read" : "other";
  return "other";
}

const H = {
  mode: "x-amz-server-side-encryption",
  kmsKey: "x-amz-server-side-encryption-aws-kms-key-id",
  context: "x-amz-server-side-encryption-context",
  cAlgorithm: "x-amz-server-side-encryption-customer-algorithm",
  cKey: "x-amz-server-side-encryption-customer-key",
  cKeyMd5: "x-amz-server-side-encryption-customer-key-md5",
} as const;

/** The SSE-C key's MD5 as S3 wants it (base64 of the raw key's MD5): shows, not reveals. */
export function customerKeyMd5(key: Uint8Array): string {
  return createHash("md5").update(key).digest("base64");
}

/**
 * What binds a resumed upload to its server-side encryption, appended to the key fingerprint in
 * the resume log: chunks kept from a run without SSE (or with another KMS key) would make a
 * stream that is not what its manifest says, and chunks under another SSE-C key could not be
 * read with this one. For SSE-C an HMAC under the key: equal for equal keys, revealing nothing.
 * Empty without SSE, so logs written before SSE existed still match.
 */
export function sseResumeFingerprint(sse: SseSettings | undefined): string {
  if (!sse) return "";
  if (sse.mode === "sse-s3") return "+sse-s3";
  if (sse.mode === "sse-kms") return `+sse-kms:${sse.kmsKeyId ?? "default"}`;
  const mac = createHmac("sha256", sse.customerKey!).update("s3duct sse-c resume fingerprint");
  return `+sse-c:${mac.digest("hex").slice(0, 16)}`;
}

/**
 * The headers `call` must carry: SSE-S3/KMS on PutObject and CreateMultipartUpload only;
 * SSE-C on every object read and write, parts and completion included (S3 needs the key to
 * encrypt each part, and a bucket policy may demand it on completion).
 */
export function sseHeaders(sse: SseSettings | undefined, call: SseCall): Record<string, string> {
  if (!sse) return {};
  const step = stepOf(call);
  if (sse.mode === "sse-c") {
    if (step === "other" || !sse.customerKey) return {};
    return {
      [H.cAlgorithm]: "AES256",
      [H.cKey]: encodeBase64(sse.customerKey),
      [H.cKeyMd5]: customerKeyMd5(sse.customerKey),
    };
  }
  if (step !== "put" && step !== "create") return {};
  if (sse.mode === "sse-s3") return { [H.mode]: "AES256" };
  return {
    [H.mode]: "aws:kms",
    ...(sse.kmsKeyId ? { [H.kmsKey]: sse.kmsKeyId } : {}),
    ...(sse.kmsContext ? { [H.context]: sse.kmsContext } : {}),
  };
}

/** Does `call`'s answer have to show the encryption (PUT, CreateMultipartUpload, UploadPart)? */
export function answerMustShowSse(sse: SseSettings | undefined, call: SseCall): boolean {
  const step = stepOf(call);
  return sse !== undefined && (step === "put" || step === "create" || step === "part");
}

/** The server did not apply the encryption asked for (lib/errors.ts). */
export { SseNotAppliedError };

/**
 * Checks a write's (or a HEAD's, after a multipart completion) response headers against what
 * was asked: the mode, the KMS key (when one was named), the SSE-C key's MD5.
 * @throws {SseNotAppliedError} naming the missing or different header
 */
export function checkSseAnswer(sse: SseSettings, headers: Headers, what: string): void {
  if (sse.mode === "sse-c") {
    const algorithm = headers.get(H.cAlgorithm);
    const md5 = headers.get(H.cKeyMd5);
    if (algorithm === null || md5 === null) {
      throw new SseNotAppliedError(
        what,
        `the server did not confirm SSE-C (no ${H.cAlgorithm} / -key-MD5 in its answer): it ` +
          "does not support customer-provided keys",
      );
    }
    if (algorithm !== "AES256" || md5 !== customerKeyMd5(sse.customerKey!)) {
      throw new SseNotAppliedError(
        what,
        "the server confirmed SSE-C with another algorithm or key (its key-MD5 is not ours)",
      );
    }
    return;
  }
  const want = sse.mode === "sse-s3" ? "AES256" : "aws:kms";
  const got = headers.get(H.mode);
  if (got !== want) {
    const name = sse.mode === "sse-s3" ? "SSE-S3 (--sse AES256)" : "SSE-KMS (--sse aws:kms)";
    throw new SseNotAppliedError(
      what,
      got === null
        ? `the server answered without ${H.mode}: it does not support ${name} (Ceph RGW 16.2 ` +
          "accepts AES256 and stores plaintext); use --sse aws:kms or --sse-c-key there"
        : `the server answered ${H.mode}: ${got}, not ${want}`,
    );
  }
  if (sse.mode === "sse-kms" && sse.kmsKeyId && !sameKmsKey(sse.kmsKeyId, headers.get(H.kmsKey))) {
    throw new SseNotAppliedError(
      what,
      `the server encrypted with KMS key '${headers.get(H.kmsKey) ?? "(none named)"}', not ` +
        `--sse-kms-key-id '${sse.kmsKeyId}'`,
    );
  }
}

/**
 * AWS answers with the key's ARN whatever form was asked for: an ARN must match exactly, a
 * bare key id must end the ARN (`:key/ID`), and an alias cannot be resolved here, so any key
 * the server names passes for it.
 */
export function sameKmsKey(asked: string, answered: string | null): boolean {
  if (answered === null) return false;
  if (asked === answered) return true;
  if (asked.startsWith("alias/") || asked.includes(":alias/")) return answered !== "";
  if (asked.startsWith("arn:")) return false;
  return answered.endsWith(`:key/${asked}`) || answered.endsWith(`/${asked}`);
}

/** The `<Message>` of an S3 XML error body (Ceph often leaves it empty). */
function messageOf(body: string): string {
  return /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? "";
}

/**
 * The typed error for an SSE refusal, or undefined when the failure is not about SSE. Ceph and
 * AWS answer differently (shared/reference/ceph-sse-lock-notes.md), so both are read: a missing
 * SSE-C key is Ceph's 400 InvalidArgument "must provide a valid encryption algorithm" and AWS's
 * 400 InvalidRequest "...correct parameters must be provided"; a wrong one is Ceph's 400
 * "calculated MD5 hash of the key did not match" and AWS's 403 AccessDenied.
 */
export function sseRefusal(
  sse: SseSettings | undefined,
  call: SseCall,
  status: number,
  code: string | undefined,
  body: string,
  what: string,
): KeyError | AccessError | UsageError | undefined {
  const message = messageOf(body);
  return customerKeyRefusal(sse?.mode === "sse-c", stepOf(call) === "read", call, status, body, {
    message,
    what,
  }) ?? kmsRefusal(status, code, message, what);
}

const PASS_KEY = "pass the key it was stored with: --sse-c-key env:VAR or file:PATH";

function customerKeyRefusal(
  withKey: boolean,
  read: boolean,
  call: SseCall,
  status: number,
  body: string,
  { message, what }: { message: string; what: string },
): KeyError | undefined {
  if (/calculated MD5 hash of the key did not match/i.test(message)) {
    return new KeyError(
      `${what}: the SSE-C key is not the one this object was stored with; ${PASS_KEY}`,
    );
  }
  if (
    /must provide a valid encryption algorithm|correct parameters must be provided/i.test(message)
  ) {
    return new KeyError(
      `${what}: the object is stored with SSE-C (a customer-provided key)` +
        (withKey ? "; the server refused the key given" : `; ${PASS_KEY}`),
    );
  }
  // A HEAD's answer has no body: a bare 400 is how S3 and Ceph refuse an SSE-C object's HEAD.
  const bareHead400 = read && call.method === "HEAD" && status === 400 && body === "";
  if (bareHead400 && !withKey) {
    return new KeyError(
      `${what}: HTTP 400 without a reason, the answer to a HEAD of an object stored with SSE-C ` +
        `(a customer-provided key) without its key; ${PASS_KEY}`,
    );
  }
  // AWS: SSE-C headers on a read of an object stored without SSE-C.
  if (/encryption parameters are not applicable/i.test(message)) {
    return new KeyError(`${what}: the object is not stored with SSE-C; drop --sse-c-key for it`);
  }
  if (/must provide an appropriate secret key/i.test(message)) {
    return new KeyError(`${what}: the server refused the SSE-C key (it must be 32 bytes)`);
  }
  // AWS answers a wrong customer key on GET/HEAD with a plain 403.
  if (read && withKey && (status === 403 || bareHead400)) {
    return new KeyError(
      `${what}: refused (HTTP ${status}) with the SSE-C key given: the key is wrong` +
        (status === 403 ? " (or the credentials lack s3:GetObject)" : ""),
    );
  }
  return undefined;
}

function kmsRefusal(
  status: number,
  code: string | undefined,
  message: string,
  what: string,
): KeyError | AccessError | UsageError | undefined {
  if (/requires HTTP header x-amz-server-side-encryption-aws-kms-key-id/i.test(message)) {
    return new UsageError(`${what}: this server needs --sse-kms-key-id with --sse aws:kms`);
  }
  if (!/kms-keyid|KMS\.|kms:/i.test(message) && !(code ?? "").startsWith("KMS.")) return undefined;
  if (status === 403 && /kms:/i.test(message)) {
    return new AccessError(
      `${what}: the credentials may not use the KMS key (needs kms:GenerateDataKey to write, ` +
        "kms:Decrypt to read)",
    );
  }
  return new KeyError(
    `${what}: the server cannot use the KMS key (${message || code}); check --sse-kms-key-id`,
  );
}
