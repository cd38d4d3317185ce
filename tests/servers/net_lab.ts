/**
 * The network lab of tests/integration/network_test.ts, in front of one S3 server: TLS
 * terminators with good, expired and wrong-name certificates, an IPv6 relay, tinyproxy with and
 * without auth (CONNECT allowed to the lab's ports only), an https:// proxy, and an STS and IMDS
 * stand-in; plus the CLI run with a cleared environment, so the machine's own AWS_CA_BUNDLE,
 * DENO_CERT or proxies cannot leak into a test.
 */
import type { Ceph } from "../integration/harness.ts";
import {
  type Certs,
  makeCerts,
  type Proxy,
  type Started,
  startIpv6Relay,
  startTinyproxy,
  startTlsTerminator,
} from "./net_servers.ts";
import { type Standins, startStandins } from "./aws_standins.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** Everything the lab started, and how to stop it. */
export interface NetLab {
  dir: string;
  certs: Certs;
  tls: Started;
  expired: Started;
  wrongName: Started;
  ipv6: Started;
  proxy: Proxy;
  authProxy: Proxy;
  sts: Standins;
  tlsProxy: Started;
  stopAll(): Promise<void>;
}

/** The lab in front of `c`; `password` is alice's at the auth proxy. */
export async function startNetLab(c: Ceph, password: string): Promise<NetLab> {
  const cephPort = Number(new URL(c.endpoint).port);
  const dir = await Deno.makeTempDir({ prefix: "s3duct-net-" });
  const certs = await makeCerts(dir);
  const tls = await startTlsTerminator(certs.good, cephPort);
  const expired = await startTlsTerminator(certs.expired, cephPort);
  const wrongName = await startTlsTerminator(certs.wrongName, cephPort);
  const ipv6 = await startIpv6Relay(cephPort);
  // An STS (and IMDS) stand-in handing out the server's keys, for the credential chain.
  const sts = startStandins({
    issue: () => ({
      accessKeyId: c.accessKey,
      secretAccessKey: c.secretKey,
      sessionToken: "",
      expiration: new Date(Date.now() + 3600_000),
    }),
  });
  // CONNECT to wrongName's port is not allowed: that is the refusing proxy's case.
  const allowed = [cephPort, tls.port, ipv6.port, Number(new URL(sts.url).port)];
  const proxy = await startTinyproxy(dir, allowed);
  const authProxy = await startTinyproxy(dir, allowed, { user: "alice", password });
  // An https:// proxy: TLS to the proxy (socat with the good cert), tinyproxy behind it.
  const tlsProxy = await startTlsTerminator(certs.good, proxy.port);
  const all = [tls, expired, wrongName, ipv6, proxy, authProxy, tlsProxy];
  const stopAll = async () => {
    await Promise.all(all.map((s) => s.stop()));
    await sts.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { dir, certs, tls, expired, wrongName, ipv6, proxy, authProxy, tlsProxy, sts, stopAll };
}

/** What a CLI run gave. */
export interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  /** Wall time, to prove a failure was not retried. */
  ms: number;
}

/** The CLI with exactly `env` over PATH, HOME=`home`, Deno's cache and `c`'s credentials. */
export async function s3ductClean(
  c: Ceph,
  home: string,
  args: string[],
  env: Record<string, string> = {},
  stdin?: Uint8Array,
): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      // Deno's own module cache, found through HOME otherwise.
      DENO_DIR,
      NO_COLOR: "1",
      AWS_ACCESS_KEY_ID: c.accessKey,
      AWS_SECRET_ACCESS_KEY: c.secretKey,
      AWS_REGION: c.region,
      AWS_EC2_METADATA_DISABLED: "true",
      ...env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(stdin ?? new Uint8Array()).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout: out.stdout, stderr, ms: performance.now() - t0 };
}
