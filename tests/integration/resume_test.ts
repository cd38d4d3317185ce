/**
 * Crash-safe resume on the server matrix (the random-kill loop on Ceph only): SIGKILL `put` at
 * random moments, run the same pipe again, and the stream restores byte-identical; resume state
 * is bound to bucket, key, chunk size and input.
 */
import assert from "node:assert/strict";
import {
  bytesEqual,
  cleanPrefix,
  cli,
  OTHER_KEY_HEX,
  pseudoRandom,
  putInterrupted,
  servers,
  Suite,
  TEST_KEY_HEX,
} from "./harness.ts";
import { spawnCli } from "../helpers.ts";

for (const server of servers()) {
  // Ceph runs every case; the other servers those that depend on the server (bucket records,
  // conditional writes, listings), not the local-log logic around them: CI time is counted.
  const all = server.name === "ceph";
  const t = new Suite(`resume-${server.name}`, server, { K: TEST_KEY_HEX, WRONG: OTHER_KEY_HEX });
  const { prefix } = t;
  const stateEnv = () => t.stateEnv();
  const putArgs = (name: string, chunk = "256K", key = "env:K") => [
    "put",
    ...t.at(name, "--chunk-size", chunk, "--key", key, "--summary", "json"),
    "--upload-workers",
    "2",
  ];

  /** Start a put and SIGKILL it after `ms`; resolves when it is gone (or finished first). */
  const putKilledAfter = async (
    args: string[],
    data: Uint8Array,
    env: Record<string, string>,
    ms: number,
  ) => {
    const child = spawnCli(args, env);
    const w = child.stdin.getWriter();
    // Fed at ~20 MiB/s, like a producer, so the kill lands while chunks are in flight.
    const feeding = (async () => {
      for (let off = 0; off < data.length; off += 1024 * 1024) {
        await w.write(data.subarray(off, off + 1024 * 1024));
        await new Promise((r) => setTimeout(r, 50));
      }
      await w.close();
    })().catch(() => {});
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, ms);
    const status = await child.status;
    clearTimeout(timer);
    await feeding;
    return status;
  };

  const summary = (stderr: string): Record<string, unknown> => {
    return JSON.parse(stderr.trim().split("\n").at(-1)!);
  };

  const getBytes = (name: string, key = "env:K") => t.run("get", name, ["--key", key]);

  // CI runs 10; `deno task bench:chaos` runs 50.
  const KILLS = Number(Deno.env.get("S3DUCT_CHAOS_ITERATIONS") ?? 10);

  if (all) {
    Deno.test(`resume: ${KILLS} random SIGKILLs, each re-run completes a byte-identical stream [${server.name}]`, async () => {
      const reuploads: number[] = [];
      for (let it = 0; it < KILLS; it++) {
        const data = pseudoRandom(16 * 1024 * 1024 + 4321, 100 + it); // 65 chunks of 256 KiB
        const name = `kill-${it}`;
        const env = stateEnv();
        const killAt = 200 + Math.floor(Math.random() * 1800);
        const first = await putKilledAfter(putArgs(name), data, env, killAt);
        // A kill can land after the manifest is written but before the process exits (the
        // clean-up of unreferenced chunks runs then): the stream is complete all the same.
        const published = first.success ||
          (await t.store.head(t.manifestKey(name))) !== undefined;
        const again = await cli(putArgs(name), { stdin: data, env });
        if (published) {
          // Finished before the kill: the second run must refuse to overwrite it.
          assert.equal(again.code, 8, again.stderr);
        } else {
          assert.equal(again.code, 0, `re-run after kill at ${killAt} ms: ${again.stderr}`);
          const s = summary(again.stderr);
          assert.equal(s.chunks_uploaded, 65);
          reuploads.push(s.chunks_new as number);
        }
        const got = await getBytes(name);
        assert.equal(got.code, 0, got.stderr);
        assert.ok(bytesEqual(got.stdout, data), `iteration ${it}: restored bytes differ`);
      }
      console.log(`chunks the re-runs uploaded (of 65; the rest resumed): ${reuploads.join(", ")}`);
      assert.ok(reuploads.length >= Math.ceil(KILLS * 0.3), "too few kills landed mid-upload");
    });
  }

  Deno.test(`resume: from the bucket alone after the local state is lost (another host) [${server.name}]`, async () => {
    const data = pseudoRandom(12 * 1024 * 1024, 7);
    const name = "cross-host";
    const env = stateEnv();
    await putInterrupted(putArgs(name), data, env, 5);
    const again = await cli(putArgs(name), { stdin: data, env: stateEnv() });
    assert.equal(again.code, 0, again.stderr);
    assert.ok((summary(again.stderr).chunks_resumed as number) >= 5, again.stderr);
    assert.match(again.stderr, /resuming '.*' from the bucket/);
    assert.ok(bytesEqual((await getBytes(name)).stdout, data));
  });

  /** An interrupted upload of `name`. */
  const interrupted = async (name: string, data: Uint8Array, env: Record<string, string>) => {
    await putInterrupted(putArgs(name), data, env);
  };

  Deno.test(`resume: a different key, chunk size or input is refused (exit 11); same input resumes [${server.name}]`, async () => {
    const data = pseudoRandom(16 * 1024 * 1024, 8);
    const env = stateEnv();
    await interrupted("refuse", data, env);
    const key = await cli(putArgs("refuse", "256K", "env:WRONG"), { stdin: data, env });
    assert.equal(key.code, 11, key.stderr);
    assert.match(key.stderr, /different key/);
    const size = await cli(putArgs("refuse", "512K"), { stdin: data, env });
    assert.equal(size.code, 11, size.stderr);
    assert.match(size.stderr, /--chunk-size 262144/);
    const other = pseudoRandom(16 * 1024 * 1024, 9);
    const input = await cli(putArgs("refuse"), { stdin: other, env });
    assert.equal(input.code, 11, input.stderr);
    assert.match(input.stderr, /differs .* at chunk 0/);
    const same = await cli(putArgs("refuse"), { stdin: data, env });
    assert.equal(same.code, 0, same.stderr);
    assert.ok(bytesEqual((await getBytes("refuse")).stdout, data));
  });

  if (all) {
    Deno.test(`resume: strict refuses a shorter stdin; --no-strict-resume stores a consistent prefix [${server.name}]`, async () => {
      const data = pseudoRandom(16 * 1024 * 1024, 10);
      const env = stateEnv();
      await interrupted("short", data, env);
      const cut = data.subarray(0, 256 * 1024); // one chunk
      const strict = await cli(putArgs("short"), { stdin: cut, env });
      assert.equal(strict.code, 11, strict.stderr);
      assert.match(strict.stderr, /--no-strict-resume/);
      const loose = await cli([...putArgs("short"), "--no-strict-resume"], { stdin: cut, env });
      assert.equal(loose.code, 0, loose.stderr);
      const got = await getBytes("short");
      assert.equal(got.code, 0, got.stderr);
      assert.ok(bytesEqual(got.stdout, cut), "the manifest describes exactly what was verified");
    });
  }

  if (all) {
    Deno.test(`resume: a torn last line in the local log is tolerated [${server.name}]`, async () => {
      const data = pseudoRandom(16 * 1024 * 1024, 11);
      const env = stateEnv();
      await interrupted("torn", data, env);
      for (const f of Deno.readDirSync(env.S3DUCT_STATE_DIR)) {
        await Deno.writeTextFile(`${env.S3DUCT_STATE_DIR}/${f.name}`, '{"chunk":99,"si', {
          append: true,
        });
      }
      const again = await cli(putArgs("torn"), { stdin: data, env });
      assert.equal(again.code, 0, again.stderr);
      assert.ok(bytesEqual((await getBytes("torn")).stdout, data));
    });
  }

  if (all) {
    Deno.test(`resume: another bucket or prefix never picks up this log [${server.name}]`, async () => {
      const data = pseudoRandom(16 * 1024 * 1024, 12);
      const env = stateEnv();
      await interrupted("elsewhere", data, env);
      const args = putArgs("elsewhere").map((a) => (a === prefix ? `${prefix}-other` : a));
      const r = await cli(args, { stdin: data, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(summary(r.stderr).chunks_resumed, 0);
      await cleanPrefix(`${prefix}-other`, server);
    });
  }

  Deno.test(`clobber: killed half-way, the old stream is still whole; finished, it is replaced [${server.name}]`, async () => {
    const before = pseudoRandom(3 * 1024 * 1024, 20);
    const after = pseudoRandom(16 * 1024 * 1024, 21);
    const env = stateEnv();
    const put = await cli(putArgs("replace-me"), { stdin: before, env });
    assert.equal(put.code, 0, put.stderr);
    await putInterrupted([...putArgs("replace-me"), "--clobber"], after, env, 4);
    const mid = await getBytes("replace-me");
    assert.equal(mid.code, 0, mid.stderr);
    assert.ok(bytesEqual(mid.stdout, before), "an interrupted --clobber must leave the old stream");
    const done = await cli([...putArgs("replace-me"), "--clobber"], { stdin: after, env });
    assert.equal(done.code, 0, done.stderr);
    assert.ok(bytesEqual((await getBytes("replace-me")).stdout, after));
  });

  Deno.test(`resume: clean up [${server.name}]`, () => t.clean());
}
