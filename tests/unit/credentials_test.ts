import assert from "node:assert/strict";
import { AccessError, type S3ductError, UsageError } from "../../lib/errors.ts";
import { type AwsEnvironment, resolveAws } from "../../lib/store/credentials.ts";

const HOME = "/home/tester";
const ENV_SECRET = "envSECRETenvSECRETenvSECRETenvSECRET0001";
const DEF_SECRET = "defSECRETdefSECRETdefSECRETdefSECRET0002";
const WORK_SECRET = "workSECRETworkSECRETworkSECRETworkSEC03";

const CREDENTIALS = `[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = ${DEF_SECRET}

[work]
aws_access_key_id = AKIAWORK
aws_secret_access_key = ${WORK_SECRET}
aws_session_token = worktoken
`;

function fakeAws(env: Record<string, string>, files: Record<string, string> = {}): AwsEnvironment {
  return {
    env: (name) => env[name],
    readText: (path) => Promise.resolve(files[path]),
  };
}

async function assertRejectsWith(
  p: Promise<unknown>,
  cls: new (...args: never[]) => S3ductError,
  secrets: string[],
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    for (const s of secrets) assert.ok(!e.message.includes(s), `leaks a secret: ${e.message}`);
    return true;
  });
}

Deno.test("environment variables win over the default profile", async () => {
  const aws = fakeAws(
    { HOME, AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: ENV_SECRET },
    { [`${HOME}/.aws/credentials`]: CREDENTIALS },
  );
  const r = await resolveAws(undefined, aws);
  assert.equal(r.credentials.accessKeyId, "AKIAENV");
  assert.equal(r.credentials.secretAccessKey, ENV_SECRET);
  assert.equal(r.credentials.sessionToken, undefined);
  assert.equal(r.source, "environment");
});

Deno.test("environment variables win over AWS_PROFILE too", async () => {
  const aws = fakeAws(
    { HOME, AWS_PROFILE: "work", AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: ENV_SECRET },
    { [`${HOME}/.aws/credentials`]: CREDENTIALS },
  );
  assert.equal((await resolveAws(undefined, aws)).credentials.accessKeyId, "AKIAENV");
});

Deno.test("AWS_SESSION_TOKEN is carried", async () => {
  const aws = fakeAws({
    HOME,
    AWS_ACCESS_KEY_ID: "AKIAENV",
    AWS_SECRET_ACCESS_KEY: ENV_SECRET,
    AWS_SESSION_TOKEN: "sess-token-123",
  });
  assert.equal((await resolveAws(undefined, aws)).credentials.sessionToken, "sess-token-123");
});

Deno.test("only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY -> AccessError", async () => {
  await assertRejectsWith(
    resolveAws(undefined, fakeAws({ HOME, AWS_ACCESS_KEY_ID: "AKIAENV" })),
    AccessError,
    [],
  );
  await assertRejectsWith(
    resolveAws(undefined, fakeAws({ HOME, AWS_SECRET_ACCESS_KEY: ENV_SECRET })),
    AccessError,
    [ENV_SECRET],
  );
});

Deno.test("default profile from ~/.aws/credentials", async () => {
  const aws = fakeAws({ HOME }, { [`${HOME}/.aws/credentials`]: CREDENTIALS });
  const r = await resolveAws(undefined, aws);
  assert.equal(r.credentials.accessKeyId, "AKIADEFAULT");
  assert.equal(r.credentials.secretAccessKey, DEF_SECRET);
  assert.equal(r.source, "profile 'default'");
});

Deno.test("AWS_PROFILE + AWS_SHARED_CREDENTIALS_FILE select a named profile", async () => {
  const aws = fakeAws(
    { HOME, AWS_PROFILE: "work", AWS_SHARED_CREDENTIALS_FILE: "/etc/aws/creds" },
    {
      "/etc/aws/creds": CREDENTIALS,
      [`${HOME}/.aws/credentials`]:
        "[work]\naws_access_key_id = WRONG\naws_secret_access_key = x\n",
    },
  );
  const r = await resolveAws(undefined, aws);
  assert.equal(r.credentials.accessKeyId, "AKIAWORK");
  assert.equal(r.credentials.secretAccessKey, WORK_SECRET);
  assert.equal(r.credentials.sessionToken, "worktoken");
  assert.equal(r.source, "profile 'work'");
});

Deno.test("profile lacking the secret -> AccessError", async () => {
  const aws = fakeAws({ HOME }, {
    [`${HOME}/.aws/credentials`]: `[default]\naws_secret_access_key = ${DEF_SECRET}\n`,
  });
  await assertRejectsWith(resolveAws(undefined, aws), AccessError, [DEF_SECRET]);
});

Deno.test("AWS_PROFILE naming an absent profile -> usage error", async () => {
  const aws = fakeAws({ HOME, AWS_PROFILE: "nope" }, { [`${HOME}/.aws/credentials`]: CREDENTIALS });
  await assertRejectsWith(resolveAws(undefined, aws), UsageError, [DEF_SECRET, WORK_SECRET]);
});

Deno.test("no credentials anywhere -> AccessError", async () => {
  await assertRejectsWith(resolveAws(undefined, fakeAws({ HOME })), AccessError, []);
  await assertRejectsWith(resolveAws("eu-west-1", fakeAws({})), AccessError, []);
});

Deno.test("region precedence: --region > AWS_REGION > AWS_DEFAULT_REGION > config > us-east-1", async () => {
  const config = "[profile work]\nregion = ap-south-1\n\n[default]\nregion = sa-east-1\n";
  const files: Record<string, string> = {
    [`${HOME}/.aws/credentials`]: CREDENTIALS,
    [`${HOME}/.aws/config`]: config,
  };
  const full = {
    HOME,
    AWS_PROFILE: "work",
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "eu-central-1",
  };
  const region = async (flag: string | undefined, env: Record<string, string>, f = files) =>
    (await resolveAws(flag, fakeAws(env, f))).region;

  assert.equal(await region("us-west-2", full), "us-west-2");
  assert.equal(await region(undefined, full), "eu-west-1");
  const { AWS_REGION: _r, ...noRegion } = full;
  assert.equal(await region(undefined, noRegion), "eu-central-1");
  const { AWS_DEFAULT_REGION: _d, ...noEnvRegion } = noRegion;
  assert.equal(await region(undefined, noEnvRegion), "ap-south-1", "[profile work] region");
  const { AWS_PROFILE: _p, ...defaultProfile } = noEnvRegion;
  assert.equal(await region(undefined, defaultProfile), "sa-east-1", "[default] region");
  assert.equal(
    await region(undefined, defaultProfile, { [`${HOME}/.aws/credentials`]: CREDENTIALS }),
    "us-east-1",
  );
});

Deno.test("AWS_CONFIG_FILE is honoured for region and credentials", async () => {
  const aws = fakeAws(
    { HOME, AWS_PROFILE: "ops", AWS_CONFIG_FILE: "/cfg/aws-config" },
    {
      "/cfg/aws-config":
        `[profile ops]\nregion = ca-central-1\naws_access_key_id = AKIAOPS\naws_secret_access_key = ${WORK_SECRET}\n`,
      [`${HOME}/.aws/config`]: "[profile ops]\nregion = wrong-1\n",
    },
  );
  const r = await resolveAws(undefined, aws);
  assert.equal(r.region, "ca-central-1");
  assert.equal(r.credentials.accessKeyId, "AKIAOPS");
  assert.equal(r.credentials.secretAccessKey, WORK_SECRET);
});
