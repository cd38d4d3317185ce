/**
 * Container credentials (ECS tasks, EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (on http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with an Authorization header
 * from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN.
 */
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

/**
 * The ECS agent's link-local address, which AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is relative to.
 */
export const ECS_HOST = "169.254.170.2";
const TIMEOUT_MS = 2_000;
/** Plain-http hosts the SDKs accept for a full URI: loopback and the container agents. */
const HTTP_HOSTS = new Set(["localhost", "[::1]", ECS_HOST, "169.254.170.23", "[fd00:ec2::23]"]);

/** The container endpoint from the environment; undefined when not configured. */
export function ecsUrl(ctx: AwsContext): URL | undefined {
  const relative = ctx.env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  if (relative) {
    return new URL(`http://${ECS_HOST}${relative.startsWith("/") ? "" : "/"}${relative}`);
  }
  const full = ctx.env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!full) return undefined;
  let url: URL;
  try {
    url = new URL(full);
  } catch {
    throw new AccessError("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
  }
  const loopback = /^127\.\d+\.\d+\.\d+$/.test(url.hostname) || HTTP_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new AccessError(
      `AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http on a loopback or container-agent address (got ${url.protocol}//${url.host})`,
    );
  }
  return url;
}

/** Loads credentials from the container endpoint `url`, sending the authorization token if set. */
export function ecsLoader(ctx: AwsContext, url: URL): Loader {
  return async () => {
    const headers: Record<string, string> = {};
    const tokenFile = ctx.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const token = tokenFile
      ? str(await ctx.readText(tokenFile))
      : ctx.env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (tokenFile && !token) {
      throw new AccessError(
        `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '${tokenFile}' is missing or empty`,
      );
    }
    if (token) headers.authorization = token;
    const what = `container credentials from ${url.origin}`;
    let res: Response | undefined;
    let body = "";
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        res = await ctx.fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
        body = await res.text();
        if (res.status < 500) break;
      } catch (e) {
        if (isPermissionError(e)) throw e;
        if (attempt === 1) {
          throw new AccessError(`${what}: cannot reach the endpoint: ${reason(e)}`);
        }
      }
    }
    if (!res!.ok) throw new AccessError(`${what}: HTTP ${res!.status}`);
    return parseCredentialJson(body, what);
  };
}

/** The JSON shape shared by the container endpoint and EC2 instance metadata. */
export function parseCredentialJson(body: string, what: string): Credentials {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new AccessError(`${what}: the response is not JSON`);
  }
  if (doc?.Code !== undefined && doc.Code !== "Success") {
    throw new AccessError(`${what}: ${String(doc.Code).slice(0, 100)}`);
  }
  const id = str(doc?.AccessKeyId);
  const secret = str(doc?.SecretAccessKey);
  if (!id || !secret) throw new AccessError(`${what}: the response carries no credentials`);
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: str(doc.Token),
    expiration: parseExpiration(doc.Expiration, what),
  };
}
