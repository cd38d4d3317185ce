/**
 * `--bandwidth-limit` through the CLI, both ways, on the local store and on each server: one
 * chunk bigger than a second's worth must take as long as the limit says (charged per request,
 * a put got a second of credit and a get was charged only after it had arrived: both ran ~1 s
 * ahead here). Only lower bounds on time: load can slow a run, never speed it up.
 */
import assert from "node:assert/strict";
import { bytesEqual, cli, pseudoRandom, runPrefix, s3Args, s3Env, servers } from "./harness.ts";

const MiB = 1024 * 1024;
const DATA = pseudoRandom(4 * MiB + 123, 9);
const LIMIT = 2 * MiB;
const least = (DATA.length - 256 * 1024) / LIMIT; // one slice of credit at the start

async function timed(args: string[], env: Record<string, string>, stdin?: Uint8Array) {
  const t0 = performance.now();
  const r = await cli(args, { env, stdin });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

async function roundTrip(where: string[], env: Record<string, string>): Promise<void> {
  const limit = ["--bandwidth-limit", "2M", "-q", "--key", "env:K"];
  const put = await timed(
    ["put", ...where, "--chunk-size", "8M", ...limit],
    { ...env, K: "3c".repeat(32) },
    DATA,
  );
  assert.equal(put.code, 0, put.stderr);
  assert.ok(put.seconds >= least, `put of 4 MiB at 2M took ${put.seconds.toFixed(2)} s`);
  const get = await timed(["get", ...where, ...limit], { ...env, K: "3c".repeat(32) });
  assert.equal(get.code, 0, get.stderr);
  assert.ok(bytesEqual(get.stdout, DATA));
  assert.ok(get.seconds >= least, `get of 4 MiB at 2M took ${get.seconds.toFixed(2)} s`);
}

Deno.test("cli: --bandwidth-limit holds both ways for a chunk of two seconds' worth [local]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3duct-bwcli-" });
  try {
    await Deno.mkdir(`${dir}/b`);
    await roundTrip(["--bucket", "b", "--endpoint-url", `file://${dir}`, "--name", "bw"], {
      HOME: dir,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const server of servers()) {
  Deno.test(`cli: --bandwidth-limit holds both ways for a chunk of two seconds' worth [${server.name}]`, async () => {
    await roundTrip([...s3Args(server), "--name", `${runPrefix("bw")}/s`], s3Env(server));
  });
}
