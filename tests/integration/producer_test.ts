/**
 * put --from-command on Ceph: a producer that exits 0 gives a restorable stream; one that
 * fails after writing data (exit status or signal) fails the put with exit 10, its stderr
 * passed through, and no manifest written.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../lib/errors.ts";
import { bytesEqual, cli, pseudoRandom, s3Args, Suite, TEST_KEY_HEX } from "./harness.ts";
import { tempFile } from "../helpers.ts";

const t = new Suite("producer", undefined, { K: TEST_KEY_HEX });
const { prefix, store } = t;
const data = pseudoRandom(300_000, 11);
const file = tempFile("s3duct-producer-");
Deno.writeFileSync(file, data);

const put = (name: string, command: string) =>
  t.run("put", name, ["--key", "env:K", "--chunk-size", "64K", "--from-command", command]);

Deno.test("put --from-command: exit 0 -> stream restorable; producer stderr passed through", async () => {
  const r = await put("ok", `echo 'note from the producer' >&2; cat '${file}'`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note from the producer$/m);
  const got = await t.run("get", "ok", ["--key", "env:K"]);
  assert.equal(got.code, 0, got.stderr);
  assert.ok(bytesEqual(got.stdout, data), "get returns the producer's output");
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
  assert.equal(await store.head(t.manifestKey("fails")), undefined, "no manifest");
  // The chunks it did upload are orphans, which cleanup finds.
  const c = await cli(["cleanup", ...s3Args(), "--prefix", prefix, "--dry-run"], { env: t.env });
  assert.equal(c.code, 0, c.stderr);
  const orphan = await t.chunkKey("fails", 0);
  assert.match(orphan, new RegExp(`^${prefix}/fails/g[0-9a-z]{8}/chunk-000000$`));
  const listed = new TextDecoder().decode(c.stdout).split("\n");
  assert.ok(listed.includes(orphan), `${orphan} not in: ${listed.join(" ")}`);
});

Deno.test("put --from-command: a producer killed by a signal -> exit 10 naming the signal", async () => {
  const r = await put("killed", `head -c 100000 '${file}'; kill -9 $$`);
  assert.equal(r.code, ExitCode.PRODUCER, r.stderr);
  assert.match(r.stderr, /producer was killed by signal SIGKILL/);
  assert.equal(await store.head(t.manifestKey("killed")), undefined, "no manifest");
});

Deno.test("put --from-command: clean up", async () => {
  await t.clean();
  await Deno.remove(file);
});
