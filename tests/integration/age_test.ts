/**
 * age on Ceph: recipient-only backups, post-quantum and mixed recipients, interop with
 * Debian's `age` CLI both ways, and wrong-key-kind errors. No secret ever reaches output.
 */
import assert from "node:assert/strict";
import { ageCipher, parseIdentities } from "../../lib/crypto/age.ts";
import { bytesEqual, cli, pseudoRandom, s3Args, Suite, TEST_KEY_HEX } from "./harness.ts";
import { tempDir } from "../helpers.ts";

const t = new Suite("age", undefined, { K: TEST_KEY_HEX });
const { prefix, env, store } = t;
const tmp = tempDir("s3duct-age-");
const secrets: string[] = [];
const outputs: string[] = [];

async function run(args: string[], stdin?: Uint8Array) {
  const r = await cli(args, { stdin, env });
  outputs.push(r.stderr, new TextDecoder().decode(r.stdout));
  return r;
}

async function keygen(file: string, pq = false): Promise<string> {
  const r = await run(["keygen", ...(pq ? ["--pq"] : []), "-o", `${tmp}/${file}`]);
  assert.equal(r.code, 0, r.stderr);
  const recipient = new TextDecoder().decode(r.stdout).trim();
  assert.match(recipient, pq ? /^age1pq1/ : /^age1(?!pq1)/);
  assert.equal((await Deno.stat(`${tmp}/${file}`)).mode! & 0o777, 0o600);
  secrets.push(...parseIdentities(await Deno.readTextFile(`${tmp}/${file}`), file));
  return recipient;
}

const base = (name: string) => t.at(name);

