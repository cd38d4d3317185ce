/**
 * Which proxy a request goes through, with curl's and the AWS CLI's environment conventions:
 * `https_proxy`/`HTTPS_PROXY` for https endpoints, `http_proxy`/`HTTP_PROXY` for http ones,
 * `all_proxy`/`ALL_PROXY` for either when its own is unset (the lowercase name wins, as in
 * curl and Python's urllib), and `no_proxy`/`NO_PROXY` for the hosts that are reached directly.
 *
 * One deliberate difference from curl: loopback (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`)
 * is never proxied unless NO_PROXY holds the token `<-loopback>` (Chrome's spelling for the
 * same switch). curl does proxy loopback when NO_PROXY is unset, which sends a local MinIO or
 * test server to a corporate proxy whose own loopback is another machine's.
 *
 * Pure: parsing and matching only; lib/store/tunnel.ts speaks CONNECT.
 * @module
 */
import { UsageError } from "../errors.ts";
import { encodeBase64 } from "../format/base64.ts";

/** A proxy to send requests through, parsed from an environment variable. */
export interface ProxyEndpoint {
  /** Where the proxy listens: `http:` or `https:` (TLS to the proxy itself), host, port. */
  url: URL;
  /** The `Proxy-Authorization` header value for `user:pass@` in the URL; never printed. */
  authorization?: string;
  /** The proxy for messages, credentials masked: `http://***:***@proxy:3128`. */
  label: string;
  /** The variable it came from, e.g. `HTTPS_PROXY`, for messages that say what to fix. */
  variable: string;
}

/** One NO_PROXY entry: a host (or domain, matching its subdomains too), IP range, and port. */
export interface NoProxyEntry {
  /** Lowercased host name or IP address without brackets; "" for a CIDR entry. */
  host: string;
  /** Only this port, when the entry said `host:port`. */
  port?: number;
  /** An IPv4 range `a.b.c.d/n`: the network as a 32-bit number and its mask. */
  cidr?: { net: number; mask: number };
}

/** A parsed NO_PROXY list. */
export interface NoProxy {
  /** `*`: nothing is proxied. */
  all: boolean;
  /** `<-loopback>` was listed: loopback hosts go through the proxy like any other. */
  proxyLoopback: boolean;
  /** The entries, in order. */
  entries: NoProxyEntry[];
}

/** The proxies for each scheme and the hosts that bypass them. */
export interface ProxySettings {
  /** For `http://` endpoints. */
  http?: ProxyEndpoint;
  /** For `https://` endpoints. */
  https?: ProxyEndpoint;
  /** Hosts reached directly. */
  noProxy: NoProxy;
}

/** Reads one environment variable; undefined when unset (or not readable). */
export type EnvReader = (name: string) => string | undefined;

/** Every variable {@linkcode proxySettingsFromEnv} may read (README "Least-privilege"). */
export const PROXY_ENV_NAMES = [
  "https_proxy",
  "HTTPS_PROXY",
  "http_proxy",
  "HTTP_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY",
] as const;

/** No proxy at all (IMDS and ECS calls, and tests). */
export const NO_PROXIES: ProxySettings = {
  noProxy: { all: true, proxyLoopback: false, entries: [] },
};

/**
 * The proxy settings the environment gives.
 * @throws {UsageError} A proxy variable that is not a usable proxy URL.
 */
export function proxySettingsFromEnv(env: EnvReader): ProxySettings {
  const first = (...names: string[]) => {
    for (const n of names) {
      const v = env(n)?.trim();
      if (v) return { value: v, name: n };
    }
    return undefined;
  };
  const all = first("all_proxy", "ALL_PROXY");
  const https = first("https_proxy", "HTTPS_PROXY") ?? all;
  const http = first("http_proxy", "HTTP_PROXY") ?? all;
  const noProxy = env("no_proxy") ?? env("NO_PROXY");
  return {
    https: https && parseProxyUrl(https.value, https.name),
    http: http && parseProxyUrl(http.value, http.name),
    noProxy: parseNoProxy(noProxy ?? ""),
  };
}

/**
 * A proxy URL as curl takes it: `[http://|https://][user:pass@]host[:port]`; no scheme means
 * http, no port the scheme's (80 or 443, as Python's urllib and so the AWS CLI do).
 * @throws {UsageError} Another scheme (socks...), a path, or no host; the message masks
 * the credentials.
 */
