/**
 * Shared config/credentials files (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE):
 * a profile yields credentials, in this order, from role_arn (+ source_profile,
 * credential_source or web_identity_token_file), sso_*, credential_process, or static keys.
 */
import { parse as parseIni } from "ini";
import { AccessError, UsageError } from "../../errors.ts";
import { ecsLoader, ecsUrl } from "./ecs.ts";
import { envCredentials } from "./env.ts";
import { imdsLoader } from "./imds.ts";
import { processLoader } from "./process.ts";
import { type IniSection, ssoLoader, ssoSettings } from "./sso.ts";
import { assumeRole, type AssumeRoleParams, webIdentityLoader } from "./sts.ts";
import { type AwsContext, type Credentials, type Loader, str } from "./types.ts";

/** The shared config and credentials files, parsed, and which profile is selected. */
export interface ProfileFiles {
  /** The selected profile: AWS_PROFILE, AWS_DEFAULT_PROFILE or "default". */
  name: string;
  /** Whether a variable named it (then it must exist). */
  explicit: boolean;
  /** $HOME ("" when unset): the default files' folder, and the SSO token cache's. */
  home: string;
  /** Path of the credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials). */
  credFile: string;
  /** Path of the config file (AWS_CONFIG_FILE, default ~/.aws/config). */
  configFile: string;
  /** The credentials file parsed ({} when it does not exist); sections are profile names. */
  creds: IniSection;
  /** The config file parsed ({} when it does not exist); sections are `profile NAME`. */
  config: IniSection;
}

/** The selected profile as a credential source. */
export interface ProfileSource {
  /** For messages: `profile 'NAME'`. */
  source: string;
  /** Loads the profile's credentials (assuming roles, SSO, a process, or its static keys). */
  loader: Loader;
}

/** Reads both files (a missing one counts as empty) and the profile AWS_PROFILE selects. */
export async function loadProfileFiles(ctx: AwsContext): Promise<ProfileFiles> {
  const home = ctx.env("HOME") ?? "";
  const chosen = ctx.env("AWS_PROFILE") || ctx.env("AWS_DEFAULT_PROFILE");
  const credFile = ctx.env("AWS_SHARED_CREDENTIALS_FILE") || `${home}/.aws/credentials`;
  const configFile = ctx.env("AWS_CONFIG_FILE") || `${home}/.aws/config`;
  return {
    name: chosen || "default",
    explicit: !!chosen,
    home,
    credFile,
    configFile,
    creds: parseIni((await ctx.readText(credFile)) ?? ""),
    config: parseIni((await ctx.readText(configFile)) ?? ""),
  };
}

function section(ini: IniSection, name: string): IniSection | undefined {
  const s = ini[name];
  return typeof s === "object" && s !== null ? s as IniSection : undefined;
}

function fromConfig(f: ProfileFiles, name: string): IniSection | undefined {
  return section(f.config, name === "default" ? "default" : `profile ${name}`) ??
    (name === "default" ? section(f.config, "profile default") : undefined);
}

/** The region a profile sets: config file first, then the credentials file. */
export function profileRegion(f: ProfileFiles): string | undefined {
  return str(fromConfig(f, f.name)?.region) || str(section(f.creds, f.name)?.region);
}

/** Credentials of the selected profile; undefined when it configures none. */
export function profileSource(
  ctx: AwsContext,
  f: ProfileFiles,
  region: string,
): ProfileSource | undefined {
  const inCreds = section(f.creds, f.name);
  const inConfig = fromConfig(f, f.name);
  if (!inCreds && !inConfig) {
    if (!f.explicit) return undefined;
    throw new UsageError(
      `AWS_PROFILE names profile '${f.name}', which is in neither ${f.credFile} nor ${f.configFile}`,
    );
  }
  const loader = profileLoader(ctx, f, f.name, region, []);
  return loader && { source: `profile '${f.name}'`, loader };
}

function profileLoader(
  ctx: AwsContext,
  f: ProfileFiles,
  name: string,
  region: string,
  visited: string[],
): Loader | undefined {
  const inCreds = section(f.creds, name);
  const inConfig = fromConfig(f, name);
  const p: IniSection = { ...inConfig, ...inCreds };
  const roleArn = str(p.role_arn);
  if (roleArn) return roleLoader(ctx, f, name, p, roleArn, region, visited);
  const sso = ssoSettings(name, p, (s) => section(f.config, `sso-session ${s}`));
  if (sso) return ssoLoader(ctx, f.home, sso);
  const command = str(p.credential_process);
  if (command) return processLoader(ctx, command, `profile '${name}'`);
  const keys = staticKeys(f, name, inCreds, inConfig);
  return keys && (() => Promise.resolve(keys));
}

