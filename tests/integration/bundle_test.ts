/**
 * Distribution: `deno bundle` (the `bundle` task) makes one JavaScript file that runs on its
 * own; a put/get round trip through it on a local-directory store returns the same bytes.
 */
import assert from "node:assert/strict";
import { bytesEqual, pseudoRandom } from "./harness.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function deno(
  args: string[],
  stdin?: Uint8Array,
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(stdin ?? new Uint8Array()).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("bundle: the single-file build round-trips a stream on a file:// store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3duct-bundle-" });
  try {
    const bundle = `${dir}/s3duct.js`;
    const built = await deno(["bundle", "--quiet", "--platform", "deno", "-o", bundle, "main.ts"]);
    assert.equal(built.code, 0, built.stderr);
    assert.ok((await Deno.stat(bundle)).size > 10_000);

    const store = `${dir}/store`;
    await Deno.mkdir(`${store}/b`, { recursive: true });
    const data = pseudoRandom(1024 * 1024 + 3, 5);
    const common = ["--bucket", "b", "--endpoint-url", `file://${store}`, "--name", "bundled"];
    const key = ["--key", `hex:${"5a".repeat(32)}`];
    const put = await deno(
      ["run", "-A", bundle, "put", ...common, ...key, "--chunk-size", "256K", "-q"],
      data,
    );
    assert.equal(put.code, 0, put.stderr);
    const get = await deno(["run", "-A", bundle, "get", ...common, ...key, "-q"]);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, data), "identical bytes through the bundle");
    // --compress runs its codec from source text in workers: it must survive bundling too.
    const text = new TextEncoder().encode("INSERT INTO t VALUES (1, 'same row');\n".repeat(30000));
    const zstd = ["--bucket", "b", "--endpoint-url", `file://${store}`, "--name", "bundled-zstd"];
    const zput = await deno(
      ["run", "-A", bundle, "put", ...zstd, ...key, "--format", "2", "--compress", "zstd", "-q"],
      text,
    );
    assert.equal(zput.code, 0, zput.stderr);
    const zget = await deno(["run", "-A", bundle, "get", ...zstd, ...key, "-q"]);
    assert.equal(zget.code, 0, zget.stderr);
    assert.ok(bytesEqual(zget.stdout, text), "identical bytes through the bundle's zstd");
    const version = await deno(["run", "-A", bundle, "--version"]);
    assert.match(new TextDecoder().decode(version.stdout), /^s3duct \d+\.\d+\.\d+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
