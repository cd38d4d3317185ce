/**
 * Proxy URL parsing, NO_PROXY matching, which variables win, the metadata-service rule, the
 * CONNECT handshake's verdicts (against a tiny in-test TCP peer), and certificate messages.
 */
import assert from "node:assert/strict";
import {
  bypassesProxy,
  isLoopback,
  parseNoProxy,
  parseProxyUrl,
  proxyFor,
  proxySettingsFromEnv,
} from "../../lib/store/proxy.ts";
import { isMetadataService } from "../../lib/store/network.ts";
import { openTunnel } from "../../lib/store/tunnel.ts";
import { certificateProblem, loadCaBundle } from "../../lib/store/tls.ts";
import { NetworkError, UsageError } from "../../lib/errors.ts";

const u = (s: string) => new URL(s);
const none = () => undefined;

Deno.test("proxy URL: scheme and port defaults, credentials to a Basic header, masked label", () => {
  const p = parseProxyUrl("proxy.corp:3128", "HTTPS_PROXY");
  assert.equal(p.url.href, "http://proxy.corp:3128/");
  assert.equal(p.authorization, undefined);
  assert.equal(p.label, "http://proxy.corp:3128");
  const q = parseProxyUrl("https://al%40ce:p%3Ass@proxy.corp", "HTTPS_PROXY");
  assert.equal(q.url.protocol, "https:");
  assert.equal(q.url.port, "");
  assert.equal(q.authorization, `Basic ${btoa("al@ce:p:ss")}`);
  assert.equal(q.label, "https://***:***@proxy.corp");
  assert.equal(parseProxyUrl("http://bob@10.0.0.1:8080/", "x").label, "http://***@10.0.0.1:8080");
  assert.equal(parseProxyUrl("http://[::1]:3128", "x").url.hostname, "[::1]");
});

Deno.test("proxy URL: unsupported or malformed ones are usage errors that never show the password", () => {
  for (
    const [text, re] of [
      ["socks5://u:hunter2@h:1080", /only http:\/\/ and https:\/\/ proxies are supported/],
      ["http://u:hunter2@h:3128/path", /must be http\[s\]:\/\/\[user:pass@\]host\[:port\]/],
      ["http://u:hunter2@h:99999", /is not a proxy URL/],
    ] as const
  ) {
    assert.throws(() => parseProxyUrl(text, "HTTPS_PROXY"), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, re);
      assert.match(e.message, /^HTTPS_PROXY '/);
      assert.ok(!e.message.includes("hunter2"), e.message);
      return true;
    });
  }
});

Deno.test("NO_PROXY: hosts match themselves and subdomains, .suffix, host:port, *, CIDR, IPv6", () => {
  const np = parseNoProxy(" example.com, .corp.local,s3.internal:9000 ,10.0.0.0/8,[fd00::5]:443");
  assert.ok(bypassesProxy(u("https://example.com"), np));
  assert.ok(bypassesProxy(u("https://a.b.example.com"), np));
  assert.ok(!bypassesProxy(u("https://badexample.com"), np), "suffix at a dot boundary only");
  assert.ok(bypassesProxy(u("https://corp.local"), np), "curl: a leading dot is ignored");
  assert.ok(bypassesProxy(u("https://x.corp.local"), np));
  assert.ok(bypassesProxy(u("http://s3.internal:9000"), np));
  assert.ok(!bypassesProxy(u("https://s3.internal"), np), "another port is proxied");
  assert.ok(bypassesProxy(u("http://10.20.30.40:8080"), np));
  assert.ok(!bypassesProxy(u("http://11.0.0.1"), np));
  assert.ok(bypassesProxy(u("https://[fd00::5]"), np));
  assert.ok(!bypassesProxy(u("http://[fd00::5]"), np), "port 80 is not 443");
  assert.ok(bypassesProxy(u("https://EXAMPLE.com."), np), "case and a trailing dot");
  assert.ok(bypassesProxy(u("https://anything"), parseNoProxy("*")));
  assert.ok(!bypassesProxy(u("https://anything"), parseNoProxy("")));
});

