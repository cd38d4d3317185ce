import assert from "node:assert/strict";
import {
  AccessError,
  ExistsError,
  NotFoundError,
  type S3ductError,
  StoreError,
  UsageError,
} from "../../lib/errors.ts";
import { errorCode, isUnsupported, parseRetryAfter, s3Error } from "../../lib/store/s3_errors.ts";

const WHAT = "GET s3://bkt/some/key";

function check<T extends S3ductError>(
  status: number,
  code: string | undefined,
  cls: new (...args: never[]) => T,
  exitCode: number,
): T {
  const e = s3Error(status, code, WHAT, "bkt");
  assert.ok(e instanceof cls, `${status} ${code}: expected ${cls.name}, got ${e.name}`);
  assert.equal(e.exitCode, exitCode, `${status} ${code}: exit code`);
  assert.ok(e.message.length > 0);
  return e;
}

Deno.test("s3Error: NoSuchBucket / NoSuchKey / bare 404 -> NotFoundError (exit 3)", () => {
  const b = check(404, "NoSuchBucket", NotFoundError, 3);
  assert.ok(b.message.includes("bkt"));
  const k = check(404, "NoSuchKey", NotFoundError, 3);
  assert.ok(k.message.includes(WHAT));
  check(404, undefined, NotFoundError, 3);
});

Deno.test("s3Error: access problems -> AccessError (exit 6)", () => {
  for (
    const code of ["AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken"]
  ) {
    const e = check(403, code, AccessError, 6);
    assert.ok(e.message.includes(code), e.message);
  }
  check(403, undefined, AccessError, 6);
  check(403, "SomethingElse", AccessError, 6);
});

Deno.test("s3Error: 5xx, SlowDown, InternalError -> transient StoreError (exit 7)", () => {
  for (
    const [status, code] of [
      [503, "SlowDown"],
      [503, undefined],
      [500, "InternalError"],
      [500, undefined],
      [502, undefined],
      [429, undefined],
      [400, "RequestTimeout"],
      [409, "ConditionalRequestConflict"],
    ] as const
  ) {
    const e = check(status, code, StoreError, 7);
    assert.equal(e.transient, true, `${status} ${code} should be transient`);
    assert.equal(e.status, status);
  }
});

Deno.test("s3Error: 400 with an unknown code -> permanent StoreError", () => {
  const e = check(400, "InvalidArgument", StoreError, 7);
  assert.equal(e.transient, false);
  assert.equal(e.code, "InvalidArgument");
  assert.ok(e.message.includes("InvalidArgument"));
  const e2 = check(400, undefined, StoreError, 7);
  assert.equal(e2.transient, false);
});

Deno.test("s3Error: 412 / PreconditionFailed -> ExistsError (exit 8)", () => {
  check(412, undefined, ExistsError, 8);
  check(412, "PreconditionFailed", ExistsError, 8);
});

Deno.test("s3Error: wrong region / storage class -> UsageError (exit 2)", () => {
  check(301, "PermanentRedirect", UsageError, 2);
  check(400, "AuthorizationHeaderMalformed", UsageError, 2);
  check(400, "InvalidStorageClass", UsageError, 2);
});

Deno.test("errorCode: parses <Code> from an S3 XML error body", () => {
  const body = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
<Key>a/b</Key><RequestId>tx0</RequestId></Error>`;
  assert.equal(errorCode(body), "NoSuchKey");
  // Ceph leaves <Message> empty; the code is still found.
  assert.equal(errorCode("<Error><Code>SlowDown</Code><Message></Message></Error>"), "SlowDown");
  assert.equal(errorCode("<Error><Code></Code></Error>"), undefined);
  assert.equal(errorCode(""), undefined);
  assert.equal(errorCode("<html>Bad Gateway</html>"), undefined);
});

Deno.test("s3Error: RequestTimeTooSkewed (a 403) is transient, not an access error", () => {
  const e = check(403, "RequestTimeTooSkewed", StoreError, 7);
  assert.equal(e.transient, true);
  assert.equal(e.code, "RequestTimeTooSkewed");
});

Deno.test("s3Error: Retry-After kept on transient errors only", () => {
  const slow = s3Error(503, "SlowDown", WHAT, "bkt", 2000) as StoreError;
  assert.equal(slow.retryAfterMs, 2000);
  const bad = s3Error(400, "InvalidArgument", WHAT, "bkt", 2000) as StoreError;
  assert.equal(bad.retryAfterMs, undefined);
});

Deno.test("parseRetryAfter: seconds, HTTP date, junk; capped at 5 minutes", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:07 GMT", now), 7000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), 0, "a past date: no wait");
  assert.equal(parseRetryAfter("86400", now), 300_000);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

Deno.test("StoreError.throttle: set from codes and statuses, never from message text", () => {
  const t = (status: number, code?: string) =>
    (s3Error(status, code, WHAT, "bkt") as StoreError).throttle;
  assert.equal(t(503, "SlowDown"), true);
  assert.equal(t(503), true);
  assert.equal(t(429), true);
  assert.equal(t(400, "ThrottlingException"), true);
  assert.equal(t(500, "InternalError"), false);
  assert.equal(t(400, "InvalidArgument"), false);
  // A message that merely mentions throttling words is not a throttle.
  assert.equal(new StoreError("SlowDown 503 timed out", { code: "InternalError" }).throttle, false);
  assert.equal(new StoreError("x", { throttle: true }).throttle, true);
});

Deno.test("s3Error: 501 NotImplemented and other 'not supported' answers are never transient", () => {
  for (
    const [status, code] of [
      [501, "NotImplemented"],
      [501, undefined],
      [505, undefined],
      [400, "NotImplemented"],
      [400, "XNotImplemented"],
    ] as const
  ) {
    const e = check(status, code, StoreError, 7);
    assert.equal(e.transient, false, `${status} ${code} must not be retried`);
    assert.ok(e.message.includes("does not support"), e.message);
    assert.equal(isUnsupported(status, code), true);
  }
  assert.equal(isUnsupported(500, "InternalError"), false);
  assert.equal(isUnsupported(503, undefined), false);
  assert.equal(isUnsupported(undefined, undefined), false);
});
