/**
 * The crypto tests again without OpenSSL (S3DUCT_NO_OPENSSL=1): the portable fallbacks
 * (node:crypto, hash-wasm, WebCrypto) must give the same bytes as the native path.
 */
import assert from "node:assert/strict";
import { openssl } from "../../lib/crypto/openssl.ts";

const here = new URL(".", import.meta.url).pathname;

Deno.test("OpenSSL is in use in this run (else the fallback test below proves nothing new)", () => {
  assert.ok(openssl(), "libcrypto.so.3 not loadable: install libssl3");
});

Deno.test("hash, AES, age and format 2 unit tests pass on the portable fallbacks too", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "-A",
      "--quiet",
      `${here}hash_test.ts`,
      `${here}aes_test.ts`,
      `${here}age_test.ts`,
      `${here}v2_test.ts`,
    ],
    env: { S3DUCT_NO_OPENSSL: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /ok \| \d+ passed/);
});
