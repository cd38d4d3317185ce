/**
 * Manifest signatures (lib/crypto/signing.ts) and the reader's guard / writer's store wrapper
 * (lib/pipeline/manifest_auth.ts) on the local-directory store: sign/verify, what the signature
 * is bound to, the key file and public key formats, wrong keys, and no secret in any message.
 */
import assert from "node:assert/strict";
import { IntegrityError, KeyError } from "../../lib/errors.ts";
import {
  checkSignature,
  generateSigningKey,
  parsePublicKey,
  parseSignatureObject,
  parseSigningKey,
  parseVerifyKeyFile,
  type SignatureContext,
  signedMessage,
  signManifest,
} from "../../lib/crypto/signing.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import { SignatureGuard, signatureKey, signingStore } from "../../lib/pipeline/manifest_auth.ts";
import { FsStore } from "../../lib/store/fs_store.ts";
import { Log } from "../../lib/ui/log.ts";

const enc = new TextEncoder();
const ctx: SignatureContext = { bucket: "bkt", prefix: "backups/2026/", name: "db/nightly" };
const manifest = enc.encode('{\n  "version": 1,\n  "name": "db/nightly"\n}');

async function newKey() {
  const { fileText, publicText } = await generateSigningKey();
  const signing = await parseSigningKey(fileText, "test key");
  const verify = await parsePublicKey(publicText, "test public key");
  return { fileText, publicText, signing, verify };
}

/** The base64 body of the PEM block: the secret that must never be printed. */
function secretOf(fileText: string): string {
  return fileText.split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith("-----"))
    .join("");
}

Deno.test("signed message layout: length-prefixed label, bucket, prefix, name, then the bytes", () => {
  const m = signedMessage({ bucket: "b", prefix: "", name: "n" }, new Uint8Array([0xaa, 0xbb]));
  const label = enc.encode("s3duct manifest signature v1");
  // deno-fmt-ignore
  const expected = new Uint8Array([
    0, 0, 0, label.length, ...label,
    0, 0, 0, 1, 0x62, // "b"
    0, 0, 0, 0, // ""
    0, 0, 0, 1, 0x6e, // "n"
    0xaa, 0xbb,
  ]);
  assert.deepEqual(m, expected);
});

Deno.test("signed message: field boundaries cannot be shifted (bucket 'ab' + '' != 'a' + 'b')", () => {
  const a = signedMessage({ bucket: "ab", prefix: "", name: "n" }, manifest);
  const b = signedMessage({ bucket: "a", prefix: "b", name: "n" }, manifest);
  assert.notDeepEqual(a, b);
});

Deno.test("sign then verify: valid for the same bytes and context", async () => {
  const k = await newKey();
  assert.match(k.publicText, /^s3duct-ed25519:[A-Za-z0-9_-]{43}$/);
  assert.equal(k.signing.publicText, k.publicText, "public key derived from the key file");
  const sig = await signManifest(k.signing, ctx, manifest);
  assert.equal(await checkSignature(k.verify, ctx, manifest, sig), "valid");
});

Deno.test("context binding: another bucket, prefix or name makes the signature invalid", async () => {
  const k = await newKey();
  const sig = await signManifest(k.signing, ctx, manifest);
  for (
    const other of [
      { ...ctx, bucket: "other" },
      { ...ctx, prefix: "" },
      { ...ctx, prefix: "backups/2025/" },
      { ...ctx, name: "db/nightly2" },
    ]
  ) {
    assert.equal(await checkSignature(k.verify, other, manifest, sig), "invalid", other.bucket);
  }
});

Deno.test("one flipped byte of the stored manifest makes the signature invalid", async () => {
  const k = await newKey();
  const sig = await signManifest(k.signing, ctx, manifest);
  const altered = manifest.slice();
  altered[10] ^= 1;
  assert.equal(await checkSignature(k.verify, ctx, altered, sig), "invalid");
});

Deno.test("wrong key: a signature by another key is 'other-key', even if it claims ours", async () => {
  const [mine, theirs] = [await newKey(), await newKey()];
  const sig = await signManifest(theirs.signing, ctx, manifest);
  assert.equal(await checkSignature(mine.verify, ctx, manifest, sig), "other-key");
  // The claimed public key is only a hint: rewriting it to ours does not make it valid.
  const forged = JSON.parse(new TextDecoder().decode(sig));
  forged.public_key = mine.publicText;
  const forgedBytes = enc.encode(JSON.stringify(forged));
  assert.equal(await checkSignature(mine.verify, ctx, manifest, forgedBytes), "invalid");
});

