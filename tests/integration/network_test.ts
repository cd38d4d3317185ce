/**
 * Real networks (issue 14): TLS with a throwaway CA in front of Ceph (socat), proxies (Debian's
 * tinyproxy, its own log as the witness), NO_PROXY, proxy auth and refusals, an https:// proxy,
 * IPv6 on [::1], and the credential chain through the proxy (STS) and around it (IMDS). The lab
 * is tests/servers/net_lab.ts; every CLI run gets a cleared environment.
 */
import assert from "node:assert/strict";
import { bytesEqual, ceph, cleanPrefix, pseudoRandom, runPrefix, s3Args } from "./harness.ts";
import { s3ductClean, startNetLab } from "../servers/net_lab.ts";
import type { Proxy } from "../servers/net_servers.ts";

const PREFIX = runPrefix("net");
const DATA = pseudoRandom(1024 * 1024 + 333, 41);
const PASSWORD = "pr0xy-Secret-9";

const c = ceph();
const cephPort = Number(new URL(c.endpoint).port);
const net = await startNetLab(c, PASSWORD);

/** The CLI with exactly `env` (plus PATH and credentials): nothing inherited. */
function s3duct(args: string[], env: Record<string, string> = {}, stdin?: Uint8Array) {
  return s3ductClean(c, net.dir, args, env, stdin);
}

/** put then get of DATA at `endpoint` with `env`; asserts the bytes come back identical. */
async function roundTrip(name: string, endpoint: string, env: Record<string, string>) {
  const args = [
    "--bucket",
    c.bucket,
    "--endpoint-url",
    endpoint,
    "--prefix",
    PREFIX,
    "--name",
    name,
  ];
  const put = await s3duct(
    ["put", ...args, "--no-encrypt", "--chunk-size", "256K", "-q"],
    env,
    DATA,
  );
  assert.equal(put.code, 0, put.stderr);
  const get = await s3duct(["get", ...args, "-q"], env);
  assert.equal(get.code, 0, get.stderr);
  assert.ok(bytesEqual(get.stdout, DATA), `${name}: bytes differ`);
}

/** The CONNECT lines tinyproxy logged for `target` (host:port). */
function connects(p: Proxy, target: string): number {
  return p.log().split("\n").filter((l) => l.includes(`CONNECT ${target} HTTP/1.1`)).length;
}

/** One failing `get` of a missing stream: only the transport's verdict matters here. */
function getArgs(endpoint: string): string[] {
  return ["get", "--bucket", c.bucket, "--endpoint-url", endpoint, "--name", "net/none", "-q"];
}

function oneLine(r: { stderr: string }): string {
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  return lines[0];
}

const tlsUrl = () => `https://localhost:${net.tls.port}`;

Deno.test("network: TLS round trips with --ca-bundle and with AWS_CA_BUNDLE", async () => {
  const put = await s3duct(
    ["put", ...s3Args(), "--endpoint-url", tlsUrl(), "--prefix", PREFIX, "--name", "tls"]
      .concat(["--no-encrypt", "--chunk-size", "256K", "-q", "--ca-bundle", net.certs.ca]),
    {},
    DATA,
  );
  assert.equal(put.code, 0, put.stderr);
  const get = await s3duct(
    [
      "get",
      "--bucket",
      c.bucket,
      "--endpoint-url",
      tlsUrl(),
      "--prefix",
      PREFIX,
      "--name",
      "tls",
      "-q",
    ],
    { AWS_CA_BUNDLE: net.certs.ca },
  );
  assert.equal(get.code, 0, get.stderr);
  assert.ok(bytesEqual(get.stdout, DATA));
  // DENO_CERT (Deno's own) is honoured too when neither of ours is given.
  const viaDeno = await s3duct(
    ["list", "--bucket", c.bucket, "--endpoint-url", tlsUrl(), "--prefix", PREFIX],
    { DENO_CERT: net.certs.ca },
  );
  assert.equal(viaDeno.code, 0, viaDeno.stderr);
  assert.match(new TextDecoder().decode(viaDeno.stdout), /tls/);
});

