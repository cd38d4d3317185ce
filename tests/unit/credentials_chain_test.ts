/**
 * The credential chain against local stand-ins (tests/servers/aws_standins.ts): every source,
 * their precedence, refresh before expiry, and S3Store signing with refreshed credentials.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AccessError, type S3ductError } from "../../lib/errors.ts";
import {
  type AwsEnvironment,
  type Credentials,
  RefreshingProvider,
  resolveAws,
} from "../../lib/store/credentials.ts";
import { splitCommand } from "../../lib/store/credentials/process.ts";
import { stsEndpoint } from "../../lib/store/credentials/sts.ts";
import { contextOf } from "../../lib/store/credentials/types.ts";
import { S3Store } from "../../lib/store/s3_store.ts";
import { type Standins, startStandins, tempCredentials } from "../servers/aws_standins.ts";

const HOME = "/home/tester";
const SOURCE_SECRET = "srcSECRETsrcSECRETsrcSECRETsrcSECRET0001";

interface Fake {
  env: Record<string, string>;
  files?: Record<string, string>;
  run?: AwsEnvironment["run"];
  now?: () => number;
  fetch?: typeof fetch;
}

function aws(f: Fake): AwsEnvironment {
  return {
    env: (n) => f.env[n],
    readText: (p) => Promise.resolve(f.files?.[p]),
    run: f.run,
    now: f.now,
    fetch: f.fetch,
  };
}

/** Every source configured at once, pointing at the stand-ins. */
function everything(s: Standins): Fake {
  return {
    env: {
      HOME,
      AWS_ACCESS_KEY_ID: "AKIAENV",
      AWS_SECRET_ACCESS_KEY: "envSECRET",
      AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token",
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web",
      AWS_ENDPOINT_URL_STS: `${s.url}/sts`,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${s.url}/ecs/creds`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "ecs-auth",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `${s.url}/imds`,
    },
    files: {
      "/var/run/token": "web-token\n",
      [`${HOME}/.aws/credentials`]:
        "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profSECRET\n",
    },
  };
}

async function withStandins(
  fn: (s: Standins) => Promise<void>,
  opts: Parameters<typeof startStandins>[0] = {},
): Promise<void> {
  const s = startStandins({
    webIdentityToken: "web-token",
    ecsAuthorization: "ecs-auth",
    ssoBearer: "sso-bearer",
    ...opts,
  });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

function without(f: Fake, ...names: string[]): Fake {
  const env = { ...f.env };
  for (const n of names) delete env[n];
  return { ...f, env };
}

async function rejectsWith(
  p: Promise<unknown>,
  cls: typeof S3ductError,
  re: RegExp,
  secrets: string[] = [],
) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert.match(e.message, re);
    for (const s of secrets) assert.ok(!e.message.includes(s), `leaks a secret: ${e.message}`);
    return true;
  });
}

Deno.test("precedence: env > web identity > profile > container > instance metadata", async () => {
  await withStandins(async (s) => {
    let f = everything(s);
    const r1 = await resolveAws(undefined, aws(f));
    assert.equal(r1.source, "environment");
    assert.equal(r1.credentials.accessKeyId, "AKIAENV");
    assert.equal(Object.keys(s.calls).length, 0, "nothing else asked");

    f = without(f, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
    const r2 = await resolveAws(undefined, aws(f));
    assert.match(r2.source, /^web identity/);
    assert.match(r2.credentials.accessKeyId, /^ASIAWEB/);
    assert.equal(s.calls.web, 1);

    f = without(f, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const r3 = await resolveAws(undefined, aws(f));
    assert.equal(r3.source, "profile 'default'");
    assert.equal(r3.credentials.accessKeyId, "AKIAPROFILE");

    f = { ...f, files: {} };
    const r4 = await resolveAws(undefined, aws(f));
    assert.match(r4.source, /^container credentials/);
    assert.match(r4.credentials.accessKeyId, /^ASIAECS/);

    f = without(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const r5 = await resolveAws(undefined, aws(f));
    assert.equal(r5.source, "EC2 instance metadata");
    assert.match(r5.credentials.accessKeyId, /^ASIAIMDS/);
    assert.equal(s.calls.ecs, 1);
    assert.equal(s.calls.imds, 1);
  });
});

Deno.test("web identity: token file, role ARN and session name go to AssumeRoleWithWebIdentity", async () => {
  await withStandins(async (s) => {
    const f = without(everything(s), "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
    f.env.AWS_ROLE_SESSION_NAME = "ci-run-7";
    const r = await resolveAws(undefined, aws(f));
    assert.ok(r.credentials.sessionToken?.startsWith("token-web-"));
    assert.ok(r.credentials.expiration instanceof Date);
    const req = s.stsRequests[0];
    assert.equal(req.form.Action, "AssumeRoleWithWebIdentity");
    assert.equal(req.form.RoleArn, "arn:aws:iam::123456789012:role/web");
    assert.equal(req.form.RoleSessionName, "ci-run-7");
    assert.equal(req.form.WebIdentityToken, "web-token");
    assert.equal(req.authorization, null, "web identity calls are unsigned");

    f.files!["/var/run/token"] = "stale-token";
    await rejectsWith(resolveAws(undefined, aws(f)), AccessError, /InvalidIdentityToken/, [
      "stale-token",
    ]);
    await rejectsWith(
      resolveAws(undefined, aws(without(f, "AWS_ROLE_ARN"))),
      AccessError,
      /AWS_ROLE_ARN/,
    );
  });
});

Deno.test("role_arn + source_profile: AssumeRole signed with the source profile's keys", async () => {
  await withStandins(async (s) => {
    const f: Fake = {
      env: { HOME, AWS_PROFILE: "deploy", AWS_ENDPOINT_URL_STS: `${s.url}/sts` },
      files: {
        [`${HOME}/.aws/credentials`]:
          `[base]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = ${SOURCE_SECRET}\n`,
        [`${HOME}/.aws/config`]: "[profile deploy]\nrole_arn = arn:aws:iam::1:role/deploy\n" +
          "source_profile = mid\nexternal_id = ext-42\nrole_session_name = nightly\n\n" +
          "[profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\n",
      },
    };
    const r = await resolveAws("eu-west-1", aws(f));
    assert.equal(r.source, "profile 'deploy'");
    assert.equal(s.stsRequests.length, 2, "mid's role first, then deploy's with mid's creds");
    const [first, second] = s.stsRequests;
    assert.equal(first.form.RoleArn, "arn:aws:iam::1:role/mid");
    assert.match(
      first.authorization!,
      /Credential=AKIASOURCE\/\d{8}\/eu-west-1\/sts\/aws4_request/,
    );
    assert.equal(second.form.RoleArn, "arn:aws:iam::1:role/deploy");
    assert.equal(second.form.ExternalId, "ext-42");
    assert.equal(second.form.RoleSessionName, "nightly");
    assert.match(second.authorization!, /Credential=ASIASTS\d+\//, "signed with mid's creds");
    assert.equal(r.credentials.accessKeyId.startsWith("ASIASTS"), true);

    const cyclic: Fake = {
      env: { HOME, AWS_PROFILE: "a" },
      files: {
        [`${HOME}/.aws/config`]:
          "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n" +
          "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n",
      },
    };
    await rejectsWith(resolveAws(undefined, aws(cyclic)), AccessError, /cycle: a -> b -> a/);
  });
});

Deno.test("STS errors are AccessErrors naming the code, never the source secret", async () => {
  await withStandins(async (s) => {
    const f: Fake = {
      env: {
        HOME,
        AWS_ENDPOINT_URL_STS: `${s.url}/sts`,
        AWS_WEB_IDENTITY_TOKEN_FILE: "/t",
        AWS_ROLE_ARN: "arn:r",
      },
      files: { "/t": "wrong-token" },
    };
    await rejectsWith(
      resolveAws(undefined, aws(f)),
      AccessError,
      /InvalidIdentityToken: The token is not valid/,
      ["wrong-token"],
    );
  });
});

Deno.test("STS endpoint: AWS_ENDPOINT_URL_STS > AWS_ENDPOINT_URL > regional", () => {
  const ctx = (env: Record<string, string>) => contextOf(aws({ env }));
  assert.equal(stsEndpoint(ctx({}), "eu-north-1"), "https://sts.eu-north-1.amazonaws.com/");
  assert.equal(stsEndpoint(ctx({ AWS_ENDPOINT_URL: "http://all:1" }), "x"), "http://all:1/");
  assert.equal(
    stsEndpoint(
      ctx({ AWS_ENDPOINT_URL: "http://all:1", AWS_ENDPOINT_URL_STS: "http://sts:2/" }),
      "x",
    ),
    "http://sts:2/",
  );
});

const ssoToken = (expiresInMs: number) =>
  JSON.stringify({
    accessToken: "sso-bearer",
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  });
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

Deno.test("SSO via sso_session: cached token -> GetRoleCredentials", async () => {
  await withStandins(async (s) => {
    const f: Fake = {
      env: { HOME, AWS_PROFILE: "dev", AWS_ENDPOINT_URL_SSO: `${s.url}/sso` },
      files: {
        [`${HOME}/.aws/config`]:
          "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n" +
          "sso_role_name = Admin\nregion = eu-west-1\n\n[sso-session corp]\n" +
          "sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        [`${HOME}/.aws/sso/cache/${sha1("corp")}.json`]: ssoToken(3600_000),
      },
    };
    const r = await resolveAws(undefined, aws(f));
    assert.equal(r.region, "eu-west-1");
    assert.match(r.credentials.accessKeyId, /^ASIASSO/);
    assert.ok(r.credentials.expiration! > new Date());
    assert.deepEqual(s.ssoQueries[0], { account_id: "111122223333", role_name: "Admin" });
  });
});

Deno.test("SSO legacy profile: cache key is the start URL; no valid token -> run aws sso login", async () => {
  await withStandins(async (s) => {
    const url = "https://legacy.awsapps.com/start";
    const files = {
      [`${HOME}/.aws/config`]: `[default]\nsso_start_url = ${url}\nsso_region = us-east-2\n` +
        "sso_account_id = 444455556666\nsso_role_name = Reader\n",
    };
    const env = { HOME, AWS_ENDPOINT_URL_SSO: `${s.url}/sso/` };
    const ok = await resolveAws(
      undefined,
      aws({
        env,
        files: { ...files, [`${HOME}/.aws/sso/cache/${sha1(url)}.json`]: ssoToken(60_000) },
      }),
    );
    assert.match(ok.credentials.accessKeyId, /^ASIASSO/);

    await rejectsWith(
      resolveAws(undefined, aws({ env, files })),
      AccessError,
      /aws sso login --profile default/,
    );
    const expired = { ...files, [`${HOME}/.aws/sso/cache/${sha1(url)}.json`]: ssoToken(-1000) };
    await rejectsWith(
      resolveAws(undefined, aws({ env, files: expired })),
      AccessError,
      /expired.*aws sso login/,
    );
    const refused = {
      ...files,
      [`${HOME}/.aws/sso/cache/${sha1(url)}.json`]: JSON.stringify({
        accessToken: "revoked",
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
    };
    await rejectsWith(
      resolveAws(undefined, aws({ env, files: refused })),
      AccessError,
      /refused.*aws sso login/,
      ["revoked"],
    );
  });
});

Deno.test("container credentials: full URI with token (file wins), relative URI on 169.254.170.2", async () => {
  await withStandins(async (s) => {
    const base = { HOME, AWS_EC2_METADATA_DISABLED: "true" };
    const full = { ...base, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${s.url}/ecs/creds` };
    await rejectsWith(resolveAws(undefined, aws({ env: full })), AccessError, /HTTP 401/);
    const r = await resolveAws(
      undefined,
      aws({ env: { ...full, AWS_CONTAINER_AUTHORIZATION_TOKEN: "ecs-auth" } }),
    );
    assert.match(r.credentials.accessKeyId, /^ASIAECS/);
    assert.ok(r.credentials.sessionToken);
    const viaFile = await resolveAws(
      undefined,
      aws({
        env: {
          ...full,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong",
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/run/tok",
        },
        files: { "/run/tok": "ecs-auth\n" },
      }),
    );
    assert.match(viaFile.credentials.accessKeyId, /^ASIAECS/);

    const asked: string[] = [];
    const rewrite: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      asked.push(url);
      return fetch(url.replace("http://169.254.170.2", `${s.url}/ecs`), init);
    };
    const rel = await resolveAws(
      undefined,
      aws({
        env: {
          ...base,
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/creds",
          AWS_CONTAINER_AUTHORIZATION_TOKEN: "ecs-auth",
        },
        fetch: rewrite,
      }),
    );
    assert.deepEqual(asked, ["http://169.254.170.2/creds"]);
    assert.match(rel.credentials.accessKeyId, /^ASIAECS/);

    await rejectsWith(
      resolveAws(
        undefined,
        aws({ env: { ...base, AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://example.com/creds" } }),
      ),
      AccessError,
      /must be https/,
    );
  });
});

