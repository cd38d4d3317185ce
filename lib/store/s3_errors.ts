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
  // AWS: a conditional write raced another write to the key (409); repeat it, and the
  // condition then decides (412 when the other write won).
  "ConditionalRequestConflict",
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

/**
 * Answers that say "this server does not implement that request": repeating it cannot help
 * (Swift's s3api gives 501 NotImplemented to every conditional PUT, R2 and B2 to some headers).
 */
const UNSUPPORTED_CODES = new Set(["NotImplemented", "XNotImplemented", "NotSupported"]);

/**
 * Whether an HTTP answer means the server does not support the request (501 and 505, or an
 * S3 code saying so), so it is never retried and a caller may fall back.
 */
export function isUnsupported(status: number | undefined, code: string | undefined): boolean {
  return status === 501 || status === 505 || (code !== undefined && UNSUPPORTED_CODES.has(code));
}

/** The <Code> of an S3 XML error body, if any. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] || undefined;
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if
 * absent or unparsable. Capped at 5 minutes: a server's hint, not a licence to hang for hours.
 */
export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  const ms = /^\d+$/.test(t) ? Number(t) * 1000 : Date.parse(t) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), 300_000);
}

/** Map an HTTP failure to a typed error. `what` describes the request, e.g. "GET s3://b/k". */
export function s3Error(
  status: number,
  code: string | undefined,
  what: string,
  bucket: string,
  retryAfterMs?: number,
): S3ductError {
  const c = code ?? (status === 404 ? "NotFound" : status === 403 ? "AccessDenied" : undefined);
  // Before the 403 catch-all below: RequestTimeTooSkewed comes as a 403 but succeeds once the
  // signing clock is corrected (S3Store does that from the response's Date header).
  if (c === "RequestTimeTooSkewed") {
    return new StoreError(`${what} failed: ${c} ${status} (the local clock is off)`, {
      transient: true,
      code: c,
      status,
    });
  }
  const named = namedFailure(status, c, what, bucket);
  if (named) return named;
  if (isUnsupported(status, c)) {
    return new StoreError(
      `${what} failed: ${c ?? "HTTP"} ${status} (the server does not support this request)`,
      { transient: false, code: c, status },
    );
  }
  // Any other 4xx cannot succeed by repeating it (bad request, conflict, ...): not transient.
  const transient = status >= 500 || status === 429 || (c !== undefined && TRANSIENT_CODES.has(c));
  return new StoreError(`${what} failed: ${c ?? "HTTP"} ${status}`, {
    transient,
    code: c,
    status,
    retryAfterMs: transient ? retryAfterMs : undefined,
  });
}

/**
 * The failures with an exit code of their own (not found, archived, access, exists, usage),
 * each with the fix in its message; undefined for a plain store failure.
 */
function namedFailure(
  status: number,
  c: string | undefined,
  what: string,
  bucket: string,
): S3ductError | undefined {
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
  return undefined;
}
