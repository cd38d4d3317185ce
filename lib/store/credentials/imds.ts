/**
 * EC2 instance metadata (IMDSv2 only): PUT /latest/api/token, then the role name from
 * /latest/meta-data/iam/security-credentials/ and its credentials. 1 s timeouts, at most one
 * retry per request. AWS_EC2_METADATA_DISABLED=true turns it off;
 * AWS_EC2_METADATA_SERVICE_ENDPOINT moves it (default http://169.254.169.254).
 */
import { AccessError } from "../../errors.ts";
import { parseCredentialJson } from "./ecs.ts";
import {
  type AwsContext,
  CredentialsUnavailable,
  isPermissionError,
  type Loader,
  reason,
} from "./types.ts";

const TIMEOUT_MS = 1_000;
const TOKEN_TTL_SECONDS = "21600";
const ROLE_PATH = "/latest/meta-data/iam/security-credentials/";

/** The IMDS loader, or undefined when disabled. It throws CredentialsUnavailable off EC2. */
export function imdsLoader(ctx: AwsContext): Loader | undefined {
  if (ctx.env("AWS_EC2_METADATA_DISABLED")?.trim().toLowerCase() === "true") return undefined;
  const base = (ctx.env("AWS_EC2_METADATA_SERVICE_ENDPOINT") || "http://169.254.169.254")
    .replace(/\/+$/, "");
  return async () => {
    const token = await request(ctx, base, "/latest/api/token", {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS },
    });
    const auth = { headers: { "x-aws-ec2-metadata-token": token } };
    const role = (await request(ctx, base, ROLE_PATH, auth)).split("\n")[0].trim();
    if (!role) throw new CredentialsUnavailable("the instance has no IAM role attached");
    const body = await request(ctx, base, ROLE_PATH + encodeURIComponent(role), auth);
    return parseCredentialJson(body, `instance metadata credentials of role ${role}`);
  };
}

/** One IMDS request with at most one retry; unreachable or 404 means "not on EC2 / no role". */
async function request(
  ctx: AwsContext,
  base: string,
  path: string,
  init: RequestInit,
): Promise<string> {
  let last = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const res = await ctx.fetch(base + path, {
        ...init,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.ok) return text;
      if (res.status === 404) {
        throw new CredentialsUnavailable(`instance metadata ${path}: HTTP 404 (no IAM role?)`);
      }
      last = `HTTP ${res.status}`;
      if (res.status < 500) break;
    } catch (e) {
      if (isPermissionError(e) || e instanceof CredentialsUnavailable) throw e;
      last = reason(e);
    }
  }
  if (path === "/latest/api/token" && !last.startsWith("HTTP")) {
    throw new CredentialsUnavailable(`no instance metadata service at ${base} (${last})`);
  }
  throw new AccessError(`instance metadata ${path} at ${base} failed: ${last}`);
}
