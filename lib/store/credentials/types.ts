/**
 * Shared types of the credential chain, and the injectable environment every source reads
 * through (so tests can substitute env vars, files, HTTP, processes and the clock).
 */

import { AccessError, CredentialsUnavailable } from "../../errors.ts";
import { http1Fetch } from "../http1_fetch.ts";
import { DIRECT, type Network } from "../network.ts";

/** One set of AWS credentials, as every source produces them. */
export interface Credentials {
  /** The access key id (`AKIA...`, or `ASIA...` for temporary credentials). */
  accessKeyId: string;
  /** The secret access key; never logged or put in a message. */
  secretAccessKey: string;
  /** The session token that temporary credentials come with. */
  sessionToken?: string;
  /** When temporary credentials stop working; absent = long-lived. */
  expiration?: Date;
}

/** Hands out current credentials, refreshing temporary ones before they expire. */
export interface CredentialProvider {
  /** Credentials valid now: cached, or freshly loaded when they are near their expiration. */
  get(): Promise<Credentials>;
  /** Where the credentials come from, for messages, e.g. "environment", "profile 'x'". */
  readonly source: string;
}

/** What a `credential_process` run returned. */
export interface ProcessResult {
  /** The process's exit code. */
  code: number;
  /** Its standard output, decoded as UTF-8 (the credentials JSON). */
  stdout: string;
}

/** What resolution may read; injectable for tests. Optional members default to the real ones. */
export interface AwsEnvironment {
  /** An environment variable, or undefined when unset. */
  env(name: string): string | undefined;
  /** A file's text, or undefined when it does not exist (config, credentials, token files). */
  readText(path: string): Promise<string | undefined>;
  /**
   * HTTP for the metadata services, STS and SSO; default our own transport over `network`
   * (lib/store/http1_fetch.ts: the store's proxy and CA rules, metadata services direct).
   */
  fetch?: typeof fetch;
  /** Proxies and CAs for the default `fetch`; default direct with Deno's roots. */
  network?: Network;
  /** Run argv[0] with the rest as arguments; stderr goes to ours. */
  run?(argv: string[]): Promise<ProcessResult>;
  /** Milliseconds since the epoch. */
  now?(): number;
}

/** An AwsEnvironment with every member present. */
export interface AwsContext {
  /** An environment variable, or undefined when unset. */
  env(name: string): string | undefined;
  /** A file's text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /** HTTP for the metadata services, STS and SSO. */
  fetch: typeof fetch;
  /** Runs argv[0] with the rest as arguments (stdin empty, stderr ours). */
  run(argv: string[]): Promise<ProcessResult>;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A source that is simply not there (no metadata service): the chain moves on. */
export { CredentialsUnavailable };

/** A source's way to obtain a fresh set of credentials. */
export type Loader = () => Promise<Credentials>;

/** The process's own environment variables and files (the rest default to the real ones too). */
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

/**
 * `aws` with its missing members filled in: fetch over http1.ts with `aws.network`, a real
 * process runner, Date.now.
 */
export function contextOf(aws: AwsEnvironment): AwsContext {
  return {
    env: (n) => aws.env(n),
    readText: (p) => aws.readText(p),
    fetch: aws.fetch ?? http1Fetch(aws.network ?? DIRECT),
    run: aws.run ?? runProcess,
    now: aws.now ?? Date.now,
  };
}

async function runProcess(argv: string[]): Promise<ProcessResult> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** A trimmed non-empty string, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

export { isPermissionError } from "../../errors.ts";

/** A short, secret-free description of a failed request, e.g. for an unreachable endpoint. */
export function reason(e: unknown): string {
  if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
    return "timed out";
  }
  return e instanceof Error ? e.message : String(e);
}

/** Parse an expiration (ISO 8601 string or epoch seconds/milliseconds); undefined if absent. */
export function parseExpiration(v: unknown, what: string): Date | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const d = typeof v === "number" ? new Date(v < 1e12 ? v * 1000 : v) : new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new AccessError(`${what}: Expiration '${v}' is not a date`);
  return d;
}
