/**
 * IAM Identity Center (SSO) profiles: sso_account_id + sso_role_name with either
 * sso_session (-> [sso-session NAME]) or the legacy sso_start_url + sso_region. Uses the token
 * `aws sso login` cached in ~/.aws/sso/cache/<sha1(session name or start url)>.json and trades
 * it for role credentials at the SSO portal. We never log in or refresh the token ourselves.
 */
import { createHash } from "node:crypto";
import { AccessError } from "../../errors.ts";
import {
  type AwsContext,
  type Credentials,
  isPermissionError,
  type Loader,
  parseExpiration,
  reason,
  str,
} from "./types.ts";

const TIMEOUT_MS = 15_000;

/** A parsed INI file or section: keys to values, and to nested sections for a whole file. */
export type IniSection = Record<string, unknown>;

/** What an SSO profile needs to trade the cached `aws sso login` token for role credentials. */
export interface SsoSettings {
  /** Cache key: the sso_session name, or the start URL for legacy profiles. */
  cacheKey: string;
  /** The SSO portal's start URL (sso_start_url). */
  startUrl: string;
  /** The region of the SSO portal (sso_region), not necessarily the bucket's. */
  region: string;
  /** The AWS account of the role (sso_account_id). */
  accountId: string;
  /** The role to get credentials for (sso_role_name). */
  roleName: string;
  /** How to log in, for the message: "--profile x" or "--sso-session y". */
  loginArgs: string;
}

/** SSO settings of a profile; undefined when it has no sso_* keys. */
export function ssoSettings(
  profileName: string,
  profile: IniSection,
  ssoSession: (name: string) => IniSection | undefined,
): SsoSettings | undefined {
  const sessionName = str(profile.sso_session);
  if (!sessionName && !str(profile.sso_start_url) && !str(profile.sso_account_id)) {
    return undefined;
  }
  const session = sessionName ? ssoSession(sessionName) : profile;
  if (!session) {
    throw new AccessError(
      `profile '${profileName}' names sso_session '${sessionName}', which has no [sso-session ${sessionName}] section`,
    );
  }
  const startUrl = str(session.sso_start_url);
  const region = str(session.sso_region);
  const accountId = str(profile.sso_account_id);
  const roleName = str(profile.sso_role_name);
  const missing = [
    ["sso_start_url", startUrl],
    ["sso_region", region],
    ["sso_account_id", accountId],
    ["sso_role_name", roleName],
  ].filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) {
    throw new AccessError(`SSO profile '${profileName}' lacks ${missing.join(", ")}`);
  }
  return {
    cacheKey: sessionName ?? startUrl!,
    startUrl: startUrl!,
    region: region!,
    accountId: accountId!,
    roleName: roleName!,
    loginArgs: sessionName ? `--sso-session ${sessionName}` : `--profile ${profileName}`,
  };
}

/** Where `aws sso login` caches the token: ~/.aws/sso/cache/ and the SHA-1 hex of `cacheKey`. */
export function ssoCachePath(home: string, cacheKey: string): string {
  return `${home}/.aws/sso/cache/${createHash("sha1").update(cacheKey).digest("hex")}.json`;
}

/** Loads role credentials with the cached SSO token; a missing or expired one asks to log in. */
export function ssoLoader(ctx: AwsContext, home: string, s: SsoSettings): Loader {
  return async () => {
    const login = `run: aws sso login ${s.loginArgs}`;
    const token = await cachedToken(ctx, home, s, login);
    return await roleCredentials(ctx, s, token, login);
  };
}

/** The SSO access token `aws sso login` cached, if it has not expired. */
async function cachedToken(
  ctx: AwsContext,
  home: string,
  s: SsoSettings,
  login: string,
): Promise<string> {
  const path = ssoCachePath(home, s.cacheKey);
  const text = await ctx.readText(path);
  let token: string | undefined;
  let expiresAt: Date | undefined;
  try {
    const doc = JSON.parse(text ?? "null");
    token = str(doc?.accessToken);
    expiresAt = parseExpiration(doc?.expiresAt, "SSO token cache");
  } catch (e) {
    if (isPermissionError(e)) throw e;
  }
  if (!token || !expiresAt || expiresAt.getTime() <= ctx.now()) {
    throw new AccessError(
      `no valid SSO token for ${s.startUrl} (${
        text === undefined ? "none cached" : "expired"
      }); ${login}`,
    );
  }
  return token;
}

/** GetRoleCredentials of the SSO portal with `token`: the role's temporary credentials. */
async function roleCredentials(
  ctx: AwsContext,
  s: SsoSettings,
  token: string,
  login: string,
): Promise<Credentials> {
  const base = (ctx.env("AWS_ENDPOINT_URL_SSO") || `https://portal.sso.${s.region}.amazonaws.com`)
    .replace(/\/+$/, "");
  const url = `${base}/federation/credentials?account_id=${encodeURIComponent(s.accountId)}` +
    `&role_name=${encodeURIComponent(s.roleName)}`;
  const what = `SSO GetRoleCredentials for role ${s.roleName} in account ${s.accountId}`;
  let res: Response;
  let body: string;
  try {
    res = await ctx.fetch(url, {
      headers: { "x-amz-sso_bearer_token": token },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = await res.text();
  } catch (e) {
    if (isPermissionError(e)) throw e;
    throw new AccessError(`${what}: cannot reach ${new URL(base).origin}: ${reason(e)}`);
  }
  if (res.status === 401) throw new AccessError(`${what}: the SSO token was refused; ${login}`);
  if (!res.ok) throw new AccessError(`${what} failed: HTTP ${res.status}`);
  let rc: Record<string, unknown> | undefined;
  try {
    rc = JSON.parse(body)?.roleCredentials;
  } catch {
    rc = undefined;
  }
  const id = str(rc?.accessKeyId);
  const secret = str(rc?.secretAccessKey);
  if (!id || !secret) throw new AccessError(`${what}: the response carries no credentials`);
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: str(rc?.sessionToken),
    expiration: parseExpiration(rc?.expiration, what),
  } satisfies Credentials;
}
