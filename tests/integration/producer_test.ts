/**
 * put --from-command on Ceph: a producer that exits 0 gives a restorable stream; one that
 * fails after writing data (exit status or signal) fails the put with exit 10, its stderr
 * passed through, and no manifest written.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../lib/errors.ts";
import {
  cleanPrefix,
  cli,
  directStore,
  equalBytes,
  findChunkKey,
  runPrefix,
  s3Args,
  s3Env,
  TEST_KEY_HEX,
  testBytes,
} from "./harness.ts";

const prefix = runPrefix("producer");
const env = { ...s3Env(), K: TEST_KEY_HEX };
const store = directStore();
const data = testBytes(300_000, 11);
const file = Deno.makeTempFileSync({ prefix: "s3duct-producer-" });
Deno.writeFileSync(file, data);

const put = (name: string, command: string) =>
  cli([
    "put",
    ...s3Args(),
    "--prefix",
    prefix,
    "--name",
    name,
    "--key",
    "env:K",
    "--chunk-size",
    "64K",
    "--from-command",
    command,
  ], { env });

Deno.test("put --from-command: exit 0 -> stream restorable; producer stderr passed through", async () => {
  const r = await put("ok", `echo 'note from the producer' >&2; cat '${file}'`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note from the producer$/m);
  const got = await cli(
    ["get", ...s3Args(), "--prefix", prefix, "--name", "ok", "--key", "env:K"],
    { env },
  );
  assert.equal(got.code, 0, got.stderr);
  assert.ok(equalBytes(got.stdout, data), "get returns the producer's output");
});

Deno.test("put --from-command: data then exit 3 -> exit 10, one-line error, no manifest", async () => {
  // The pause lets the uploads of the chunks read so far finish before the failure is seen.
  const r = await put(
    "fails",
    `cat '${file}'; sleep 1; echo 'pg_dump: connection lost' >&2; exit 3`,
  );
  assert.equal(r.code, ExitCode.PRODUCER, r.stderr);
  assert.match(r.stderr, /^pg_dump: connection lost$/m);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("s3duct: error:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /producer exited with status 3; the stream was not published/);
  assert.equal(await store.head(`${prefix}/fails/.manifest.json`), undefined, "no manifest");
  // The chunks it did upload are orphans, which cleanup finds.
  const c = await cli(["cleanup", ...s3Args(), "--prefix", prefix, "--dry-run"], { env });
  assert.equal(c.code, 0, c.stderr);
  const orphan = await findChunkKey(`${prefix}/fails`, 0, store);
  assert.match(orphan, new RegExp(`^${prefix}/fails/g[0-9a-z]{8}/chunk-000000$`));
  const listed = new TextDecoder().decode(c.stdout).split("\n");
  assert.ok(listed.includes(orphan), `${orphan} not in: ${listed.join(" ")}`);
});

Deno.test("put --from-command: a producer killed by a signal -> exit 10 naming the signal", async () => {
  const r = await put("killed", `head -c 100000 '${file}'; kill -9 $$`);
  assert.equal(r.code, ExitCode.PRODUCER, r.stderr);
  assert.match(r.stderr, /producer was killed by signal SIGKILL/);
  assert.equal(await store.head(`${prefix}/killed/.manifest.json`), undefined, "no manifest");
});

Deno.test("put --from-command: clean up", async () => {
  await cleanPrefix(prefix);
  await Deno.remove(file);
});
