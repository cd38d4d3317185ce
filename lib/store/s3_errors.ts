/** S3 error responses to typed errors. Never relies on <Message> (Ceph leaves it empty). */
import {
  AccessError,
  ArchivedError,
  ExistsError,
  NotFoundError,
  StoreError,
  UsageError,
} from "../errors.ts";
import type { S3ductError } from "../errors.ts";

const TRANSIENT_CODES = new Set([
  "InternalError",
  "ServiceUnavailable",
  "SlowDown",
  "RequestTimeout",
  "RequestTimedOut",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestTimeTooSkewed",
  "BadDigest",
  "XAmzContentSHA256Mismatch",
  "IncompleteBody",
]);

const ACCESS_HINTS: Record<string, string> = {
  AccessDenied: "access denied: check the credentials' permissions for this bucket",
  SignatureDoesNotMatch:
    "the server rejected the request signature: the secret access key is wrong (or the clock is far off)",
  InvalidAccessKeyId: "the server does not know this access key id",
  ExpiredToken: "the session token has expired: refresh the credentials",
  InvalidToken: "the session token is invalid",
  TokenRefreshRequired: "the session token must be refreshed",
  AllAccessDisabled: "all access to this bucket is disabled",
};

/** The <Code> of an S3 XML error body, if any. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] || undefined;
}

/** Map an HTTP failure to a typed error. `what` describes the request, e.g. "GET s3://b/k". */
export function s3Error(
  status: number,
  code: string | undefined,
  what: string,
  bucket: string,
): S3ductError {
  const c = code ?? (status === 404 ? "NotFound" : status === 403 ? "AccessDenied" : undefined);
  if (c === "NoSuchBucket") {
    return new NotFoundError(`bucket '${bucket}' does not exist (${what})`);
  }
  if (c === "NoSuchKey" || c === "NotFound" || status === 404) {
    return new NotFoundError(`${what}: no such object`);
  }
  // AWS answers a GET of an archived, unrestored object with 403 InvalidObjectState.
  if (c === "InvalidObjectState") {
    return new ArchivedError(
      `${what}: the object is archived (GLACIER/DEEP_ARCHIVE) and not restored; run 's3duct restore' for this stream first`,
    );
  }
  if (c && c in ACCESS_HINTS) return new AccessError(`${ACCESS_HINTS[c]} (${c}, ${what})`);
  if (status === 403) return new AccessError(`access denied (${c ?? "HTTP 403"}, ${what})`);
  if (c === "PreconditionFailed" || status === 412) {
    return new ExistsError(`${what}: the object already exists`);
  }
  if (c === "InvalidStorageClass") {
    return new UsageError(`the server does not accept this --storage-class (${what})`);
  }
  if (c === "PermanentRedirect" || c === "AuthorizationHeaderMalformed" || status === 301) {
    return new UsageError(
      `bucket '${bucket}' is in another region: pass the right --region (${c ?? status})`,
    );
  }
  const transient = status >= 500 || status === 429 || (c !== undefined && TRANSIENT_CODES.has(c));
  return new StoreError(`${what} failed: ${c ?? "HTTP"} ${status}`, {
    transient,
    code: c,
    status,
  });
}
