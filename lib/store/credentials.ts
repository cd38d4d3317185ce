/**
 * AWS credentials and region, resolved like the AWS CLI for the sources we support:
 * environment variables, then the shared credentials/config files (AWS_PROFILE).
 * Secrets never appear in errors.
 */
import { parse as parseIni } from "ini";
import { AccessError, UsageError } from "../errors.ts";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsSettings {
  credentials: Credentials;
  region: string;
  /** Where the credentials came from, for messages: "environment" or "profile 'x'". */
  source: string;
}

/** What resolution may read; injectable for tests. */
export interface AwsEnvironment {
  env(name: string): string | undefined;
  readText(path: string): Promise<string | undefined>;
}

export const realAwsEnvironment: AwsEnvironment = {
  env: (name) => Deno.env.get(name),
  readText: async (path) => {
    try {
      return await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  },
};

/** Resolve credentials and region. `region` is the --region option, if given. */
export async function resolveAws(
  region: string | undefined,
  aws: AwsEnvironment = realAwsEnvironment,
): Promise<AwsSettings> {
  const home = aws.env("HOME") ?? "";
  const profileName = aws.env("AWS_PROFILE") || aws.env("AWS_DEFAULT_PROFILE") || "default";
  const credFile = aws.env("AWS_SHARED_CREDENTIALS_FILE") || `${home}/.aws/credentials`;
  const configFile = aws.env("AWS_CONFIG_FILE") || `${home}/.aws/config`;
  const creds = parseIni((await aws.readText(credFile)) ?? "");
  const config = parseIni((await aws.readText(configFile)) ?? "");
  const fromCreds = section(creds, profileName);
  const fromConfig = section(
    config,
    profileName === "default" ? "default" : `profile ${profileName}`,
  );

  const resolvedRegion = region || aws.env("AWS_REGION") || aws.env("AWS_DEFAULT_REGION") ||
    str(fromConfig?.region) || str(fromCreds?.region) || "us-east-1";

  const envId = aws.env("AWS_ACCESS_KEY_ID");
  const envSecret = aws.env("AWS_SECRET_ACCESS_KEY");
  if (envId || envSecret) {
    if (!envId || !envSecret) {
      throw new AccessError(
        `incomplete AWS credentials: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      );
    }
    return {
      credentials: {
        accessKeyId: envId,
        secretAccessKey: envSecret,
        sessionToken: aws.env("AWS_SESSION_TOKEN") || undefined,
      },
      region: resolvedRegion,
      source: "environment",
    };
  }

  for (const [where, sec] of [[credFile, fromCreds], [configFile, fromConfig]] as const) {
    const id = str(sec?.aws_access_key_id);
    const secret = str(sec?.aws_secret_access_key);
    if (id || secret) {
      if (!id || !secret) {
        throw new AccessError(
          `profile '${profileName}' in ${where} lacks aws_access_key_id or aws_secret_access_key`,
        );
      }
      return {
        credentials: {
          accessKeyId: id,
          secretAccessKey: secret,
          sessionToken: str(sec?.aws_session_token),
        },
        region: resolvedRegion,
        source: `profile '${profileName}'`,
      };
    }
  }
  if (aws.env("AWS_PROFILE") && !fromCreds && !fromConfig) {
    throw new UsageError(
      `AWS_PROFILE names profile '${profileName}', which is in neither ${credFile} nor ${configFile}`,
    );
  }
  throw new AccessError(
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
      `or add a profile to ${credFile} (select it with AWS_PROFILE)`,
  );
}

function section(ini: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const s = ini[name];
  return typeof s === "object" && s !== null ? s as Record<string, unknown> : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}
