/**
 * Signed manifests and pinning on Ceph (issue 7 items 2-3, 5): round trips for plain, AES and
 * age streams, and attacks by someone with write access to the bucket, each failing closed with
 * exit 4 and nothing on stdout. The signing key never reaches any output.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  assertFailed,
  bytesEqual,
  cli,
  pseudoRandom,
  s3Args,
  Suite,
  TEST_KEY_HEX,
} from "./harness.ts";
import { tempDir } from "../helpers.ts";

const t = new Suite("signing", undefined, { K: TEST_KEY_HEX });
const { prefix, env, store } = t;
const tmp = tempDir("s3duct-sign-");
const secrets: string[] = [];
const outputs: string[] = [];
const CHUNK = 4096;
const dec = new TextDecoder();
let n = 0;

type Result = { code: number; stdout: Uint8Array; stderr: string };

async function run(args: string[], stdin?: Uint8Array): Promise<Result> {
  const r = await cli(args, { stdin, env });
  outputs.push(r.stderr, dec.decode(r.stdout));
  return r;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** `keygen --sign -o FILE`: the public key from stdout; the secret kept for the leak check. */
async function signKey(file: string): Promise<string> {
  const r = await run(["keygen", "--sign", "-o", `${tmp}/${file}`]);
  assert.equal(r.code, 0, r.stderr);
  const pub = dec.decode(r.stdout).trim();
  assert.match(pub, /^s3duct-ed25519:[A-Za-z0-9_-]{43}$/);
  const text = await Deno.readTextFile(`${tmp}/${file}`);
  secrets.push(/-----BEGIN PRIVATE KEY-----\n(.*)\n/.exec(text)![1]);
  return pub;
}

const pubA = await signKey("a.key");
const pubB = await signKey("b.key");
await Deno.writeTextFile(`${tmp}/a.pub`, `# nightly backups signer\n${pubA}\n`);
const ageKeygen = await run(["keygen", "-o", `${tmp}/id.txt`]);
assert.equal(ageKeygen.code, 0, ageKeygen.stderr);
const recipient = dec.decode(ageKeygen.stdout).trim();

type Mode = "plain" | "aes" | "aes-plain-manifest" | "age";
const putKeys = (m: Mode) =>
  m === "plain"
    ? ["--no-encrypt"]
    : m === "age"
    ? ["--age-recipient", recipient]
    : ["--key", "env:K", ...(m === "aes-plain-manifest" ? ["--no-encrypt-manifest"] : [])];
const getKeys = (m: Mode) =>
  m === "plain" ? [] : m === "age" ? ["--age-identity", `${tmp}/id.txt`] : ["--key", "env:K"];
const where = (name: string, sub = "") => [
  ...s3Args(),
  "--prefix",
  `${prefix}${sub}`,
  "--name",
  name,
];