export function parseProxyUrl(text: string, variable: string): ProxyEndpoint {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new UsageError(
      `${variable} '${maskText(text)}' is not a proxy URL; use http://[user:pass@]host:port`,
    );
  }
  const shown = maskUrl(u);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new UsageError(
      `${variable} '${shown}': only http:// and https:// proxies are supported, not ${u.protocol}//`,
    );
  }
  if (u.hostname === "" || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) {
    throw new UsageError(`${variable} '${shown}' must be http[s]://[user:pass@]host[:port]`);
  }
  let authorization: string | undefined;
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    authorization = `Basic ${encodeBase64(new TextEncoder().encode(`${user}:${pass}`))}`;
  }
  const url = new URL(`${u.protocol}//${u.host}`);
  return { url, authorization, label: shown, variable };
}

/** The URL for messages: scheme, host and port, with any user and password as `***`. */
function maskUrl(u: URL): string {
  const creds = u.username || u.password ? `***${u.password ? ":***" : ""}@` : "";
  return `${u.protocol}//${creds}${u.host}`;
}

/** Text that is not even a URL, with whatever stands before an `@` masked. */
function maskText(text: string): string {
  const at = text.lastIndexOf("@");
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? "";
  return `${scheme}***@${text.slice(at + 1)}`;
}

/** NO_PROXY's comma (or space) separated list: `*`, hosts, `.domains`, `host:port`, IPv4 CIDR. */
export function parseNoProxy(text: string): NoProxy {
  const out: NoProxy = { all: false, proxyLoopback: false, entries: [] };
  for (const raw of text.split(/[,\s]+/)) {
    const item = raw.trim().toLowerCase();
    if (item === "") continue;
    if (item === "*") out.all = true;
    else if (item === "<-loopback>") out.proxyLoopback = true;
    else out.entries.push(entryOf(item));
  }
  return out;
}

function entryOf(item: string): NoProxyEntry {
  let host = item;
  let port: number | undefined;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(item);
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2] ? Number(bracketed[2]) : undefined;
  } else if (/^[^:]+:\d+$/.test(item)) {
    const colon = item.lastIndexOf(":");
    host = item.slice(0, colon);
    port = Number(item.slice(colon + 1));
  }
  host = host.replace(/^\*?\./, "").replace(/\.$/, "");
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(host);
  if (cidr && ipv4(cidr[1]) !== undefined && Number(cidr[2]) <= 32) {
    const mask = Number(cidr[2]) === 0 ? 0 : (~0 << (32 - Number(cidr[2]))) >>> 0;
    return { host: "", port, cidr: { net: (ipv4(cidr[1])! & mask) >>> 0, mask } };
  }
  return { host, port };
}

/** True when `url` is to be reached directly, not through a proxy. */
export function bypassesProxy(url: URL, noProxy: NoProxy): boolean {
  if (noProxy.all) return true;
  const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  if (!noProxy.proxyLoopback && isLoopback(host)) return true;
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const v4 = ipv4(host);
  return noProxy.entries.some((e) => {
    if (e.port !== undefined && e.port !== port) return false;
    if (e.cidr) return v4 !== undefined && ((v4 & e.cidr.mask) >>> 0) === e.cidr.net;
    return host === e.host || host.endsWith(`.${e.host}`);
  });
}

/** The proxy for `url`, or undefined when it is reached directly. */
export function proxyFor(url: URL, settings: ProxySettings): ProxyEndpoint | undefined {
  const proxy = url.protocol === "https:" ? settings.https : settings.http;
  if (proxy === undefined || bypassesProxy(url, settings.noProxy)) return undefined;
  return proxy;
}

/** `host:port` of an http(s) URL, with the scheme's default port spelled out. */
export function hostPort(url: URL): string {
  return `${url.hostname}:${Number(url.port) || (url.protocol === "https:" ? 443 : 80)}`;
}

/** localhost, *.localhost, 127.0.0.0/8 and ::1 (in any of its spellings). */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = ipv4(host);
  if (v4 !== undefined) return v4 >>> 24 === 127;
  return /^(0{0,4}:){2,7}0{0,3}1$/.test(host) || host === "::ffff:127.0.0.1";
}

/** A dotted IPv4 address as a 32-bit number, else undefined. */
function ipv4(host: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}
