/** Pick the store for `--endpoint-url`: `file:///dir` is a local directory, anything else S3. */
import { UsageError } from "../errors.ts";
import { realAwsEnvironment, resolveAws } from "./credentials.ts";
import { networkOf } from "./network.ts";
import { hostPort, proxyFor } from "./proxy.ts";
import { FsStore } from "./fs_store.ts";
import type { RetryPolicy } from "./retry.ts";
import { s3Address } from "./s3_address.ts";
import { S3Store } from "./s3_store.ts";
import type { Store } from "./store.ts";
import { locks, type LockSettings } from "./object_lock.ts";
import type { SseSettings } from "./sse.ts";

/** The store options of every command (`--bucket`, `--endpoint-url`, `--region`, retries). */
export interface StoreOptions {
  /** The bucket name (for a local directory store: the folder under the endpoint's path). */
  bucket: string;
  /** `http(s)://host[:port]` of an S3-compatible service, or `file:///dir` for a local store. */
  endpointUrl?: string;
  /** AWS region; undefined resolves it like the AWS SDKs (env, profile, default). */
  region?: string;
  /** How transient failures are retried. */
  retry: RetryPolicy;
  /** Idle timeout per request attempt (S3 only). */
  timeoutMs?: number;
  /** `--ca-bundle`: a PEM file of CAs to trust besides Deno's roots (else AWS_CA_BUNDLE). */
  caBundle?: string;
  /** Object Lock for every object written (put's lock flags; S3 only). */
  lock?: LockSettings;
  /** Server-side encryption (`--sse`, `--sse-c-key`; S3 only). */
  sse?: SseSettings;
}

/**
 * The store `opts` name: a local directory for `file:///`, else S3 with resolved credentials.
 * @throws {UsageError} A malformed bucket name or endpoint URL.
 */
export async function openStore(opts: StoreOptions): Promise<Store> {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$/.test(opts.bucket)) {
    throw new UsageError(`--bucket '${opts.bucket}' is not a valid bucket name`);
  }
  const url = opts.endpointUrl;
  if (url?.startsWith("file:")) return openFsStore(url, opts);
  if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) {
    throw new UsageError(
      `--endpoint-url '${url}' must be http://host[:port], https://host[:port] or file:///dir`,
    );
  }
  return await openS3Store(url, opts);
}

/** The local directory store at the `file:///` URL `url`, refusing the S3-only options. */
function openFsStore(url: string, opts: StoreOptions): FsStore {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    throw new UsageError(`--endpoint-url '${url}' is not a valid file:// URL`);
  }
  if (!url.startsWith("file:///") || path === "") {
    throw new UsageError("--endpoint-url for a local directory must be file:///absolute/path");
  }
  if (opts.sse) {
    throw new UsageError(
      "--sse and --sse-c-key ask an S3 server to encrypt; the local-directory store " +
        "(file://) has no server-side encryption: drop them, or use --key",
    );
  }
  if (locks(opts.lock)) {
    throw new UsageError(
      "the local directory store does not support Object Lock: drop --object-lock-mode, " +
        "--retain-until, --retain-for and --legal-hold, or put to an S3 bucket with Object Lock",
    );
  }
  return new FsStore(path, opts.bucket);
}

/** The S3 store at `url` (undefined: AWS), once credentials resolve and net access is granted. */
async function openS3Store(url: string | undefined, opts: StoreOptions): Promise<S3Store> {
  // Proxies and CAs, read once: the store's transport and the credential chain share them.
  const network = await networkOf(opts.caBundle);
  const aws = await resolveAws(opts.region, { ...realAwsEnvironment, network });
  // The host S3Store will talk to: the same rule as its constructor's.
  const { base } = s3Address(opts.bucket, aws.region, url);
  // Through a proxy, the connection Deno checks is the one to the proxy.
  const proxy = proxyFor(new URL(`${base.protocol}//${base.host}`), network.proxies);
  await needNet(proxy ? hostPort(proxy.url) : base.host);
  return new S3Store({
    bucket: opts.bucket,
    region: aws.region,
    credentials: aws.provider,
    endpoint: url,
    retry: opts.retry,
    timeoutMs: opts.timeoutMs,
    network,
    sse: opts.sse,
    lock: opts.lock,
  });
}

/**
 * Fail fast, before any request, when Deno may not reach the store: a refused fetch would
 * otherwise look like a network failure and be retried. main.ts names the missing flag.
 */
async function needNet(host: string): Promise<void> {
  const desc = { name: "net", host } as const;
  let state = (await Deno.permissions.query(desc)).state;
  if (state === "prompt") state = (await Deno.permissions.request(desc)).state;
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires net access to "${host}", run again with the --allow-net flag`,
    );
  }
}
