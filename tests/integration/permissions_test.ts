/**
 * README "Least-privilege": put and get on Ceph with exactly the documented Deno flags (no -A),
 * and the one-line message + exit 6 when --allow-net is missing.
 */
import assert from "node:assert/strict";
import { permissionProblem } from "../../main.ts";
import { bytesEqual, ceph, cleanPrefix, pseudoRandom, runPrefix, s3Args } from "./harness.ts";
import { makeCerts, startTinyproxy, startTlsTerminator } from "../servers/net_servers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const PREFIX = runPrefix("perm");
const DATA = pseudoRandom(2 * 1024 * 1024 + 5, 23);

/** The README's flags for env credentials, AWS_REGION set, and an AES key file. */
function leastPrivilege(hostPort: string, keyFile: string): string[] {
  return [
    `--allow-net=${hostPort}`,
    "--allow-env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,S3DUCT_NO_OPENSSL",
    `--allow-read=${keyFile}`,
    "--allow-sys=systemMemoryInfo",
  ];
}

async function run(
  flags: string[],
  args: string[],
  stdin?: Uint8Array,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const c = ceph();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: {
      NO_COLOR: "1",
      AWS_ACCESS_KEY_ID: c.accessKey,
      AWS_SECRET_ACCESS_KEY: c.secretKey,
      AWS_SESSION_TOKEN: "",
      AWS_REGION: c.region,
      ...extraEnv,
    },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(stdin ?? new Uint8Array()).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("least-privilege: put and get on Ceph with exactly the README flags", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keyFile = `${dir}/stream.key`;
    await Deno.writeTextFile(keyFile, "3c".repeat(32));
    await Deno.chmod(keyFile, 0o600);
    const flags = leastPrivilege(new URL(ceph().endpoint).host, keyFile);
    const args = [...s3Args(), "--prefix", PREFIX, "--name", "lp", "--key", `file:${keyFile}`];
    const put = await run(flags, ["put", ...args, "--chunk-size", "1M", "-q"], DATA);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stderr, "");
    const get = await run(flags, ["get", ...args, "-q"]);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, DATA), "identical bytes");

    // Without --allow-net: exit 6 and exactly one line naming the flag and the host.
    const host = new URL(ceph().endpoint).host;
    const noNet = flags.filter((f) => !f.startsWith("--allow-net"));
    const denied = await run(noNet, ["get", ...args]);
    assert.equal(denied.code, 6);
    assert.equal(
      denied.stderr,
      `s3duct: error: Deno was not given --allow-net for ${host}; re-run with it (see README "Least-privilege")\n`,
    );
    assert.equal(denied.stdout.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await cleanPrefix(PREFIX);
  }
});

Deno.test("least-privilege: https through a proxy with a CA bundle, with the README flags", async () => {
  const dir = await Deno.makeTempDir();
  const cephPort = Number(new URL(ceph().endpoint).port);
  const certs = await makeCerts(dir);
  const tls = await startTlsTerminator(certs.good, cephPort);
  const proxy = await startTinyproxy(dir, [tls.port]);
  try {
    const keyFile = `${dir}/stream.key`;
    await Deno.writeTextFile(keyFile, "3c".repeat(32));
    await Deno.chmod(keyFile, 0o600);
    const endpoint = `https://localhost:${tls.port}`;
    const proxyHostPort = `127.0.0.1:${proxy.port}`;
    // README: through a proxy --allow-net names the proxy (not the store); the variables
    // used are added to --allow-env and the bundle to --allow-read.
    const flags = [
      `--allow-net=${proxyHostPort}`,
      "--allow-env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,S3DUCT_NO_OPENSSL,AWS_CA_BUNDLE,HTTPS_PROXY,NO_PROXY",
      `--allow-read=${keyFile},${certs.ca}`,
      "--allow-sys=systemMemoryInfo",
    ];
    const env = {
      AWS_CA_BUNDLE: certs.ca,
      HTTPS_PROXY: `http://${proxyHostPort}`,
      NO_PROXY: "<-loopback>",
    };
    const args = [
      ...["--bucket", ceph().bucket, "--endpoint-url", endpoint, "--prefix", PREFIX],
      ...["--name", "lp-proxy", "--key", `file:${keyFile}`],
    ];
    const put = await run(flags, ["put", ...args, "--chunk-size", "1M", "-q"], DATA, env);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stderr, "");
    const get = await run(flags, ["get", ...args, "-q"], undefined, env);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(bytesEqual(get.stdout, DATA), "identical bytes");
    /** The tunnels the proxy opened to the TLS terminator so far. */
    const tunnelsNow = () =>
      proxy.log().split("\n").filter((l) => l.includes(`CONNECT localhost:${tls.port}`)).length;
    const tunnels = tunnelsNow();
    assert.ok(tunnels >= 2, proxy.log());

    // A proxy variable --allow-env does not list is not used: the store is then reached
    // directly, so --allow-net must name the store itself.
    const direct = [
      `--allow-net=localhost:${tls.port}`,
      ...flags.slice(1).map((f) => f.replace(",HTTPS_PROXY,NO_PROXY", "")),
    ];
    const again = await run(direct, ["get", ...args, "-q"], undefined, env);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(bytesEqual(again.stdout, DATA));
    assert.equal(tunnelsNow(), tunnels, "no tunnel when HTTPS_PROXY is not readable");
  } finally {
    await proxy.stop();
    await tls.stop();
    await Deno.remove(dir, { recursive: true });
    await cleanPrefix(PREFIX);
  }
});

Deno.test("permission errors map to one line naming the flag, also when wrapped", () => {
  const notCapable = new Deno.errors.NotCapable(
    'Requires env access to "AWS_PROFILE", run again with the --allow-env flag',
  );
  const want =
    'Deno was not given --allow-env for AWS_PROFILE; re-run with it (see README "Least-privilege")';
  assert.equal(permissionProblem(notCapable), want);
  assert.equal(permissionProblem(new Error("outer", { cause: notCapable })), want);
  assert.equal(
    permissionProblem(new Deno.errors.NotCapable("Requires sys access, run again")),
    'Deno was not given --allow-sys; re-run with it (see README "Least-privilege")',
  );
  assert.equal(
    permissionProblem(new Deno.errors.PermissionDenied("Permission denied (os error 13)")),
    "permission denied: Permission denied (os error 13)",
  );
  assert.equal(permissionProblem(new Error("other")), undefined);
});