Deno.test("IMDSv2: session token first, then role, then its credentials", async () => {
  await withStandins(async (s) => {
    const r = await resolveAws(
      undefined,
      aws({ env: { HOME, AWS_EC2_METADATA_SERVICE_ENDPOINT: `${s.url}/imds` } }),
    );
    assert.equal(r.source, "EC2 instance metadata");
    assert.match(r.credentials.accessKeyId, /^ASIAIMDS/);
    assert.equal(s.calls.imdsToken, 1);
    assert.equal(s.calls.imds, 1);
  }, { imdsRole: "web-servers" });
});

Deno.test("IMDS disabled by AWS_EC2_METADATA_DISABLED=true; unreachable IMDS means no credentials", async () => {
  await withStandins(async (s) => {
    const env = {
      HOME,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `${s.url}/imds`,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    await rejectsWith(resolveAws(undefined, aws({ env })), AccessError, /no AWS credentials found/);
    assert.equal(s.calls.imdsToken, undefined, "IMDS was not asked");
    assert.equal(s.calls.imds, undefined);
  });
  // A port nothing listens on: the chain ends with the usual message, quickly.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const t0 = Date.now();
  await rejectsWith(
    resolveAws(
      undefined,
      aws({ env: { HOME, AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}` } }),
    ),
    AccessError,
    /no AWS credentials found/,
  );
  assert.ok(Date.now() - t0 < 5000, "1 s timeouts, one retry");
});

Deno.test("credential_process: real script, JSON Version 1 with Expiration", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/creds helper.sh`;
    const exp = new Date(Date.now() + 3600_000).toISOString();
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\n[ "$1" = "--role" ] && [ "$2" = "two words" ] || exit 3\n` +
        `echo '{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "procSECRET", ` +
        `"SessionToken": "proc-token", "Expiration": "${exp}"}'\n`,
    );
    await Deno.chmod(script, 0o755);
    const config = `[profile p]\ncredential_process = "${script}" --role 'two words'\n`;
    const r = await resolveAws(
      undefined,
      aws({ env: { HOME, AWS_PROFILE: "p" }, files: { [`${HOME}/.aws/config`]: config } }),
    );
    assert.equal(r.credentials.accessKeyId, "AKIAPROC");
    assert.equal(r.credentials.sessionToken, "proc-token");
    assert.equal(r.credentials.expiration?.toISOString(), exp);

    const failing = `[profile p]\ncredential_process = "${script}" --role other\n`;
    await rejectsWith(
      resolveAws(
        undefined,
        aws({ env: { HOME, AWS_PROFILE: "p" }, files: { [`${HOME}/.aws/config`]: failing } }),
      ),
      AccessError,
      /failed with exit code 3/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("credential_process: bad output is an AccessError that does not echo it", async () => {
  const files = { [`${HOME}/.aws/config`]: "[default]\ncredential_process = helper\n" };
  const out = (stdout: string) =>
    aws({ env: { HOME }, files, run: () => Promise.resolve({ code: 0, stdout }) });
  await rejectsWith(
    resolveAws(undefined, out("AKIA leakySECRET")),
    AccessError,
    /did not print JSON/,
    ["leakySECRET"],
  );
  await rejectsWith(
    resolveAws(
      undefined,
      out('{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "leakySECRET"}'),
    ),
    AccessError,
    /Version 2/,
    ["leakySECRET"],
  );
  await rejectsWith(
    resolveAws(
      undefined,
      out(
        JSON.stringify({
          Version: 1,
          AccessKeyId: "A",
          SecretAccessKey: "leakySECRET",
          Expiration: "2001-01-01T00:00:00Z",
        }),
      ),
    ),
    AccessError,
    /expired/,
    ["leakySECRET"],
  );
  assert.deepEqual(splitCommand(`a "b c" 'd "e"' f\\ g`), ["a", "b c", 'd "e"', "f g"]);
});

Deno.test("refresh: credentials expiring in 1 minute are replaced on the next get", async () => {
  await withStandins(async (s) => {
    const f: Fake = {
      env: { HOME, AWS_PROFILE: "r", AWS_ENDPOINT_URL_STS: `${s.url}/sts` },
      files: {
        [`${HOME}/.aws/config`]:
          "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = r\n" +
          `aws_access_key_id = AKIASOURCE\naws_secret_access_key = ${SOURCE_SECRET}\n`,
      },
    };
    const r = await resolveAws(undefined, aws(f));
    assert.equal(s.calls.sts, 1);
    const again = await r.provider.get();
    assert.equal(again, r.credentials, "still valid for 1 h: cached");
    assert.equal(s.calls.sts, 1);
  }, { issue: (kind) => tempCredentials(kind, 3600_000) });

  await withStandins(async (s) => {
    const f: Fake = {
      env: {
        HOME,
        AWS_ENDPOINT_URL_STS: `${s.url}/sts`,
        AWS_WEB_IDENTITY_TOKEN_FILE: "/t",
        AWS_ROLE_ARN: "arn:r",
      },
      files: { "/t": "web-token" },
    };
    const r = await resolveAws(undefined, aws(f));
    assert.ok(r.credentials.expiration!.getTime() - Date.now() <= 60_000);
    const next = await r.provider.get();
    assert.equal(s.calls.web, 2, "refreshed: within 5 minutes of expiry");
    assert.notEqual(next.accessKeyId, r.credentials.accessKeyId);
    assert.ok(next.expiration!.getTime() - Date.now() > 50 * 60_000);
    assert.equal(await r.provider.get(), next, "the fresh ones are cached");
    assert.equal(s.calls.web, 2);
  }, {
    webIdentityToken: "web-token",
    issue: (kind, n) => tempCredentials(kind, n === 1 ? 60_000 : 3600_000),
  });
});

Deno.test("refresh: a failed refresh keeps still-valid credentials, fails once they expired", async () => {
  let clock = 0;
  let calls = 0;
  const provider = new RefreshingProvider("test", () => {
    calls++;
    if (calls > 1) return Promise.reject(new AccessError("STS down"));
    return Promise.resolve({
      accessKeyId: "A1",
      secretAccessKey: "s",
      expiration: new Date(120_000),
    });
  }, () => clock);
  assert.equal((await provider.get()).accessKeyId, "A1");
  clock = 60_000; // 1 minute left: refresh is attempted, fails, old creds still good
  assert.equal((await provider.get()).accessKeyId, "A1");
  assert.equal(calls, 2);
  clock = 130_000;
  await assert.rejects(provider.get(), /STS down/);
  // Concurrent gets share one refresh.
  let loads = 0;
  const shared = new RefreshingProvider("t", async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    return { accessKeyId: `A${loads}`, secretAccessKey: "s" };
  });
  const all = await Promise.all([shared.get(), shared.get(), shared.get()]);
  assert.equal(loads, 1);
  assert.ok(all.every((c) => c === all[0]));
});

Deno.test("S3Store signs each request with the provider's current credentials", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(/Credential=([^/]+)\//.exec(req.headers.get("authorization") ?? "")?.[1] ?? "none");
    return new Response("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  });
  try {
    let current: Credentials = { accessKeyId: "AKIAFIRST", secretAccessKey: "s1" };
    const store = new S3Store({
      bucket: "b",
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      credentials: { source: "test", get: () => Promise.resolve(current) },
      retry: { retries: 0, baseMs: 1, capMs: 1 },
      keepAlive: false,
    });
    await store.checkBucket();
    current = { accessKeyId: "AKIASECOND", secretAccessKey: "s2", sessionToken: "t" };
    await store.checkBucket();
    await store.checkBucket();
    assert.deepEqual(seen, ["AKIAFIRST", "AKIASECOND", "AKIASECOND"]);

    const fixed = new S3Store({
      bucket: "b",
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      credentials: { accessKeyId: "AKIASTATIC", secretAccessKey: "s" },
      keepAlive: false,
    });
    await fixed.checkBucket();
    assert.equal(seen.at(-1), "AKIASTATIC");
  } finally {
    await server.shutdown();
  }
});