Deno.test("network: an untrusted, expired or wrong-name certificate is one line, exit 7, no retries", async () => {
  const unknown = await s3duct(getArgs(tlsUrl()));
  assert.equal(unknown.code, 7);
  assert.equal(unknown.stdout.length, 0);
  assert.equal(
    oneLine(unknown),
    `s3duct: error: TLS certificate of the store localhost:${net.tls.port} is signed by an ` +
      "unknown issuer (not among Deno's roots); pass --ca-bundle FILE or set AWS_CA_BUNDLE to " +
      "the CA that signed it",
  );
  // Not retried: ten retries would take well over 10 s.
  assert.ok(unknown.ms < 10_000, `took ${unknown.ms} ms`);
  const expired = await s3duct(getArgs(`https://localhost:${net.expired.port}`), {
    AWS_CA_BUNDLE: net.certs.ca,
  });
  assert.equal(expired.code, 7);
  assert.equal(
    oneLine(expired),
    `s3duct: error: TLS certificate of the store localhost:${net.expired.port} has expired; ` +
      "the server needs a renewed certificate (or the clock here is wrong)",
  );
  const wrong = await s3duct(
    [...getArgs(`https://127.0.0.1:${net.wrongName.port}`), "--ca-bundle", net.certs.ca],
  );
  assert.equal(wrong.code, 7);
  assert.equal(
    oneLine(wrong),
    `s3duct: error: TLS certificate of the store 127.0.0.1:${net.wrongName.port} is for the ` +
      "wrong name (wrong.example); use the host name the certificate was issued for in the URL",
  );
  const missing = await s3duct([...getArgs(tlsUrl()), "--ca-bundle", `${net.dir}/nope.pem`]);
  assert.equal(missing.code, 2);
  assert.equal(
    oneLine(missing),
    `s3duct: error: --ca-bundle ${net.dir}/nope.pem: cannot read the CA bundle (no such file)`,
  );
});

Deno.test("network: put/get through tinyproxy for http and https endpoints (its log proves it)", async () => {
  const proxy = `http://127.0.0.1:${net.proxy.port}`;
  const before = connects(net.proxy, `127.0.0.1:${cephPort}`);
  await roundTrip("proxy-http", c.endpoint, { HTTP_PROXY: proxy, NO_PROXY: "<-loopback>" });
  assert.ok(connects(net.proxy, `127.0.0.1:${cephPort}`) >= before + 2, net.proxy.log());
  const beforeTls = connects(net.proxy, `localhost:${net.tls.port}`);
  await roundTrip("proxy-https", tlsUrl(), {
    https_proxy: proxy,
    no_proxy: "<-loopback>",
    AWS_CA_BUNDLE: net.certs.ca,
  });
  assert.ok(connects(net.proxy, `localhost:${net.tls.port}`) >= beforeTls + 2, net.proxy.log());
});

