/**
 * End to end on Ceph with credentials from the chain instead of AWS_ACCESS_KEY_ID: a
 * credential_process script, the container-credentials stand-in, and an STS AssumeRole
 * stand-in. Each hands out the Ceph test keys; the CLI must put and get the same bytes.
 */
import assert from "node:assert/strict";
import { startStandins } from "../servers/aws_standins.ts";
import { bytesEqual, ceph, cleanPrefix, cli, pseudoRandom, runPrefix, s3Args } from "./harness.ts";

const PREFIX = runPrefix("creds");
const DATA = pseudoRandom(3 * 1024 * 1024 + 17, 11);

/** No ambient AWS configuration leaks in: every source we do not test is blanked. */
function baseEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_SESSION_TOKEN: "",
    AWS_PROFILE: "",
    AWS_WEB_IDENTITY_TOKEN_FILE: "",
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "",
    AWS_CONTAINER_CREDENTIALS_FULL_URI: "",
    AWS_SHARED_CREDENTIALS_FILE: `${home}/no-credentials`,
    AWS_CONFIG_FILE: `${home}/no-config`,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_REGION: ceph().region,
  };
}

async function roundTrip(name: string, env: Record<string, string>): Promise<void> {
  const args = [...s3Args(), "--prefix", PREFIX, "--name", name];
  const put = await cli(["put", ...args, "--chunk-size", "1M", "--no-encrypt", "-q"], {
    stdin: DATA,
    env,
  });
  assert.equal(put.code, 0, put.stderr);
  const get = await cli(["get", ...args, "-q"], { env });
  assert.equal(get.code, 0, get.stderr);
  assert.ok(bytesEqual(get.stdout, DATA), "get returns the bytes put stored");
}

Deno.test({
  name: "credentials: put + get on Ceph with keys from credential_process",
  sanitizeResources: false,
  fn: async () => {
    const c = ceph();
    const home = await Deno.makeTempDir({ prefix: "s3duct-home-" });
    try {
      const script = `${home}/ceph-creds.sh`;
      const expires = new Date(Date.now() + 3600_000).toISOString();
      await Deno.writeTextFile(
        script,
        `#!/bin/sh\ncat <<JSON\n${
          JSON.stringify({
            Version: 1,
            AccessKeyId: c.accessKey,
            SecretAccessKey: c.secretKey,
            Expiration: expires,
          })
        }\nJSON\n`,
      );
      await Deno.chmod(script, 0o700);
      await Deno.writeTextFile(
        `${home}/config`,
        `[profile ceph]\ncredential_process = ${script}\n`,
      );
      await roundTrip("via-process", {
        ...baseEnv(home),
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_PROFILE: "ceph",
      });

      // The same profile with a failing helper: exit 6 and no keys in the message.
      await Deno.writeTextFile(script, "#!/bin/sh\nexit 9\n");
      const r = await cli(["get", ...s3Args(), "--prefix", PREFIX, "--name", "via-process"], {
        env: { ...baseEnv(home), AWS_CONFIG_FILE: `${home}/config`, AWS_PROFILE: "ceph" },
      });
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /credential_process .* failed with exit code 9/);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "credentials: put + get on Ceph via the container endpoint, refreshed while uploading",
  sanitizeResources: false,
  fn: async () => {
    const c = ceph();
    const standins = startStandins({
      ecsAuthorization: "Bearer ecs-secret",
      // Two minutes to expiry is inside the 5-minute margin: every request refreshes.
      issue: () => ({
        accessKeyId: c.accessKey,
        secretAccessKey: c.secretKey,
        sessionToken: "",
        expiration: new Date(Date.now() + 120_000),
      }),
    });
    const home = await Deno.makeTempDir({ prefix: "s3duct-home-" });
    try {
      await roundTrip("via-ecs", {
        ...baseEnv(home),
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${standins.url}/ecs/creds`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "Bearer ecs-secret",
      });
      // put: resolve + bucket check + 4 chunks + manifest; get: several more.
      assert.ok(standins.calls.ecs >= 8, `refreshed per request, got ${standins.calls.ecs}`);
    } finally {
      await standins.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "credentials: put + get on Ceph via role_arn + source_profile (STS stand-in)",
  sanitizeResources: false,
  fn: async () => {
    const c = ceph();
    const standins = startStandins({
      issue: () => ({
        accessKeyId: c.accessKey,
        secretAccessKey: c.secretKey,
        sessionToken: "",
        expiration: new Date(Date.now() + 3600_000),
      }),
    });
    const home = await Deno.makeTempDir({ prefix: "s3duct-home-" });
    try {
      await Deno.writeTextFile(
        `${home}/credentials`,
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = baseSECRET\n",
      );
      await Deno.writeTextFile(
        `${home}/config`,
        "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base\n",
      );
      await roundTrip("via-sts", {
        ...baseEnv(home),
        AWS_SHARED_CREDENTIALS_FILE: `${home}/credentials`,
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_PROFILE: "deploy",
        AWS_ENDPOINT_URL_STS: `${standins.url}/sts/`,
      });
      assert.equal(standins.calls.sts, 2, "one AssumeRole per CLI run (cached for an hour)");
      assert.match(standins.stsRequests[0].authorization ?? "", /Credential=AKIABASE\//);
    } finally {
      await standins.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "credentials: clean up",
  fn: () => cleanPrefix(PREFIX),
});