Deno.test("signature object: strict format", async () => {
  const k = await newKey();
  const good = JSON.parse(new TextDecoder().decode(await signManifest(k.signing, ctx, manifest)));
  assert.deepEqual(Object.keys(good), [
    "format",
    "version",
    "algorithm",
    "public_key",
    "signature",
  ]);
  assert.ok(parseSignatureObject(enc.encode(JSON.stringify(good))));
  const bad = (edit: (o: Record<string, unknown>) => void) => {
    const o = structuredClone(good);
    edit(o);
    return parseSignatureObject(enc.encode(JSON.stringify(o)));
  };
  assert.equal(bad((o) => (o.version = 2)), undefined);
  assert.equal(bad((o) => (o.algorithm = "RSA")), undefined);
  assert.equal(bad((o) => (o.format = "x")), undefined);
  assert.equal(bad((o) => (o.signature = String(o.signature).slice(1))), undefined);
  assert.equal(bad((o) => delete o.public_key), undefined);
  assert.equal(parseSignatureObject(enc.encode("not json")), undefined);
  assert.equal(parseSignatureObject(new Uint8Array(5000)), undefined);
  assert.equal(await checkSignature(k.verify, ctx, manifest, enc.encode("[]")), "malformed");
});

Deno.test("key file format: comments, public key line, PKCS#8 PEM block", async () => {
  const k = await newKey();
  const lines = k.fileText.trimEnd().split("\n");
  assert.match(lines[0], /^# s3duct manifest signing key/);
  assert.ok(lines.includes(`# public key: ${k.publicText}`));
  assert.equal(lines.at(-3), "-----BEGIN PRIVATE KEY-----");
  assert.equal(lines.at(-1), "-----END PRIVATE KEY-----");
  // PKCS#8 of an Ed25519 key is 48 bytes: 64 base64 characters.
  assert.match(lines.at(-2)!, /^[A-Za-z0-9+/]{64}$/);
});

Deno.test("verify key file: first non-comment line; a private key file is refused", async () => {
  const k = await newKey();
  const v = await parseVerifyKeyFile(`# signer of nightly backups\n\n${k.publicText}\n`, "f");
  assert.equal(v.publicText, k.publicText);
  await assert.rejects(parseVerifyKeyFile(k.fileText, "f"), (e: unknown) => {
    assert.ok(e instanceof KeyError);
    assert.match(e.message, /private signing key/);
    assert.ok(!e.message.includes(secretOf(k.fileText)), "no secret in the message");
    return true;
  });
});

Deno.test("malformed keys are KeyErrors that never echo the input", async () => {
  const k = await newKey();
  const secret = secretOf(k.fileText);
  const broken = k.fileText.replace(secret, secret.slice(0, 40) + "!!!!" + secret.slice(44));
  for (
    const [text, parse] of [
      [broken, parseSigningKey],
      [k.fileText.replace(secret, secret.slice(0, 20)), parseSigningKey],
      [k.publicText, parseSigningKey],
      ["s3duct-ed25519:short", parsePublicKey],
      [k.publicText + "A", parsePublicKey],
      ["age1xyz", parsePublicKey],
    ] as const
  ) {
    await assert.rejects(parse(text, "the key"), (e: unknown) => {
      assert.ok(e instanceof KeyError, String(e));
      assert.equal(e.exitCode, 5);
      assert.ok(!e.message.includes(secret.slice(0, 16)), "no key material in the message");
      return true;
    });
  }
});

// ---- guard and signing store on the local-directory store ----

async function withStore(fn: (store: FsStore) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "s3duct-sig-test-" });
  try {
    await Deno.mkdir(`${root}/bkt`);
    await fn(new FsStore(root, "bkt"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const layout = new StreamLayout("db/nightly", "backups/2026");
const quiet = () => new Log("quiet", () => {});

Deno.test("signing store: signature written before the manifest, over its exact bytes", async () => {
  await withStore(async (store) => {
    const k = await newKey();
    const order: string[] = [];
    const spy = new Proxy(store, {
      get(t, p) {
        if (p === "put") {
          return (key: string, body: Uint8Array) => (order.push(key), t.put(key, body));
        }
        const v = Reflect.get(t, p);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const s = signingStore(spy, layout, "bkt", k.signing, quiet());
    await s.put(layout.full(layout.chunkKey(0)), new Uint8Array(3));
    await s.put(layout.full(layout.manifestKey), manifest);
    assert.deepEqual(order, [
      "backups/2026/db/nightly/chunk-000000",
      "backups/2026/db/nightly/.manifest.sig",
      "backups/2026/db/nightly/.manifest.json",
    ]);
    const sig = await store.get(signatureKey(layout));
    assert.equal(await checkSignature(k.verify, ctx, manifest, sig), "valid");
    const guard = new SignatureGuard({ store, bucket: "bkt", verifyKey: k.verify, log: quiet() });
    await guard.authenticate(manifest, layout);
  });
});

Deno.test("signing store without a key removes a stale signature", async () => {
  await withStore(async (store) => {
    const k = await newKey();
    await signingStore(store, layout, "bkt", k.signing, quiet())
      .put(layout.full(layout.manifestKey), manifest);
    await signingStore(store, layout, "bkt", undefined, quiet())
      .put(layout.full(layout.manifestKey), manifest);
    assert.equal(await store.head(signatureKey(layout)), undefined);
  });
});

Deno.test("guard: missing, other-key, altered and moved signatures fail with exit 4", async () => {
  await withStore(async (store) => {
    const [k, other] = [await newKey(), await newKey()];
    const guard = new SignatureGuard({ store, bucket: "bkt", verifyKey: k.verify, log: quiet() });
    const rejects = (bytes: Uint8Array, l: StreamLayout, mention: RegExp) =>
      assert.rejects(guard.authenticate(bytes, l), (e: unknown) => {
        assert.ok(e instanceof IntegrityError, String(e));
        assert.equal(e.exitCode, 4);
        assert.match(e.message, mention);
        return true;
      });
    await rejects(manifest, layout, /not signed/);
    await signingStore(store, layout, "bkt", other.signing, quiet())
      .put(layout.full(layout.manifestKey), manifest);
    await rejects(manifest, layout, /not made with the --verify-key/);
    await signingStore(store, layout, "bkt", k.signing, quiet())
      .put(layout.full(layout.manifestKey), manifest);
    await guard.authenticate(manifest, layout);
    await rejects(enc.encode(" " + new TextDecoder().decode(manifest)), layout, /does not match/);
    // The same objects copied under another prefix: the signature names the old place.
    const moved = new StreamLayout("db/nightly", "backups/2025");
    await store.put(
      signatureKey(moved),
      await store.get(signatureKey(layout)),
    );
    await rejects(manifest, moved, /does not match/);
  });
});

Deno.test("guard: --expect-sha256 pins the manifest's stream hash", () => {
  const want = "ab".repeat(32);
  // accept() looks at the manifest only; the store is never touched.
  const store = new FsStore("/nonexistent", "bkt");
  const guard = new SignatureGuard({ store, bucket: "bkt", expectSha256: want, log: quiet() });
  const m = { stream_sha256: want } as Parameters<typeof guard.accept>[0];
  guard.accept(m, layout);
  assert.throws(
    () => guard.accept({ ...m, stream_sha256: "cd".repeat(32) }, layout),
    (e: unknown) => e instanceof IntegrityError && /--expect-sha256/.test(e.message),
  );
});

Deno.test("guard without a key: a signature is reported, not required", async () => {
  await withStore(async (store) => {
    const lines: string[] = [];
    const guard = new SignatureGuard({
      store,
      bucket: "bkt",
      log: new Log("normal", (l) => lines.push(l)),
    });
    await guard.authenticate(manifest, layout); // unsigned: nothing said
    assert.deepEqual(lines, []);
    const k = await newKey();
    await signingStore(store, layout, "bkt", k.signing, quiet())
      .put(layout.full(layout.manifestKey), manifest);
    await guard.authenticate(manifest, layout);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /has a signature; not checked \(pass --verify-key/);
  });
});
