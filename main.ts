/**
 * s3duct entry point: argv -> command -> exit code. The only place that prints an error.
 */
import { CommanderError } from "commander";
import { buildApp } from "./lib/cli/app.ts";
import { ExitCode, OutputClosedError, S3ductError } from "./lib/errors.ts";
import { clip, escapeForTerminal } from "./lib/ui/escape.ts";
import { writeStderr } from "./lib/ui/log.ts";
import { finishRun } from "./lib/metrics/run.ts";

/** Run the CLI with these arguments; resolves to the process exit code. */
export async function run(args: string[]): Promise<number> {
  let code: number;
  try {
    await buildApp().parseAsync(args, { from: "user" });
    code = ExitCode.OK;
  } catch (e) {
    code = report(e);
  }
  // Every outcome, the error paths included, reaches --metrics-file (once) with its code.
  for (const w of finishRun(code)) writeStderr(`warning: ${escapeForTerminal(w)}`);
  return code;
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return ExitCode.OK;
    // `s3duct help` asked for it (0); `s3duct` with no command got the usage instead (1).
    if (e.code === "commander.help") return e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    return ExitCode.USAGE;
  }
  const denied = permissionProblem(e);
  if (denied) {
    printError(denied);
    return ExitCode.ACCESS;
  }
  // A reader that stops early (`get | head`) is not an error worth a message; the code says it.
  if (e instanceof OutputClosedError) return e.exitCode;
  if (e instanceof S3ductError) {
    printError(e.message);
    return e.exitCode;
  }
  const detail = e instanceof Error ? e.message : String(e);
  printError(`unexpected failure: ${detail} (set S3DUCT_DEBUG=1 for details)`);
  if (debugWanted()) console.error(e);
  return ExitCode.ERROR;
}

/** Longest error line: messages quote store text, which must not flood the terminal. */
const MAX_ERROR_CHARS = 4000;

/**
 * The one error line. Messages quote names, keys and S3 error codes from the store, so they are
 * escaped here (no control character, no second line) and clipped.
 */
function printError(message: string): void {
  writeStderr(`s3duct: error: ${escapeForTerminal(clip(message, MAX_ERROR_CHARS))}`);
}

/** S3DUCT_DEBUG is set (false, too, when Deno may not read it). */
function debugWanted(): boolean {
  try {
    return !!Deno.env.get("S3DUCT_DEBUG");
  } catch {
    return false;
  }
}

/**
 * A Deno permission refusal anywhere in the cause chain, as one line naming the flag, e.g.
 * `Deno was not given --allow-net for 127.0.0.1:8000; ...`. Deno's message reads
 * `Requires net access to "127.0.0.1:8000", run again with the --allow-net flag`.
 */
export function permissionProblem(e: unknown): string | undefined {
  for (let c = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    const notCapable = c instanceof Deno.errors.NotCapable;
    if (!notCapable && !(c instanceof Deno.errors.PermissionDenied)) continue;
    const m = /requires\s+(\w+)\s+access(?:\s+to\s+"?([^",]*)"?)?/i.exec(c.message);
    const flag = /--allow-[a-z-]+/.exec(c.message)?.[0] ??
      (m ? `--allow-${m[1].toLowerCase()}` : "");
    if (flag) {
      const target = m?.[2] ? ` for ${m[2]}` : "";
      return `Deno was not given ${flag}${target}; re-run with it (see README "Least-privilege")`;
    }
    // An operating-system refusal (EACCES), not a Deno flag.
    return `permission denied: ${c.message.split("\n")[0]}`;
  }
  return undefined;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
