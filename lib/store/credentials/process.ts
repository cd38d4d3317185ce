/**
 * `credential_process`: run the configured command (split like a shell would, no shell
 * involved) and read its JSON "Version 1" output from stdout.
 */
import { AccessError } from "../../errors.ts";
import {
  type AwsContext,
  type Credentials,
  isPermissionError,
  type Loader,
  parseExpiration,
  reason,
  str,
} from "./types.ts";

/** Split a command line: whitespace separates, '...' and "..." quote, \ escapes outside '...'. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let started = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(cur);
      cur = "";
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (quote) throw new AccessError("credential_process has an unterminated quote");
  if (started) out.push(cur);
  return out;
}

/** A loader running `command`; `where` names the profile for messages. */
export function processLoader(ctx: AwsContext, command: string, where: string): Loader {
  return async () => {
    const argv = splitCommand(command);
    if (argv.length === 0) throw new AccessError(`credential_process of ${where} is empty`);
    const what = `credential_process '${argv[0]}' of ${where}`;
    let result;
    try {
      result = await ctx.run(argv);
    } catch (e) {
      if (isPermissionError(e)) throw e;
      throw new AccessError(`${what} could not be started: ${reason(e)}`);
    }
    if (result.code !== 0) {
      throw new AccessError(`${what} failed with exit code ${result.code}`);
    }
    return parseProcessOutput(result.stdout, what, ctx.now());
  };
}

/** Validate the JSON a credential process printed; never echoes it (it holds secrets). */
export function parseProcessOutput(stdout: string, what: string, now: number): Credentials {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new AccessError(`${what} did not print JSON`);
  }
  if (typeof doc !== "object" || doc === null) throw new AccessError(`${what}: not a JSON object`);
  if (doc.Version !== 1) {
    throw new AccessError(`${what}: unsupported Version ${JSON.stringify(doc.Version)} (need 1)`);
  }
  const id = str(doc.AccessKeyId);
  const secret = str(doc.SecretAccessKey);
  if (!id || !secret) throw new AccessError(`${what}: AccessKeyId or SecretAccessKey missing`);
  const expiration = parseExpiration(doc.Expiration, what);
  if (expiration && expiration.getTime() <= now) {
    throw new AccessError(
      `${what} returned credentials that expired at ${expiration.toISOString()}`,
    );
  }
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: str(doc.SessionToken),
    expiration,
  };
}
