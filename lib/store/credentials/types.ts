/**
 * Shared types of the credential chain, and the injectable environment every source reads
 * through (so tests can substitute env vars, files, HTTP, processes and the clock).
 */

import { AccessError } from "../../errors.ts";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working; absent = long-lived. */
  expiration?: Date;
}

/** Hands out current credentials, refreshing temporary ones before they expire. */
export interface CredentialProvider {
  get(): Promise<Credentials>;
  /** Where the credentials come from, for messages, e.g. "environment", "profile 'x'". */
  readonly source: string;
}

export interface ProcessResult {
  code: number;
  stdout: string;
}

/** What resolution may read; injectable for tests. Optional members default to the real ones. */
export interface AwsEnvironment {
  env(name: string): string | undefined;
  readText(path: string): Promise<string | undefined>;
  fetch?: typeof fetch;
  /** Run argv[0] with the rest as arguments; stderr goes to ours. */
  run?(argv: string[]): Promise<ProcessResult>;
  /** Milliseconds since the epoch. */
  now?(): number;
}

/** An AwsEnvironment with every member present. */
export interface AwsContext {
  env(name: string): string | undefined;
  readText(path: string): Promise<string | undefined>;
  fetch: typeof fetch;
  run(argv: string[]): Promise<ProcessResult>;
  now(): number;
}

/** A source that is simply not there (no metadata service): the chain moves on. */
export class CredentialsUnavailable extends AccessError {}

/** A source's way to obtain a fresh set of credentials. */
export type Loader = () => Promise<Credentials>;

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

export function contextOf(aws: AwsEnvironment): AwsContext {
  return {
    env: (n) => aws.env(n),
    readText: (p) => aws.readText(p),
    fetch: aws.fetch ?? ((input, init) => fetch(input, init)),
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
