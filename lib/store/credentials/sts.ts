/**
 * AWS STS: AssumeRole (signed with source credentials) and AssumeRoleWithWebIdentity
 * (unsigned; the token is the proof), plus the web identity source configured by
 * AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME].
 */
import { AwsClient } from "aws4fetch";
import { XMLParser } from "fast-xml-parser";
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
const xml = new XMLParser({ parseTagValue: false });

/** The role to assume, from a profile's role_arn and its companions. */
export interface AssumeRoleParams {
  /** ARN of the role (role_arn). */
  roleArn: string;
  /** The role session name (role_session_name); default {@linkcode defaultSessionName}. */
  sessionName?: string;
  /** The external id the role's trust policy requires (external_id), if any. */
  externalId?: string;
  /** How long the credentials should last (duration_seconds); default STS's (1 hour). */
  durationSeconds?: number;
}

/** STS endpoint: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the regional endpoint. */
export function stsEndpoint(ctx: AwsContext, region: string): string {
  const url = ctx.env("AWS_ENDPOINT_URL_STS") || ctx.env("AWS_ENDPOINT_URL") ||
    `https://sts.${region}.amazonaws.com`;
  return url.replace(/\/+$/, "") + "/";
}

/** The role session name when none is configured: `s3duct-` and the time in epoch ms. */
export function defaultSessionName(ctx: AwsContext): string {
  return `s3duct-${ctx.now()}`;
}

/** sts:AssumeRole, signed with `source`. */
export async function assumeRole(
  ctx: AwsContext,
  region: string,
  source: Credentials,
  p: AssumeRoleParams,
): Promise<Credentials> {
  const form: Record<string, string> = {
    Action: "AssumeRole",
    Version: "2011-06-15",
    RoleArn: p.roleArn,
    RoleSessionName: p.sessionName ?? defaultSessionName(ctx),
  };
  if (p.externalId) form.ExternalId = p.externalId;
  if (p.durationSeconds) form.DurationSeconds = String(p.durationSeconds);
  const client = new AwsClient({
    accessKeyId: source.accessKeyId,
    secretAccessKey: source.secretAccessKey,
    sessionToken: source.sessionToken,
    service: "sts",
    region,
    retries: 0,
  });
  const url = stsEndpoint(ctx, region);
  const req = await client.sign(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: new URLSearchParams(form).toString(),
  });
  return await stsCall(ctx, "AssumeRole", p.roleArn, url, req);
}

/** sts:AssumeRoleWithWebIdentity with the given OIDC token. */
export async function assumeRoleWithWebIdentity(
  ctx: AwsContext,
  region: string,
  token: string,
  p: AssumeRoleParams,
): Promise<Credentials> {
  const url = stsEndpoint(ctx, region);
  const form = new URLSearchParams({
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    RoleArn: p.roleArn,
    RoleSessionName: p.sessionName ?? defaultSessionName(ctx),
    WebIdentityToken: token,
  });
  const req = new Request(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: form.toString(),
  });
  return await stsCall(ctx, "AssumeRoleWithWebIdentity", p.roleArn, url, req);
}

async function stsCall(
  ctx: AwsContext,
  action: string,
  roleArn: string,
  url: string,
  req: Request,
): Promise<Credentials> {
  const what = `STS ${action} for ${roleArn}`;
  let res: Response;
  let text: string;
  try {
    res = await ctx.fetch(req, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    text = await res.text();
  } catch (e) {
    if (isPermissionError(e)) throw e;
    throw new AccessError(`${what}: cannot reach ${new URL(url).origin}: ${reason(e)}`);
  }
  // deno-lint-ignore no-explicit-any
  let doc: Record<string, any>;
  try {
    doc = xml.parse(text);
  } catch {
    doc = {};
  }
  if (!res.ok) {
    const err = doc.ErrorResponse?.Error ?? doc.Error ?? {};
    const code = str(err.Code) ?? `HTTP ${res.status}`;
    const msg = str(err.Message);
    throw new AccessError(`${what} failed: ${code}${msg ? `: ${msg.slice(0, 300)}` : ""}`);
  }
  const c = doc[`${action}Response`]?.[`${action}Result`]?.Credentials;
  const id = str(c?.AccessKeyId);
  const secret = str(c?.SecretAccessKey);
  if (!id || !secret) throw new AccessError(`${what}: the response carries no credentials`);
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: str(c.SessionToken),
    expiration: parseExpiration(c.Expiration, what),
  };
}

/** Reads the token file anew on each refresh (Kubernetes rotates it). */
export function webIdentityLoader(
  ctx: AwsContext,
  region: string,
  tokenFile: string,
  p: AssumeRoleParams,
): Loader {
  return async () => {
    const token = str(await ctx.readText(tokenFile));
    if (!token) throw new AccessError(`web identity token file '${tokenFile}' is missing or empty`);
    return await assumeRoleWithWebIdentity(ctx, region, token, p);
  };
}

/** The environment's web identity configuration; undefined when not configured. */
export function webIdentityFromEnv(ctx: AwsContext, region: string): Loader | undefined {
  const tokenFile = ctx.env("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!tokenFile) return undefined;
  const roleArn = ctx.env("AWS_ROLE_ARN");
  if (!roleArn) {
    throw new AccessError("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
  }
  return webIdentityLoader(ctx, region, tokenFile, {
    roleArn,
    sessionName: ctx.env("AWS_ROLE_SESSION_NAME") || undefined,
  });
}