Deno.test("NO_PROXY: loopback is direct unless <-loopback> is listed", () => {
  for (
    const h of ["http://localhost:9000", "http://127.0.0.1", "http://127.9.9.9", "http://[::1]:1"]
  ) {
    assert.ok(bypassesProxy(u(h), parseNoProxy("")), h);
    assert.ok(bypassesProxy(u(h), parseNoProxy("example.com")), h);
    assert.ok(!bypassesProxy(u(h), parseNoProxy("<-loopback>")), h);
  }
  assert.ok(bypassesProxy(u("http://localhost"), parseNoProxy("<-loopback>,localhost")));
  assert.ok(isLoopback("a.localhost") && isLoopback("0:0:0:0:0:0:0:1") && !isLoopback("128.0.0.1"));
});

Deno.test("proxy variables: lowercase wins, ALL_PROXY fills in, each scheme its own", () => {
  const env: Record<string, string> = {
    https_proxy: "http://lower:1",
    HTTPS_PROXY: "http://upper:2",
    ALL_PROXY: "http://all:3",
    NO_PROXY: "direct.example",
  };
  const s = proxySettingsFromEnv((n) => env[n]);
  assert.equal(s.https?.url.host, "lower:1");
  assert.equal(s.https?.variable, "https_proxy");
  assert.equal(s.http?.url.host, "all:3");
  assert.equal(s.http?.variable, "ALL_PROXY");
  assert.equal(proxyFor(u("https://s3.example"), s)?.url.host, "lower:1");
  assert.equal(proxyFor(u("http://s3.example"), s)?.url.host, "all:3");
  assert.equal(proxyFor(u("https://direct.example"), s), undefined);
  const empty = proxySettingsFromEnv(none);
  assert.equal(proxyFor(u("https://s3.example"), empty), undefined);
  // An empty variable is unset (as in curl).
  assert.equal(
    proxySettingsFromEnv((n) => (n === "HTTPS_PROXY" ? " " : undefined)).https,
    undefined,
  );
});

Deno.test("metadata services are never proxied: link-local, IMDS IPv6, the configured endpoints", () => {
  assert.ok(isMetadataService(u("http://169.254.169.254/latest"), none));
  assert.ok(isMetadataService(u("http://169.254.170.2/v2/creds"), none));
  assert.ok(isMetadataService(u("http://[fd00:ec2::254]/latest"), none));
  assert.ok(!isMetadataService(u("https://sts.us-east-1.amazonaws.com"), none));
  const env: Record<string, string> = {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: "https://agent.internal/c",
  };
  assert.ok(isMetadataService(u("https://agent.internal/c"), (n) => env[n]));
});

/** A one-shot TCP peer that answers the first request head with `answer`, and what it read. */
function peer(answer: string): { port: number; got: Promise<string> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const got = (async () => {
    const c = await l.accept();
    const b = new Uint8Array(4096);
    const n = await c.read(b);
    await c.write(new TextEncoder().encode(answer));
    c.close();
    l.close();
    return new TextDecoder().decode(b.subarray(0, n ?? 0));
  })();
  return { port: (l.addr as Deno.NetAddr).port, got };
}

async function tunnelTo(answer: string, proxyUrl: string) {
  const p = peer(answer);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: p.port });
  const proxy = parseProxyUrl(proxyUrl.replace("PORT", String(p.port)), "HTTPS_PROXY");
  try {
    const rest = await openTunnel(conn, "[::1]:9000", proxy);
    return { rest, error: undefined, got: await p.got };
  } catch (e) {
    return { rest: undefined, error: e as Error, got: await p.got };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the peer
    }
  }
}