function staticKeys(
  f: ProfileFiles,
  name: string,
  inCreds: IniSection | undefined,
  inConfig: IniSection | undefined,
): Credentials | undefined {
  for (const [where, sec] of [[f.credFile, inCreds], [f.configFile, inConfig]] as const) {
    const id = str(sec?.aws_access_key_id);
    const secret = str(sec?.aws_secret_access_key);
    if (!id && !secret) continue;
    if (!id || !secret) {
      throw new AccessError(
        `profile '${name}' in ${where} lacks aws_access_key_id or aws_secret_access_key`,
      );
    }
    return { accessKeyId: id, secretAccessKey: secret, sessionToken: str(sec?.aws_session_token) };
  }
  return undefined;
}

/** Assumes the profile's `role_arn` with its web identity token or its source's credentials. */
function roleLoader(
  ctx: AwsContext,
  f: ProfileFiles,
  name: string,
  p: IniSection,
  roleArn: string,
  region: string,
  visited: string[],
): Loader {
  const duration = Number(str(p.duration_seconds));
  const params: AssumeRoleParams = {
    roleArn,
    sessionName: str(p.role_session_name),
    externalId: str(p.external_id),
    durationSeconds: Number.isInteger(duration) && duration > 0 ? duration : undefined,
  };
  const tokenFile = str(p.web_identity_token_file);
  if (tokenFile) return webIdentityLoader(ctx, region, tokenFile, params);
  const source = roleSource(ctx, f, name, p, region, visited);
  if (!source) {
    throw new AccessError(`the source of profile '${name}' (role ${roleArn}) has no credentials`);
  }
  const from = source;
  return async () => assumeRole(ctx, region, await from(), params);
}

/**
 * The credentials a role profile assumes its role with: `source_profile` (itself, or another
 * profile, cycles refused) or `credential_source`; undefined when that source has none.
 */
function roleSource(
  ctx: AwsContext,
  f: ProfileFiles,
  name: string,
  p: IniSection,
  region: string,
  visited: string[],
): Loader | undefined {
  const sourceProfile = str(p.source_profile);
  const credentialSource = str(p.credential_source);
  if (sourceProfile && credentialSource) {
    throw new AccessError(`profile '${name}' sets both source_profile and credential_source`);
  } else if (sourceProfile === name) {
    // A profile may hold the keys that assume its own role.
    const keys = staticKeys(f, name, section(f.creds, name), fromConfig(f, name));
    return keys && (() => Promise.resolve(keys));
  } else if (sourceProfile) {
    if (visited.includes(sourceProfile)) {
      throw new AccessError(
        `profiles form a source_profile cycle: ${[...visited, name, sourceProfile].join(" -> ")}`,
      );
    }
    if (!section(f.creds, sourceProfile) && !fromConfig(f, sourceProfile)) {
      throw new AccessError(
        `profile '${name}' names source_profile '${sourceProfile}', which does not exist`,
      );
    }
    return profileLoader(ctx, f, sourceProfile, region, [...visited, name]);
  } else if (credentialSource) {
    return credentialSourceLoader(ctx, credentialSource, name);
  }
  throw new AccessError(
    `profile '${name}' has role_arn but no source_profile, credential_source or web_identity_token_file`,
  );
}

function credentialSourceLoader(ctx: AwsContext, kind: string, name: string): Loader | undefined {
  switch (kind) {
    case "Environment":
      return async () => {
        const c = envCredentials(ctx);
        if (!c) {
          throw new AccessError(
            `profile '${name}': credential_source Environment, but AWS_ACCESS_KEY_ID is not set`,
          );
        }
        return await Promise.resolve(c);
      };
    case "EcsContainer": {
      const url = ecsUrl(ctx);
      return url && ecsLoader(ctx, url);
    }
    case "Ec2InstanceMetadata":
      return imdsLoader(ctx);
    default:
      throw new AccessError(
        `profile '${name}': credential_source '${kind}' is not one of Environment, EcsContainer, Ec2InstanceMetadata`,
      );
  }
}
