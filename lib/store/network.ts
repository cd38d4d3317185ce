/**
 * How connections reach the network: the proxies (lib/store/proxy.ts) and the CA bundle
 * (lib/store/tls.ts), resolved once per run from `--ca-bundle` and the environment, and shared
 * by the store's transport and the credential chain.
 * @module
 */
import { type EnvReader, NO_PROXIES, type ProxySettings, proxySettingsFromEnv } from "./proxy.ts";
import { type CaBundle, loadCaBundle } from "./tls.ts";

/** The proxies and extra CAs connections use. */
export interface Network {
  /** Which proxy each URL goes through, if any. */
  proxies: ProxySettings;
  /** CAs trusted besides Deno's roots (`--ca-bundle` / `AWS_CA_BUNDLE`). */
  ca?: CaBundle;
}

/** Direct connections with Deno's roots only: the default of a transport given no settings. */
export const DIRECT: Network = { proxies: NO_PROXIES };

/**
 * An environment variable when `--allow-env` covers it, else undefined: the proxy and CA
 * variables are optional, so a least-privilege run that does not list them simply does not use
 * them (README "Least-privilege") instead of failing on a permission it never needed.
 */
export function permittedEnv(name: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return undefined;
  }
  return Deno.env.get(name);
}

/**
 * The network settings for a run: `caBundle` (the `--ca-bundle` flag) or AWS_CA_BUNDLE, and
 * the proxy variables.
 * @throws {UsageError} An unreadable CA bundle, or a proxy variable that is not a proxy URL.
 */
export async function networkOf(
  caBundle: string | undefined,
  env: EnvReader = permittedEnv,
): Promise<Network> {
  const proxies = proxySettingsFromEnv(env);
  const ca = await loadCaBundle(caBundle, env);
  return { proxies, ca };
}

/**
 * True for the instance metadata and container credential services, which the SDKs never reach
 * through a proxy: link-local 169.254.0.0/16, IMDS's and EKS Pod Identity's IPv6 addresses
 * (fd00:ec2::/32... as AWS documents them), and the hosts named by
 * AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_CONTAINER_CREDENTIALS_FULL_URI.
 */
export function isMetadataService(url: URL, env: EnvReader = permittedEnv): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (/^169\.254\.\d+\.\d+$/.test(host) || /^fd00:ec2:/.test(host)) return true;
  for (const name of ["AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]) {
    const v = env(name);
    if (!v) continue;
    try {
      if (new URL(v).hostname.toLowerCase() === url.hostname.toLowerCase()) return true;
    } catch {
      // not a URL: the source itself reports it
    }
  }
  return false;
}
