/**
 * Which certificate authorities a TLS connection trusts, and certificate failures as one line.
 *
 * Order, as the AWS CLI and SDKs do it, then Deno's: `--ca-bundle FILE`, else `AWS_CA_BUNDLE`,
 * else Deno's own trust (`DENO_CERT` adds a CA file, `DENO_TLS_CA_STORE=system` uses the
 * operating system's store; both are read by Deno itself at start-up), else the built-in
 * Mozilla roots. A bundle given here is added to Deno's roots (Deno's `caCerts` semantics), so
 * a company CA does not stop public endpoints from working.
 * @module
 */
import { NetworkError, UsageError } from "../errors.ts";
import type { EnvReader } from "./proxy.ts";

/** A CA bundle, read: its PEM text, and where it came from for messages. */
export interface CaBundle {
  /** The file's PEM text (one or more CERTIFICATE blocks). */
  pem: string;
  /** `--ca-bundle FILE` or `AWS_CA_BUNDLE=FILE`, for messages. */
  source: string;
}

/**
 * The CA bundle to trust besides Deno's roots: `flag` (`--ca-bundle`), else `AWS_CA_BUNDLE`;
 * undefined = Deno's own.
 * @throws {UsageError} The file cannot be read or holds no PEM certificate.
 */
export async function loadCaBundle(
  flag: string | undefined,
  env: EnvReader,
): Promise<CaBundle | undefined> {
  const fromEnv = env("AWS_CA_BUNDLE")?.trim();
  const path = flag ?? (fromEnv || undefined);
  if (path === undefined) return undefined;
  const source = flag !== undefined ? `--ca-bundle ${flag}` : `AWS_CA_BUNDLE=${path}`;
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e; // main.ts names the missing flag
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new UsageError(`${source}: cannot read the CA bundle (${why})`);
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) {
    throw new UsageError(
      `${source}: no PEM certificate in the file (expected -----BEGIN CERTIFICATE----- blocks)`,
    );
  }
  return { pem, source };
}

/**
 * A certificate failure from Deno's TLS (rustls) as a {@linkcode NetworkError} naming `host`
 * (`host[:port]` as shown to the user), what failed and the fix; undefined when `e` is not a
 * certificate failure. `what` says whose certificate: "the store" or "the proxy".
 */
export function certificateProblem(
  e: unknown,
  host: string,
  bundle: CaBundle | undefined,
  what = "the store",
): NetworkError | undefined {
  const msg = e instanceof Error ? e.message : "";
  const m = /invalid peer certificate: (.*)/i.exec(msg);
  if (/Failed opening CA file/i.test(msg)) {
    return new NetworkError(
      "Deno cannot open the CA file DENO_CERT names; fix or unset DENO_CERT " +
        "(or use --ca-bundle / AWS_CA_BUNDLE)",
      { cause: e },
    );
  }
  if (!m) return undefined;
  const detail = m[1];
  const trusted = bundle ? `the CAs in ${bundle.source} and Deno's roots` : "Deno's roots";
  const fix = bundle
    ? `check that ${bundle.source} holds the CA that signed ${host}'s certificate`
    : "pass --ca-bundle FILE or set AWS_CA_BUNDLE to the CA that signed it";
  let failed: string;
  if (/UnknownIssuer|UnknownCA|BadSignature/i.test(detail)) {
    failed = `is signed by an unknown issuer (not among ${trusted}); ${fix}`;
  } else if (/Expired/i.test(detail)) {
    failed = "has expired; the server needs a renewed certificate (or the clock here is wrong)";
  } else if (/NotValidYet/i.test(detail)) {
    failed = "is not valid yet; check the clock here and on the server";
  } else if (/not valid for name|NotValidForName/i.test(detail)) {
    const names = [...detail.matchAll(/(?:DnsName|IpAddress)\("?([^")]+)"?\)/g)].map((x) => x[1]);
    failed = `is for the wrong name${names.length ? ` (${names.join(", ")})` : ""}; ` +
      "use the host name the certificate was issued for in the URL";
  } else if (/Revoked/i.test(detail)) {
    failed = "has been revoked";
  } else {
    failed = `was refused (${detail.slice(0, 120)}); ${fix}`;
  }
  return new NetworkError(`TLS certificate of ${what} ${host} ${failed}`, { cause: e });
}