Deno.test("CONNECT: request form, credentials sent, 200 opens, refusals are NetworkErrors", async () => {
  const ok = await tunnelTo(
    "HTTP/1.1 200 Connection established\r\n\r\nxy",
    "http://u:pw@127.0.0.1:PORT",
  );
  assert.equal(ok.error, undefined);
  assert.deepEqual([...ok.rest!], [0x78, 0x79], "bytes past the head are kept");
  assert.match(ok.got, /^CONNECT \[::1\]:9000 HTTP\/1\.1\r\nhost: \[::1\]:9000\r\n/);
  assert.match(ok.got, new RegExp(`proxy-authorization: Basic ${btoa("u:pw")}\r\n`));
  const denied = await tunnelTo("HTTP/1.1 403 Forbidden\r\n\r\n", "http://u:pw@127.0.0.1:PORT");
  assert.ok(denied.error instanceof NetworkError);
  assert.match(
    denied.error.message,
    /^proxy http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+ \(HTTPS_PROXY\) refused CONNECT to \[::1\]:9000 \(403 Forbidden\)/,
  );
  const auth = await tunnelTo(
    "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
    "http://127.0.0.1:PORT",
  );
  assert.ok(auth.error instanceof NetworkError);
  assert.match(
    auth.error.message,
    /needs credentials \(407 Proxy Authentication Required\); set HTTPS_PROXY=http:\/\/USER:PASSWORD@host:port$/,
  );
  assert.ok(!/proxy-authorization/i.test(auth.got));
  const bad = await tunnelTo("HTTP/1.1 502 Bad Gateway\r\n\r\n", "http://127.0.0.1:PORT");
  assert.ok(!(bad.error instanceof NetworkError), "a 5xx is worth a retry");
  assert.match(bad.error!.message, /could not open a tunnel to \[::1\]:9000: 502 Bad Gateway/);
  const odd = await tunnelTo("HTTP/1.1 418 \x1b[31mteapot\r\n\r\n", "http://127.0.0.1:PORT");
  assert.match(odd.error!.message, /\(418 \?\[31mteapot\)/, "foreign text made printable");
});

Deno.test("certificate problems: what failed, the host, and the fix", () => {
  const e = (m: string) => new Deno.errors.InvalidData(`invalid peer certificate: ${m}`);
  const p = certificateProblem(e("UnknownIssuer"), "s3.corp:443", undefined)!;
  assert.ok(p instanceof NetworkError && p.exitCode === 7 && !p.transient);
  assert.equal(
    p.message,
    "TLS certificate of the store s3.corp:443 is signed by an unknown issuer (not among Deno's " +
      "roots); pass --ca-bundle FILE or set AWS_CA_BUNDLE to the CA that signed it",
  );
  const withBundle = certificateProblem(e("UnknownIssuer"), "h", {
    pem: "",
    source: "AWS_CA_BUNDLE=/x",
  })!;
  assert.match(withBundle.message, /check that AWS_CA_BUNDLE=\/x holds the CA that signed h's/);
  assert.match(certificateProblem(e("Expired"), "h", undefined)!.message, /has expired/);
  assert.match(
    certificateProblem(
      e('certificate not valid for name "h"; certificate is only valid for DnsName("a.b")'),
      "h",
      undefined,
      "the proxy",
    )!.message,
    /^TLS certificate of the proxy h is for the wrong name \(a\.b\)/,
  );
  assert.equal(certificateProblem(new Error("Connection refused"), "h", undefined), undefined);
});

Deno.test("CA bundle: flag before AWS_CA_BUNDLE; unreadable or certificate-less files are usage errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    await Deno.writeTextFile(`${dir}/a.pem`, pem);
    await Deno.writeTextFile(`${dir}/junk.pem`, "not a cert");
    const env = (n: string) => (n === "AWS_CA_BUNDLE" ? `${dir}/junk.pem` : undefined);
    assert.equal((await loadCaBundle(`${dir}/a.pem`, env))?.source, `--ca-bundle ${dir}/a.pem`);
    await assert.rejects(
      () => loadCaBundle(undefined, env),
      /AWS_CA_BUNDLE=.*junk\.pem: no PEM certificate/,
    );
    await assert.rejects(() => loadCaBundle(`${dir}/none.pem`, none), UsageError);
    assert.equal(
      await loadCaBundle(undefined, (n) => (n === "AWS_CA_BUNDLE" ? "" : undefined)),
      undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
