/**
 * Local stand-ins for the AWS credential endpoints, on 127.0.0.1 (Deno.serve, port 0):
 *   POST /sts/                 STS AssumeRole (must be SigV4-signed) and
 *                              AssumeRoleWithWebIdentity (must carry the expected token)
 *   GET  /ecs/creds            container credentials (checks the Authorization header)
 *   PUT  /imds/latest/api/token, GET /imds/latest/meta-data/iam/security-credentials/[role]
 *                              IMDSv2 (GETs without the session token get 401)
 *   GET  /sso/federation/credentials  SSO portal GetRoleCredentials (checks the bearer token)
 * Each hands out the credentials `issue(kind)` returns and counts its calls in `calls`.
 */

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface StandinOptions {
  /** Credentials for the next response of this kind ("sts", "web", "ecs", "imds", "sso"). */
  issue?: (kind: string, n: number) => IssuedCredentials;
  webIdentityToken?: string;
  ecsAuthorization?: string;
  ssoBearer?: string;
  imdsRole?: string;
}

export interface Standins {
  url: string;
  calls: Record<string, number>;
  /** Form fields of the STS requests, and their Authorization headers. */
  stsRequests: { form: Record<string, string>; authorization: string | null }[];
  ssoQueries: Record<string, string>[];
  close(): Promise<void>;
}

export const IMDS_TOKEN = "imds-session-token-1";

let counter = 0;
export function tempCredentials(label: string, expiresInMs: number): IssuedCredentials {
  counter++;
  return {
    accessKeyId: `ASIA${label.toUpperCase()}${counter}`,
    secretAccessKey: `secret-${label}-${counter}-${crypto.randomUUID()}`,
    sessionToken: `token-${label}-${counter}`,
    expiration: new Date(Date.now() + expiresInMs),
  };
}

/** What the handlers share: the options, the call counts and the requests seen. */
interface Ctx {
  opts: StandinOptions;
  calls: Record<string, number>;
  stsRequests: Standins["stsRequests"];
  ssoQueries: Record<string, string>[];
  issue: (kind: string) => IssuedCredentials;
}

/**
 * The STS, ECS, IMDS and SSO stand-ins on one local port (paths /sts/, /ecs/creds, /imds/...,
 * /sso/federation/credentials), counting what they issue.
 */
export function startStandins(opts: StandinOptions = {}): Standins {
  const calls: Record<string, number> = {};
  const ctx: Ctx = {
    opts,
    calls,
    stsRequests: [],
    ssoQueries: [],
    issue: (kind) => {
      calls[kind] = (calls[kind] ?? 0) + 1;
      return (opts.issue ?? ((k) => tempCredentials(k, 3600_000)))(kind, calls[kind]);
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    if (u.pathname === "/sts/" && req.method === "POST") return sts(req, ctx);
    if (u.pathname === "/ecs/creds") {
      if (opts.ecsAuthorization && req.headers.get("authorization") !== opts.ecsAuthorization) {
        return new Response("bad token", { status: 401 });
      }
      return credentialsJson(ctx.issue("ecs"), { RoleArn: "arn:aws:iam::123456789012:role/task" });
    }
    if (u.pathname.startsWith("/imds/")) return imds(req, u.pathname.slice(5), ctx);
    if (u.pathname === "/sso/federation/credentials") return sso(req, u, ctx);
    return new Response("not here", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    stsRequests: ctx.stsRequests,
    ssoQueries: ctx.ssoQueries,
    close: () => server.shutdown(),
  };
}

/** The container/instance credential document (ECS and IMDS share its fields). */
function credentialsJson(c: IssuedCredentials, extra: Record<string, unknown> = {}): Response {
  return Response.json({
    ...extra,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    Expiration: c.expiration.toISOString(),
  });
}

/** STS AssumeRole (signed) and AssumeRoleWithWebIdentity (the configured token). */
async function sts(req: Request, ctx: Ctx): Promise<Response> {
  const form = Object.fromEntries(new URLSearchParams(await req.text()));
  const authorization = req.headers.get("authorization");
  ctx.stsRequests.push({ form, authorization });
  const action = form.Action;
  if (action === "AssumeRole" && !authorization?.startsWith("AWS4-HMAC-SHA256 Credential=")) {
    return stsError(403, "MissingAuthenticationToken", "Request is missing a signature");
  }
  if (
    action === "AssumeRoleWithWebIdentity" && form.WebIdentityToken !== ctx.opts.webIdentityToken
  ) {
    return stsError(400, "InvalidIdentityToken", "The token is not valid");
  }
  if (action !== "AssumeRole" && action !== "AssumeRoleWithWebIdentity") {
    return stsError(400, "InvalidAction", "no such action");
  }
  const c = ctx.issue(action === "AssumeRole" ? "sts" : "web");
  return new Response(
    `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>` +
      `<Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId>` +
      `<SecretAccessKey>${c.secretAccessKey}</SecretAccessKey>` +
      `<SessionToken>${c.sessionToken}</SessionToken>` +
      `<Expiration>${c.expiration.toISOString()}</Expiration></Credentials>` +
      `<AssumedRoleUser><Arn>${form.RoleArn}/${form.RoleSessionName}</Arn></AssumedRoleUser>` +
      `</${action}Result></${action}Response>`,
    { headers: { "content-type": "text/xml" } },
  );
}

/** IMDSv2: a PUT for the token, then the role name and its credentials with that token. */
function imds(req: Request, path: string, ctx: Ctx): Response {
  if (path === "/latest/api/token") {
    if (req.method !== "PUT" || !req.headers.get("x-aws-ec2-metadata-token-ttl-seconds")) {
      return new Response("", { status: 400 });
    }
    ctx.calls.imdsToken = (ctx.calls.imdsToken ?? 0) + 1;
    return new Response(IMDS_TOKEN);
  }
  if (req.headers.get("x-aws-ec2-metadata-token") !== IMDS_TOKEN) {
    return new Response("", { status: 401 });
  }
  const role = ctx.opts.imdsRole ?? "instance-role";
  if (path === "/latest/meta-data/iam/security-credentials/") return new Response(role + "\n");
  if (path === `/latest/meta-data/iam/security-credentials/${role}`) {
    return credentialsJson(ctx.issue("imds"), { Code: "Success", Type: "AWS-HMAC" });
  }
  return new Response("", { status: 404 });
}

/** The SSO portal's GetRoleCredentials, for the configured bearer token. */
function sso(req: Request, u: URL, ctx: Ctx): Response {
  ctx.ssoQueries.push(Object.fromEntries(u.searchParams));
  if (req.headers.get("x-amz-sso_bearer_token") !== ctx.opts.ssoBearer) {
    return Response.json({ message: "Session token not found or invalid" }, { status: 401 });
  }
  const c = ctx.issue("sso");
  return Response.json({
    roleCredentials: {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration.getTime(),
    },
  });
}

function stsError(status: number, code: string, message: string): Response {
  return new Response(
    `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message>` +
      `</Error><RequestId>1</RequestId></ErrorResponse>`,
    { status, headers: { "content-type": "text/xml" } },
  );
}
