/**
 * Real network pieces in front of a test server, all on loopback, for
 * tests/integration/network_test.ts:
 *   - a throwaway CA and server certificates made with the openssl CLI (good, expired, wrong name);
 *   - TLS terminators (socat OPENSSL-LISTEN) and an IPv6 relay (socat TCP6-LISTEN on [::1]);
 *   - tinyproxy (Debian's), with or without Basic auth, CONNECT limited to the given ports, its
 *     log readable so a test can prove which requests went through it.
 * Every process is started here and stopped by `stop()` (also on unload, so a crashed test
 * run leaves nothing behind).
 */

/** The certificates `makeCerts` writes, as file paths. */
export interface Certs {
  /** The CA's certificate (PEM): what --ca-bundle / AWS_CA_BUNDLE name. */
  ca: string;
  /** Server certificate + key in one PEM for localhost, 127.0.0.1 and ::1. */
  good: string;
  /** The same names, but expired (notAfter a day before notBefore, so already past). */
  expired: string;
  /** Valid and signed by the CA, but only for wrong.example. */
  wrongName: string;
}

/** One started helper process. */
export interface Started {
  /** The port it listens on. */
  port: number;
  /** Stops it (and socat's forked children). */
  stop(): Promise<void>;
}

/** tinyproxy, started. */
export interface Proxy extends Started {
  /** The proxy's log so far (tinyproxy logs every CONNECT it is asked for). */
  log(): string;
}

const running = new Set<Deno.ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const p of running) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and three server certificates (P-256, quick to make) in `dir`. */
export async function makeCerts(dir: string): Promise<Certs> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=s3duct test CA",
  ], dir);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    "srv.key",
    "-out",
    "srv.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  const sign = async (name: string, san: string, days: string) => {
    await Deno.writeTextFile(`${dir}/${name}.ext`, `subjectAltName=${san}\n`);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      "srv.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      days,
      "-extfile",
      `${name}.ext`,
    ], dir);
    const pem = await Deno.readTextFile(`${dir}/${name}.crt`) +
      await Deno.readTextFile(`${dir}/srv.key`);
    await Deno.writeTextFile(`${dir}/${name}.pem`, pem);
    return `${dir}/${name}.pem`;
  };
  return {
    ca: `${dir}/ca.pem`,
    good: await sign("good", "DNS:localhost,IP:127.0.0.1,IP:::1", "2"),
    expired: await sign("expired", "DNS:localhost,IP:127.0.0.1", "-1"),
    wrongName: await sign("wrong", "DNS:wrong.example", "2"),
  };
}

/** A port that was free a moment ago (the OS's pick). */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(hostname: string, port: number, child: Deno.ChildProcess) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname, port })).close();
      return;
    } catch (e) {
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new Error(`nothing listens on ${hostname}:${port} after 10 s: ${e}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** socat forks a child per connection: stop those too, by their parent's pid. */
async function stopChild(child: Deno.ChildProcess): Promise<void> {
  running.delete(child);
  let kids: string[] = [];
  try {
    kids = (await Deno.readTextFile(`/proc/${child.pid}/task/${child.pid}/children`)).trim()
      .split(/\s+/).filter(Boolean);
  } catch {
    // gone already
  }
  try {
    child.kill("SIGTERM");
  } catch {
    // gone already
  }
  for (const k of kids) {
    try {
      Deno.kill(Number(k), "SIGTERM");
    } catch {
      // gone already
    }
  }
  await child.status;
}

async function spawn(cmd: string, args: string[], host: string, port: number): Promise<Started> {
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" })
    .spawn();
  running.add(child);
  await waitForPort(host, port, child);
  return { port, stop: () => stopChild(child) };
}

/** TLS on 127.0.0.1:port with `certPem` (cert + key), relayed as plain TCP to `targetPort`. */
export function startTlsTerminator(certPem: string, targetPort: number): Promise<Started> {
  const port = freePort();
  return spawn(
    "socat",
    [
      `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${certPem},verify=0`,
      `TCP4:127.0.0.1:${targetPort}`,
    ],
    "127.0.0.1",
    port,
  );
}

/** [::1]:port relayed to 127.0.0.1:targetPort (the test servers listen on IPv4 loopback). */
export function startIpv6Relay(targetPort: number): Promise<Started> {
  const port = freePort("::1");
  return spawn(
    "socat",
    [
      `TCP6-LISTEN:${port},bind=[::1],reuseaddr,fork`,
      `TCP4:127.0.0.1:${targetPort}`,
    ],
    "::1",
    port,
  );
}

/**
 * tinyproxy on 127.0.0.1, in the foreground, logging to a file in `dir`; CONNECT is allowed to
 * `connectPorts` only (anything else gets 403), and `auth` asks for Basic credentials.
 */
export async function startTinyproxy(
  dir: string,
  connectPorts: number[],
  auth?: { user: string; password: string },
): Promise<Proxy> {
  const port = freePort();
  const logFile = `${dir}/tinyproxy-${port}.log`;
  const conf = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 60",
    `LogFile "${logFile}"`,
    "LogLevel Connect",
    "MaxClients 64",
    "DisableViaHeader Yes",
    ...connectPorts.map((p) => `ConnectPort ${p}`),
    ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
  ].join("\n");
  await Deno.writeTextFile(`${dir}/tinyproxy-${port}.conf`, conf + "\n");
  const started = await spawn(
    "tinyproxy",
    ["-d", "-c", `${dir}/tinyproxy-${port}.conf`],
    "127.0.0.1",
    port,
  );
  return {
    ...started,
    log: () => {
      try {
        return Deno.readTextFileSync(logFile);
      } catch {
        return "";
      }
    },
  };
}
