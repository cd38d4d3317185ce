/**
 * The one S3 addressing rule (lib/store/s3_address.ts): what S3Store builds its URLs on and
 * what open_store asks net access for.
 */
import assert from "node:assert/strict";
import { s3Address } from "../../lib/store/s3_address.ts";

Deno.test("s3Address: AWS, virtual-hosted; a dotted bucket path-style (the certificate)", () => {
  const plain = s3Address("bucket", "eu-west-1");
  assert.equal(plain.base.href, "https://bucket.s3.eu-west-1.amazonaws.com/");
  assert.equal(plain.pathStyle, false);
  const dotted = s3Address("my.bucket", "eu-west-1");
  assert.equal(dotted.base.href, "https://s3.eu-west-1.amazonaws.com/");
  assert.equal(dotted.pathStyle, true);
});

Deno.test("s3Address: a custom endpoint, path-style, its trailing slashes dropped", () => {
  const a = s3Address("bucket", "us-east-1", "http://127.0.0.1:9000///");
  assert.equal(a.pathStyle, true);
  assert.equal(a.base.href, "http://127.0.0.1:9000/");
  assert.equal(a.base.host, "127.0.0.1:9000");
  const prefixed = s3Address("bucket", "us-east-1", "https://s3.example:443/prefix/");
  assert.equal(prefixed.base.pathname, "/prefix");
  assert.equal(prefixed.base.host, "s3.example");
});