async function ageCli(args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const p = new Deno.Command("age", { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  // Feed and drain at once: age blocks writing stdout once the pipe is full.
  const feed = (async () => {
    if (stdin) await w.write(stdin);
    await w.close();
  })();
  const out = await p.output();
  await feed;
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

Deno.test("age: recipient-only put (no private key on the host), get with the identity", async () => {
  const r = await keygen("x25519.txt");
  const data = pseudoRandom(300_000, 1);
  const put = await run(
    ["put", ...base("recipient-only"), "--chunk-size", "128K", "--age-recipient", r],
    data,
  );
  assert.equal(put.code, 0, put.stderr);
  const noKey = await run(["get", ...base("recipient-only")]);
  assert.equal(noKey.code, 5);
  assert.match(noKey.stderr, /--age-identity/);
  const get = await run(["get", ...base("recipient-only"), "--age-identity", `${tmp}/x25519.txt`]);
  assert.equal(get.code, 0, get.stderr);
  assert.ok(bytesEqual(get.stdout, data));
});

Deno.test("age: our chunk and manifest objects decrypt with Debian's age CLI", async () => {
  const r = await keygen("for-cli.txt");
  // 131072 = two full 64 KiB segments; 200000 = segments plus a short tail.
  for (const [size, chunk] of [[262_144, "128K"], [200_000, "200000"]] as const) {
    const data = pseudoRandom(size, size);
    const name = `for-cli-${size}`;
    const put = await run(
      ["put", ...base(name), "--chunk-size", chunk, "--age-recipient", r],
      data,
    );
    assert.equal(put.code, 0, put.stderr);
    const key = await t.chunkKey(name, 0);
    assert.match(key, new RegExp(`^${prefix}/${name}/g[0-9a-z]{8}/chunk-000000$`));
    const obj = await store.get(key);
    const plain = await ageCli(["-d", "-i", `${tmp}/for-cli.txt`], obj);
    const chunkBytes = Number(chunk.replace("128K", "131072"));
    assert.ok(bytesEqual(plain, data.subarray(0, chunkBytes)));
    const manifest = await store.get(t.manifestKey(name));
    const json = JSON.parse(
      new TextDecoder().decode(await ageCli(["-d", "-i", `${tmp}/for-cli.txt`], manifest)),
    );
    assert.equal(json.encryption_method, "age");
    assert.equal(json.encryption_recipient, r);
    assert.equal(`${prefix}/${json.chunks[0].s3_key}`, key, "the manifest names that object");
  }
});

Deno.test("age: files the age CLI encrypts decrypt with our code", async () => {
  const r = await keygen("from-cli.txt");
  const ids = parseIdentities(await Deno.readTextFile(`${tmp}/from-cli.txt`), "id");
  const cipher = ageCipher({ identities: ids });
  for (const size of [0, 1, 65_536, 65_537, 300_000]) {
    const data = pseudoRandom(size, 77);
    const sealed = await ageCli(["-r", r], data);
    const opened = await cipher.open(sealed);
    assert.ok(opened && bytesEqual(opened, data), `size ${size}`);
  }
});

Deno.test("age: post-quantum recipient only; get with the PQ identity", async () => {
  const r = await keygen("pq.txt", true);
  const data = pseudoRandom(150_000, 3);
  const put = await run(["put", ...base("pq"), "--chunk-size", "64K", "--age-recipient", r], data);
  assert.equal(put.code, 0, put.stderr);
  const get = await run(["get", ...base("pq"), "--age-identity", `${tmp}/pq.txt`]);
  assert.equal(get.code, 0, get.stderr);
  assert.ok(bytesEqual(get.stdout, data));
});

Deno.test("age: mixed X25519 + PQ recipients (file and flag); either identity restores", async () => {
  const rx = await keygen("mixed-x.txt");
  const rpq = await keygen("mixed-pq.txt", true);
  await Deno.writeTextFile(`${tmp}/recipients.txt`, `# team keys\n${rx}\n\n`);
  const data = pseudoRandom(100_000, 4);
  const put = await run([
    "put",
    ...base("mixed"),
    "--chunk-size",
    "32K",
    "--age-recipients-file",
    `${tmp}/recipients.txt`,
    "--age-recipient",
    rpq,
  ], data);
  assert.equal(put.code, 0, put.stderr);
  for (const id of ["mixed-x.txt", "mixed-pq.txt"]) {
    const get = await run(["get", ...base("mixed"), "--age-identity", `${tmp}/${id}`]);
    assert.equal(get.code, 0, `${id}: ${get.stderr}`);
    assert.ok(bytesEqual(get.stdout, data));
  }
});

Deno.test("age: put with --age-identity derives the recipient (s3duct 0.4 style), plain manifest", async () => {
  await keygen("derive.txt");
  const data = pseudoRandom(10_000, 5);
  const put = await run([
    "put",
    ...base("derived"),
    "--chunk-size",
    "4K",
    "--age-identity",
    `${tmp}/derive.txt`,
    "--no-encrypt-manifest",
  ], data);
  assert.equal(put.code, 0, put.stderr);
  const list = await run(["list", ...s3Args(), "--prefix", prefix]);
  assert.match(
    new TextDecoder().decode(list.stdout),
    /derived {2}3 chunks {2}10,000 bytes .*\[encrypted\]/,
  );
  const get = await run(["get", ...base("derived"), "--age-identity", `${tmp}/derive.txt`]);
  assert.ok(bytesEqual(get.stdout, data));
});

Deno.test("age: wrong key kinds each get their own one-line error, exit 5", async () => {
  const r = await keygen("kind.txt");
  await keygen("stranger.txt");
  const data = pseudoRandom(9_000, 6);
  assert.equal(
    (await run(["put", ...base("kind-age"), "--chunk-size", "4K", "--age-recipient", r], data))
      .code,
    0,
  );
  assert.equal(
    (await run([
      "put",
      ...base("kind-age-pm"),
      "--chunk-size",
      "4K",
      "--age-recipient",
      r,
      "--no-encrypt-manifest",
    ], data)).code,
    0,
  );
  assert.equal(
    (await run(["put", ...base("kind-aes"), "--chunk-size", "4K", "--key", "env:K"], data)).code,
    0,
  );
  const cases: [string, string[], RegExp][] = [
    ["kind-age", ["--key", "env:K"], /age-encrypted: pass --age-identity, not --key/],
    ["kind-age-pm", ["--key", "env:K"], /encrypted with age: pass --age-identity/],
    [
      "kind-aes",
      ["--age-identity", `${tmp}/kind.txt`],
      /AES-256-GCM encrypted: pass --key, not --age-identity/,
    ],
    ["kind-age", ["--age-identity", `${tmp}/stranger.txt`], /no --age-identity given matches/],
    ["kind-age-pm", ["--age-identity", `${tmp}/stranger.txt`], /no age identity given matches/],
  ];
  for (const [name, keyArgs, msg] of cases) {
    const g = await run(["get", ...base(name), ...keyArgs]);
    assert.equal(g.code, 5, `${name} ${keyArgs[0]}: ${g.stderr}`);
    assert.equal(g.stdout.length, 0);
    assert.match(g.stderr, msg);
  }
});

Deno.test("age: an identity file readable by others gets a warning", async () => {
  await keygen("loose.txt");
  await Deno.chmod(`${tmp}/loose.txt`, 0o644);
  const r = await run(
    ["put", ...base("loose"), "--age-identity", `${tmp}/loose.txt`],
    pseudoRandom(10),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /readable by group or others; run: chmod 600/);
});

Deno.test("age: no identity ever appears in any output", () => {
  assert.ok(secrets.length >= 5);
  for (const s of secrets) {
    for (const out of outputs) assert.ok(!out.includes(s), "an identity leaked into output");
  }
});

Deno.test("age: clean up", async () => {
  await t.clean();
  await Deno.remove(tmp, { recursive: true });
});
