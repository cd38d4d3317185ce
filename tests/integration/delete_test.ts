/**
 * delete on the server matrix: confirmation rules, --dry-run, orphan chunks, the manifest last,
 * nested streams untouched, --force without a readable manifest; partial failure on the stand-in.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../lib/errors.ts";
import { GlacierStandin } from "../servers/glacier_standin.ts";
import { cli, pseudoRandom, servers, Suite, TEST_KEY_HEX } from "./harness.ts";
import { MAIN_TS } from "../helpers.ts";

for (const server of servers()) {
  // Ceph runs every case; the other servers those that depend on the server (listings, batch
  // deletes), not the terminal prompt or the stand-in's refusals: CI time is counted.
  const all = server.name === "ceph";
  const t = new Suite(`delete-${server.name}`, server, { K: TEST_KEY_HEX });
  const { prefix, env, store } = t;
  const CHUNK = 1000;
  /** The generation folder (`g` + 8 base36) a chunk key of the stream `name` is in. */
  const genRe = (name: string, tail: string) =>
    new RegExp(`^${prefix}/${name}/(g[0-9a-z]{8})/${tail}$`);
  /** The generation folder that `put` wrote the stream `name`'s chunks into (from chunk 0). */
  const generationOf = async (name: string): Promise<string> => {
    const key = await t.chunkKey(name, 0);
    const gen = genRe(name, "chunk-000000").exec(key)?.[1];
    assert.ok(gen, `chunk 0 of '${name}' is not in a generation folder: ${key}`);
    return gen;
  };

  /** Full keys under the stream's prefix, nested streams included. */
  const keysOf = async (name: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of store.list(`${prefix}/${name}/`)) {
      if (e.kind === "object") out.push(e.key);
    }
    return out.sort();
  };

  const put = (name: string, bytes: number, extra: string[] = ["--key", "env:K"]) =>
    t.put(name, pseudoRandom(bytes, bytes), "--chunk-size", String(CHUNK), ...extra);
  const del = (name: string, ...more: string[]) => t.run("delete", name, more);

  Deno.test(`delete: refuses without --force when stdin is no terminal; --dry-run lists, keeps all [${server.name}]`, async () => {
    await put("keep", 2500); // 3 chunks
    const before = await keysOf("keep");
    const r = await del("keep", "--key", "env:K");
    assert.equal(r.code, ExitCode.USAGE, r.stderr);
    assert.match(r.stderr, /not a terminal.*--force/);
    const dry = await del("keep", "--key", "env:K", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    // The three chunks, all in the one generation folder put wrote, then the manifest.
    const gen = await generationOf("keep");
    assert.deepEqual(new TextDecoder().decode(dry.stdout).trim().split("\n"), [
      `${prefix}/keep/${gen}/chunk-000000`,
      `${prefix}/keep/${gen}/chunk-000001`,
      `${prefix}/keep/${gen}/chunk-000002`,
      `${prefix}/keep/.manifest.json`,
    ]);
    assert.match(dry.stderr, /3 chunks, 2,584 bytes/, "stored (AES) bytes: 2500 + 3 x 28");
    assert.deepEqual(await keysOf("keep"), before, "nothing deleted");
  });

  Deno.test(`delete --force: chunks, orphans past the manifest, then the manifest; nested stream kept [${server.name}]`, async () => {
    await put("s", 2500);
    await put("s/inner", 500);
    // Interrupted uploads left chunks beyond the manifest's three: one next to the stream's own
    // chunks, one in the generation folder of another (interrupted) put.
    const gen = await generationOf("s");
    const orphan3 = `${prefix}/s/${gen}/chunk-000003`;
    const orphan4 = `${prefix}/s/${gen === "gint3rupt" ? "gint3rup2" : "gint3rupt"}/chunk-000004`;
    await store.put(orphan3, new Uint8Array(10));
    await store.put(orphan4, new Uint8Array(10));
    const r = await del("s", "--key", "env:K", "--force", "-v");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /5 chunks, 2,604 bytes \(2 orphan chunks not in the manifest\)/);
    assert.match(r.stderr, /Deleted 6 objects/);
    assert.ok(r.stderr.includes(`  ${orphan3}`), "-v lists the keys");
    assert.ok(r.stderr.includes(`  ${orphan4}`), "-v lists the keys");
    const left = await keysOf("s");
    assert.equal(left.length, 2, left.join(" "));
    assert.equal(left[0], `${prefix}/s/inner/.manifest.json`);
    assert.match(left[1], genRe("s/inner", "chunk-000000"));
    const get = await t.run("get", "s/inner", ["--key", "env:K"]);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(get.stdout, pseudoRandom(500, 500));
  });

  Deno.test(`delete without a readable manifest: explains and needs --force, then deletes by listing [${server.name}]`, async () => {
    // Interrupted upload: chunks in its generation folder, no manifest.
    for (const i of [0, 1, 2]) {
      await store.put(`${prefix}/broken/gbr0ken00/chunk-00000${i}`, new Uint8Array(5));
    }
    const r = await del("broken");
    assert.equal(r.code, ExitCode.NOT_FOUND, r.stderr);
    assert.match(
      r.stderr,
      /no manifest.*to delete the 3 chunk objects listed under .* add --force/,
    );
    assert.equal((await keysOf("broken")).length, 3);
    const f = await del("broken", "--force");
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(await keysOf("broken"), []);
    // Encrypted manifest, no key: the manifest is part of the stream and goes too (last).
    await put("sealed", 1500);
    const nokey = await del("sealed");
    assert.equal(nokey.code, ExitCode.KEY, nokey.stderr);
    assert.match(nokey.stderr, /add --force/);
    const dry = await del("sealed", "--force", "--dry-run");
    assert.equal(
      new TextDecoder().decode(dry.stdout).trim().split("\n").at(-1),
      `${prefix}/sealed/.manifest.json`,
    );
    const forced = await del("sealed", "--force");
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await keysOf("sealed"), []);
    // Nothing at all: not found, nothing to force.
    const none = await del("never", "--force");
    assert.equal(none.code, ExitCode.NOT_FOUND);
    assert.match(none.stderr, /nothing to delete/);
  });

  if (all) {
    Deno.test(`delete on a terminal: asks, 'n' keeps the stream, 'y' deletes it [${server.name}]`, async () => {
      await put("tty", 1500, ["--no-encrypt"]);
      const line = [Deno.execPath(), "run", "-A", "--quiet", MAIN_TS, "delete", ...t.at("tty")]
        .map((a) => `'${a}'`).join(" ");
      // `script` gives the command a pseudo-terminal and feeds it our stdin.
      const onTty = async (answer: string) => {
        const child = new Deno.Command("script", {
          args: ["-qec", line, "/dev/null"],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          env,
        }).spawn();
        const w = child.stdin.getWriter();
        await new Promise((r) => setTimeout(r, 1500));
        await w.write(new TextEncoder().encode(answer));
        await w.close();
        const out = await child.output();
        return { code: out.code, text: new TextDecoder().decode(out.stdout) };
      };
      const no = await onTty("n\n");
      assert.match(
        no.text,
        /Delete stream 'tty' \(2 chunks, 1,500 bytes\) from s3:\/\/\S+\? \[y\/N\]/,
      );
      assert.notEqual(no.code, 0);
      assert.equal((await keysOf("tty")).length, 3);
      const yes = await onTty("y\n");
      assert.equal(yes.code, 0, yes.text);
      assert.deepEqual(await keysOf("tty"), []);
    });
  }

  if (all) {
    Deno.test(`delete: objects that cannot be deleted are reported, exit 7, manifest kept [${server.name}]`, async () => {
      const s = new GlacierStandin("bkt");
      const sEnv = { ...env, AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" };
      try {
        await put("src", 2500, ["--no-encrypt"]);
        for (const k of await keysOf("src")) s.put(k.slice(prefix.length + 1), await store.get(k));
        // Chunk 1's key on the stand-in (no prefix there): `src/g.../chunk-000001`.
        const stuck = `src/${await generationOf("src")}/chunk-000001`;
        assert.ok(s.objects.has(stuck), stuck);
        s.undeletable.add(stuck);
        const args = ["delete", "--bucket", "bkt", "--endpoint-url", s.endpoint, "--name", "src"];
        const r = await cli([...args, "--force"], { env: sEnv });
        assert.equal(r.code, ExitCode.STORE, r.stderr);
        assert.ok(r.stderr.includes(`FAILED ${stuck}: AccessDenied`), r.stderr);
        assert.match(r.stderr, /deleted 2 of 4 objects.*1 could not be deleted.*manifest was kept/);
        assert.deepEqual([...s.objects.keys()].sort(), ["src/.manifest.json", stuck]);
      } finally {
        await s.close();
      }
    });
  }

  Deno.test(`delete: clean up [${server.name}]`, () => t.clean());
}
