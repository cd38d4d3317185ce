/**
 * The credential chain, in the AWS SDKs' spirit: environment variables, web identity,
 * the shared config/credentials profile, container credentials, EC2 instance metadata.
 * The first source that is configured wins; its provider refreshes temporary credentials
 * within five minutes of their expiration.
 */
import { AccessError } from "../../errors.ts";
import { ecsLoader, ecsUrl } from "./ecs.ts";
import { envCredentials } from "./env.ts";
import { imdsLoader } from "./imds.ts";
import { loadProfileFiles, type ProfileFiles, profileRegion, profileSource } from "./profile.ts";
import { webIdentityFromEnv } from "./sts.ts";
import {
  type AwsContext,
  type AwsEnvironment,
  contextOf,
  type CredentialProvider,
  type Credentials,
  CredentialsUnavailable,
  isPermissionError,
  type Loader,
  realAwsEnvironment,
} from "./types.ts";

/** Refresh this long before the expiration. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/** What resolving the AWS settings found: credentials, their provider, and the region. */
export interface AwsSettings {
  /** The credentials resolved first (what `provider.get()` returned). */
  credentials: Credentials;
  /** Current credentials for every request, refreshed when temporary. */
  provider: CredentialProvider;
  /** The region: `--region`, else AWS_REGION / AWS_DEFAULT_REGION, the profile's, or us-east-1. */
  region: string;
  /** Where the credentials came from, for messages: "environment", "profile 'x'", ... */
  source: string;
}

/** Caches a loader's credentials; reloads when within REFRESH_MARGIN_MS of the expiration. */
export class RefreshingProvider implements CredentialProvider {
  readonly source: string;
  readonly #load: Loader;
  readonly #now: () => number;
  #current?: Credentials;
  #pending?: Promise<Credentials>;

  /** A provider that loads on the first `get`; `source` names where `load` gets them from. */
  constructor(source: string, load: Loader, now: () => number = Date.now) {
    this.source = source;
    this.#load = load;
    this.#now = now;
  }

  /**
   * Cached credentials, or fresh ones near expiry (one load shared by concurrent callers).
   * A failed refresh falls back to cached credentials that have not expired yet.
   */
  async get(): Promise<Credentials> {
    const cur = this.#current;
    const left = cur?.expiration ? cur.expiration.getTime() - this.#now() : Infinity;
    if (cur && left > REFRESH_MARGIN_MS) return cur;
    this.#pending ??= this.#load().then((fresh) => (this.#current = fresh)).finally(() => {
      this.#pending = undefined;
    });
    try {
      return await this.#pending;
    } catch (e) {
      // A failed refresh is survivable while the old credentials still work.
      if (cur && left > 0 && !isPermissionError(e)) return cur;
      throw e;
    }
  }
}

/** A provider of fixed credentials. */
export function staticProvider(c: Credentials, source = "static"): CredentialProvider {
  return { source, get: () => Promise.resolve(c) };
}

/** Resolve region and credentials. `region` is the --region option, if given. */
export async function resolveAws(
  region: string | undefined,
  aws: AwsEnvironment = realAwsEnvironment,
): Promise<AwsSettings> {
  const ctx = contextOf(aws);
  let files: ProfileFiles | undefined;
  const profiles = async () => files ??= await loadProfileFiles(ctx);
  // Lazily: the files are only read when the region or credentials need them.
  const resolvedRegion = region || ctx.env("AWS_REGION") || ctx.env("AWS_DEFAULT_REGION") ||
    profileRegion(await profiles()) || "us-east-1";
  const provider = await resolveProvider(ctx, resolvedRegion, profiles);
  return {
    credentials: await provider.get(),
    provider,
    region: resolvedRegion,
    source: provider.source,
  };
}

async function resolveProvider(
  ctx: AwsContext,
  region: string,
  profiles: () => Promise<ProfileFiles>,
): Promise<CredentialProvider> {
  const env = envCredentials(ctx);
  if (env) return staticProvider(env, "environment");
  const refreshing = (source: string, loader: Loader) =>
    new RefreshingProvider(source, loader, ctx.now);

  const web = webIdentityFromEnv(ctx, region);
  if (web) return refreshing(`web identity (${ctx.env("AWS_ROLE_ARN")})`, web);

  const files = await profiles();
  const profile = profileSource(ctx, files, region);
  if (profile) return refreshing(profile.source, profile.loader);

  const ecs = ecsUrl(ctx);
  if (ecs) return refreshing(`container credentials (${ecs.origin})`, ecsLoader(ctx, ecs));

  let note = "";
  const imds = imdsLoader(ctx);
  if (imds) {
    const provider = refreshing("EC2 instance metadata", imds);
    try {
      await provider.get();
      return provider;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) {
        note = "; EC2 instance metadata was not tried (Deno lacks --allow-net for it)";
      } else if (!(e instanceof CredentialsUnavailable)) throw e;
    }
  }
  throw new AccessError(
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
      `or add a profile to ${files.credFile} (select it with AWS_PROFILE)${note}`,
  );
}