async function put(
  name: string,
  mode: Mode,
  data: Uint8Array,
  extra: string[] = ["--sign-key", `${tmp}/a.key`],
  sub = "",
): Promise<Result> {
  const r = await run(
    ["put", ...where(name, sub), "--chunk-size", String(CHUNK), ...putKeys(mode), ...extra],
    data,
  );
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const get = (name: string, mode: Mode, extra: string[], sub = "") =>
  run(["get", ...where(name, sub), ...getKeys(mode), ...extra]);
const verify = (name: string, mode: Mode, extra: string[], deep = false) =>
  run(["verify", ...where(name), ...getKeys(mode), ...(deep ? ["--deep"] : []), ...extra]);

/** Failed closed: integrity exit code, nothing on stdout, one line naming the problem. */
function assertClosed(r: Result, mention: RegExp): void {
  assertFailed(r, 4, mention);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
}

/** Every object of a stream, keyed by its name within the stream's directory. */
async function snapshot(name: string, sub = ""): Promise<Map<string, Uint8Array>> {
  const dir = `${prefix}${sub}/${name}/`;
  const out = new Map<string, Uint8Array>();
  for await (const e of store.list(dir)) {
    if (e.kind === "object") out.set(e.key.slice(dir.length), await store.get(e.key));
  }
  return out;
}

async function restore(objects: Map<string, Uint8Array>, name: string, sub = "") {
  for (const [k, v] of objects) await store.put(`${prefix}${sub}/${name}/${k}`, v);
}

const fresh = (mode: string) => `s-${mode}-${n++}`;
const A = ["--verify-key", pubA];

for (const mode of ["plain", "aes", "aes-plain-manifest", "age"] as Mode[]) {
  Deno.test(`signed round trip (${mode}): get, verify, verify --deep with --verify-key`, async () => {
    const name = fresh(mode);
    const data = pseudoRandom(3 * CHUNK + 100, 11);
    const p = await put(name, mode, data, ["--sign-key", `${tmp}/a.key`, "--summary", "json"]);
    const summary = JSON.parse(p.stderr.trim().split("\n").at(-1)!);
    assert.equal(summary.stream_sha256, sha256(data), "put reports the stream SHA-256");
    assert.match(summary.final_chain, /^[0-9a-f]{64}$/, "and the final chain");
    const pin = ["--expect-sha256", sha256(data)];
    for (const key of [pubA, `${tmp}/a.pub`]) {
      const g = await get(name, mode, ["--verify-key", key, ...pin]);
      assert.equal(g.code, 0, g.stderr);
      assert.ok(bytesEqual(g.stdout, data));
    }
    assert.equal((await verify(name, mode, [...A, ...pin])).code, 0);
    const deep = await verify(name, mode, [...A, ...pin], true);
    assert.equal(deep.code, 0, deep.stderr);
    // No key to check with: the signature is mentioned, and the data still restores.
    const g = await get(name, mode, []);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stderr, /has a signature; not checked \(pass --verify-key/);
  });
}

Deno.test("attack: the same stream name's signed objects from another prefix -> exit 4", async () => {
  const data = pseudoRandom(3 * CHUNK, 1);
  const theirs = pseudoRandom(3 * CHUNK, 2);
  await put("victim", "aes", data, undefined, "/p1");
  await put("victim", "aes", theirs, undefined, "/p2");
  // The whole validly signed stream (same name, same key) copied over the victim's.
  await restore(await snapshot("victim", "/p2"), "victim", "/p1");
  const open = await get("victim", "aes", [], "/p1");
  assert.equal(open.code, 0, "without --verify-key the swap goes unnoticed (README)");
  assert.ok(bytesEqual(open.stdout, theirs));
  assertClosed(await get("victim", "aes", A, "/p1"), /signature .*does not match/);
});

Deno.test("attack: another stream's manifest and signature swapped in -> exit 4", async () => {
  for (const mode of ["plain", "aes"] as Mode[]) {
    const [victim, other] = [fresh(mode), fresh(mode)];
    await put(victim, mode, pseudoRandom(2 * CHUNK, 3));
    await put(other, mode, pseudoRandom(2 * CHUNK, 4));
    for (const obj of [".manifest.json", ".manifest.sig"]) {
      await store.put(`${prefix}/${victim}/${obj}`, await store.get(`${prefix}/${other}/${obj}`));
    }
    assertClosed(await get(victim, mode, A), /signature .*does not match/);
  }
});

Deno.test("attack: rollback to an older, validly signed manifest -> caught by --expect-sha256", async () => {
  const name = fresh("roll");
  const [v1, v2] = [pseudoRandom(3 * CHUNK, 5), pseudoRandom(3 * CHUNK, 6)];
  await put(name, "aes", v1);
  const old = await snapshot(name);
  await put(name, "aes", v2, ["--sign-key", `${tmp}/a.key`, "--clobber"]);
  await restore(old, name);
  // The old manifest carries its own valid signature: the signature alone cannot tell.
  const signedOnly = await get(name, "aes", A);
  assert.equal(signedOnly.code, 0, signedOnly.stderr);
  assert.ok(bytesEqual(signedOnly.stdout, v1));
  const pin = ["--expect-sha256", sha256(v2)];
  assertClosed(await get(name, "aes", [...A, ...pin]), /--expect-sha256/);
  assertClosed(await verify(name, "aes", [...A, ...pin]), /--expect-sha256/);
  assertClosed(await verify(name, "aes", [...A, ...pin], true), /--expect-sha256/);
});

Deno.test("attack: chunk 0 replaced by another signed stream's chunk 0 -> exit 4", async () => {
  for (const mode of ["plain", "aes", "age"] as Mode[]) {
    const [victim, other] = [fresh(mode), fresh(mode)];
    await put(victim, mode, pseudoRandom(3 * CHUNK, 7));
    await put(other, mode, pseudoRandom(3 * CHUNK, 8));
    const [mine, theirs] = [
      await t.chunkKey(victim, 0),
      await t.chunkKey(other, 0),
    ];
    assert.match(mine, new RegExp(`^${prefix}/${victim}/g[0-9a-z]{8}/chunk-000000$`));
    await store.put(mine, await store.get(theirs));
    assertClosed(await get(victim, mode, A), /chunk 0/);
  }
});

Deno.test("attack: forged age stream written with only the recipient -> exit 4 with --verify-key", async () => {
  const name = fresh("age-forged");
  const forged = pseudoRandom(2 * CHUNK, 9);
  await put(name, "age", pseudoRandom(2 * CHUNK, 10));
  const oldSig = await store.get(`${prefix}/${name}/.manifest.sig`);
  // The attacker holds the public recipient, not the signing key.
  await put(name, "age", forged, ["--clobber"]);
  const open = await get(name, "age", []);
  assert.equal(open.code, 0, "without --verify-key the forgery restores (README)");
  assert.ok(bytesEqual(open.stdout, forged));
  assertClosed(await get(name, "age", A), /not signed/);
  // Keeping the victim's old signature does not help: it covers the old manifest bytes.
  await store.put(`${prefix}/${name}/.manifest.sig`, oldSig);
  assertClosed(await get(name, "age", A), /signature .*does not match/);
  assertClosed(await verify(name, "age", A, true), /signature .*does not match/);
});

Deno.test("attack: .manifest.sig deleted -> get, verify, verify --deep exit 4", async () => {
  const name = fresh("nosig");
  await put(name, "aes", pseudoRandom(2 * CHUNK, 12));
  await store.delete([`${prefix}/${name}/.manifest.sig`]);
  assertClosed(await get(name, "aes", A), /not signed/);
  assertClosed(await verify(name, "aes", A), /not signed/);
  assertClosed(await verify(name, "aes", A, true), /not signed/);
});

Deno.test("attack: stream signed by a different key -> exit 4", async () => {
  const name = fresh("otherkey");
  const data = pseudoRandom(2 * CHUNK, 13);
  await put(name, "plain", data, ["--sign-key", `${tmp}/b.key`]);
  assertClosed(await get(name, "plain", A), /not made with the --verify-key/);
  const g = await get(name, "plain", ["--verify-key", pubB]);
  assert.equal(g.code, 0, g.stderr);
  assert.ok(bytesEqual(g.stdout, data));
});

Deno.test("pinning without a signature: wrong hash exit 4; upper-case hex ok; junk exit 2", async () => {
  const name = fresh("pin");
  const data = pseudoRandom(2 * CHUNK + 1, 14);
  await put(name, "aes", data, []);
  assertClosed(await get(name, "aes", ["--expect-sha256", "0".repeat(64)]), /--expect-sha256/);
  const ok = await get(name, "aes", ["--expect-sha256", sha256(data).toUpperCase()]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(bytesEqual(ok.stdout, data));
  const bad = await get(name, "aes", ["--expect-sha256", "xyz"]);
  assert.equal(bad.code, 2, bad.stderr);
  assertClosed(await get(name, "aes", A), /not signed/);
});

Deno.test("unsigned put --clobber over a signed stream removes the old signature", async () => {
  const name = fresh("resign");
  await put(name, "plain", pseudoRandom(CHUNK, 15));
  await put(name, "plain", pseudoRandom(CHUNK, 16), ["--clobber"]);
  assert.equal(await store.head(`${prefix}/${name}/.manifest.sig`), undefined);
  const g = await get(name, "plain", []);
  assert.doesNotMatch(g.stderr, /signature/);
});

Deno.test("key misuse: private key as --verify-key, public key as --sign-key -> exit 5", async () => {
  const name = fresh("misuse");
  await put(name, "plain", pseudoRandom(CHUNK, 17));
  const r1 = await get(name, "plain", ["--verify-key", `${tmp}/a.key`]);
  assert.equal(r1.code, 5, r1.stderr);
  assert.match(r1.stderr, /private signing key; --verify-key takes its public key/);
  const r2 = await run(["put", ...where(fresh("x")), "--no-encrypt", "--sign-key", `${tmp}/a.pub`]);
  assert.equal(r2.code, 5, r2.stderr);
  // A key file that is missing is a key problem like any other key-file problem (issue 12.3).
  const r3 = await get(name, "plain", ["--verify-key", `${tmp}/missing.pub`]);
  assert.equal(r3.code, 5, r3.stderr);
  const r4 = await get(name, "plain", ["--verify-key", "s3duct-ed25519:AAAA"]);
  assert.equal(r4.code, 5, r4.stderr);
});

Deno.test("keygen --sign: 0600, never overwrites, not combinable with --aes", async () => {
  assert.equal((await Deno.stat(`${tmp}/a.key`)).mode! & 0o777, 0o600);
  const again = await run(["keygen", "--sign", "-o", `${tmp}/a.key`]);
  assert.equal(again.code, 8, again.stderr);
  const both = await run(["keygen", "--sign", "--aes"]);
  assert.equal(both.code, 2, both.stderr);
});

Deno.test("delete removes the signature with the manifest", async () => {
  const name = fresh("del");
  await put(name, "plain", pseudoRandom(CHUNK, 18));
  const dry = await run(["delete", ...where(name), "--dry-run"]);
  assert.match(dec.decode(dry.stdout), /\.manifest\.sig\n$/);
  const r = await run(["delete", ...where(name), "--force"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await snapshot(name)).size, 0);
});

Deno.test("the signing key never appears in any output (verbose runs included)", async () => {
  const v = await run(
    ["put", ...where(fresh("v")), "--no-encrypt", "-v", "--sign-key", `${tmp}/a.key`],
    pseudoRandom(100, 19),
  );
  assert.equal(v.code, 0, v.stderr);
  assert.ok(secrets.length === 2 && outputs.length > 40);
  for (const s of secrets) {
    for (const o of outputs) assert.ok(!o.includes(s), "secret key material in an output");
  }
});

Deno.test("signing: clean up", async () => {
  await t.clean();
  await Deno.remove(tmp, { recursive: true });
});