Deno.test("network: NO_PROXY and loopback bypass the proxy (its log stays unchanged)", async () => {
  const proxy = `http://127.0.0.1:${net.proxy.port}`;
  const args = ["list", "--bucket", c.bucket, "--endpoint-url", c.endpoint, "--prefix", PREFIX];
  const logged = () => connects(net.proxy, `127.0.0.1:${cephPort}`);
  const before = logged();
  // Loopback is direct unless NO_PROXY says <-loopback>; listed hosts are direct either way.
  for (
    const env of [
      { HTTP_PROXY: proxy } as Record<string, string>,
      { HTTP_PROXY: proxy, NO_PROXY: "<-loopback>,example.com,127.0.0.1" },
      { HTTP_PROXY: proxy, NO_PROXY: `<-loopback>,127.0.0.0/8` },
      { HTTP_PROXY: proxy, no_proxy: "*" },
    ]
  ) {
    const r = await s3duct(args, env);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(logged(), before, "no CONNECT for bypassed hosts");
  const proxied = await s3duct(args, {
    HTTP_PROXY: proxy,
    NO_PROXY: "<-loopback>,other.example,127.0.0.1:1",
  });
  assert.equal(proxied.code, 0, proxied.stderr);
  assert.ok(logged() > before, "proxied once NO_PROXY lets loopback through");
});

Deno.test("network: proxy auth: right password works, wrong one is one line without it", async () => {
  const at = `127.0.0.1:${net.authProxy.port}`;
  await roundTrip("proxy-auth", c.endpoint, {
    HTTP_PROXY: `http://alice:${encodeURIComponent(PASSWORD)}@${at}`,
    NO_PROXY: "<-loopback>",
  });
  assert.ok(connects(net.authProxy, `127.0.0.1:${cephPort}`) >= 2);
  const wrong = await s3duct(getArgs(c.endpoint), {
    HTTP_PROXY: `http://alice:${PASSWORD}x@${at}`,
    NO_PROXY: "<-loopback>",
  });
  assert.equal(wrong.code, 7);
  assert.equal(
    oneLine(wrong),
    `s3duct: error: proxy http://***:***@${at} (HTTP_PROXY) refused the credentials ` +
      "(401 Unauthorized); check the user and password in HTTP_PROXY",
  );
  assert.ok(!wrong.stderr.includes(PASSWORD) && !wrong.stderr.includes("alice"));
  const none = await s3duct(getArgs(c.endpoint), {
    HTTP_PROXY: `http://${at}`,
    NO_PROXY: "<-loopback>",
  });
  assert.equal(none.code, 7);
  assert.match(oneLine(none), /needs credentials \(407 Proxy Authentication Required\)/);
});

Deno.test("network: a proxy that refuses CONNECT is one line naming it, exit 7", async () => {
  const target = `localhost:${net.wrongName.port}`;
  const r = await s3duct(getArgs(`https://${target}`), {
    HTTPS_PROXY: `http://127.0.0.1:${net.proxy.port}`,
    NO_PROXY: "<-loopback>",
  });
  assert.equal(r.code, 7);
  assert.equal(
    oneLine(r),
    `s3duct: error: proxy http://127.0.0.1:${net.proxy.port} (HTTPS_PROXY) refused CONNECT to ` +
      `${target} (403 Access violation); ask its admin to allow it, or list the host in NO_PROXY`,
  );
  assert.ok(r.ms < 10_000, `not retried: ${r.ms} ms`);
});

Deno.test("network: an https:// proxy URL (TLS to the proxy) for an http endpoint", async () => {
  const before = connects(net.proxy, `127.0.0.1:${cephPort}`);
  const env = {
    HTTP_PROXY: `https://localhost:${net.tlsProxy.port}`,
    NO_PROXY: "<-loopback>",
    AWS_CA_BUNDLE: net.certs.ca,
  };
  const r = await s3duct(
    ["list", "--bucket", c.bucket, "--endpoint-url", c.endpoint, "--prefix", PREFIX],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(connects(net.proxy, `127.0.0.1:${cephPort}`) > before);
  // TLS inside TLS is beyond Deno.startTls: refused up front, with the way out.
  const nested = await s3duct(getArgs(tlsUrl()), { ...env, HTTPS_PROXY: env.HTTP_PROXY });
  assert.equal(nested.code, 7);
  assert.match(
    oneLine(nested),
    /is an https:\/\/ proxy, which s3duct can use for http:\/\/ endpoints only/,
  );
});

Deno.test("network: IPv6 round trip on [::1]", async () => {
  await roundTrip("ipv6", `http://[::1]:${net.ipv6.port}`, {});
});

Deno.test({
  name: "network: the credential chain's STS call goes through the proxy too",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const home = net.dir;
    await Deno.writeTextFile(
      `${home}/credentials`,
      "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = baseSECRET\n",
    );
    await Deno.writeTextFile(
      `${home}/config`,
      "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base\n",
    );
    const target = `127.0.0.1:${new URL(net.sts.url).port}`;
    const before = net.sts.calls.sts ?? 0;
    const r = await s3duct(
      ["list", "--bucket", c.bucket, "--endpoint-url", c.endpoint, "--prefix", PREFIX],
      {
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
        AWS_SHARED_CREDENTIALS_FILE: `${home}/credentials`,
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_PROFILE: "deploy",
        AWS_ENDPOINT_URL_STS: `${net.sts.url}/sts/`,
        HTTP_PROXY: `http://127.0.0.1:${net.proxy.port}`,
        // Ceph direct, so the only tunnel asked for is STS's.
        NO_PROXY: `<-loopback>,127.0.0.1:${cephPort}`,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(net.sts.calls.sts, before + 1);
    assert.ok(connects(net.proxy, target) >= 1, `STS through the proxy:\n${net.proxy.log()}`);
  },
});

Deno.test({
  name: "network: instance metadata is reached directly even with a proxy for everything",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const target = `127.0.0.1:${new URL(net.sts.url).port}`;
    const before = { calls: net.sts.calls.imds ?? 0, tunnels: connects(net.proxy, target) };
    const r = await s3duct(
      ["list", "--bucket", c.bucket, "--endpoint-url", c.endpoint, "--prefix", PREFIX],
      {
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
        AWS_EC2_METADATA_DISABLED: "false",
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `${net.sts.url}/imds`,
        HTTP_PROXY: `http://127.0.0.1:${net.proxy.port}`,
        NO_PROXY: `<-loopback>,127.0.0.1:${cephPort}`,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(net.sts.calls.imds, before.calls + 1);
    assert.equal(connects(net.proxy, target), before.tunnels, "no tunnel to the metadata service");
  },
});

Deno.test("network: clean up", async () => {
  await cleanPrefix(PREFIX);
  await net.stopAll();
});
