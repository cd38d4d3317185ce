/**
 * s3duct entry point: argv -> command -> exit code. The only place that prints an error.
 */
import { CommanderError } from "commander";
import { buildApp } from "./lib/cli/app.ts";
import { ExitCode, OutputClosedError, S3ductError } from "./lib/errors.ts";
import { writeStderr } from "./lib/ui/log.ts";

/** Run the CLI with these arguments; resolves to the process exit code. */
export async function run(args: string[]): Promise<number> {
  try {
    await buildApp().parseAsync(args, { from: "user" });
    return ExitCode.OK;
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return ExitCode.OK;
    if (e.code === "commander.help") return ExitCode.OK;
    return ExitCode.USAGE;
  }
  // A reader that stops early (`get | head`) is not an error worth a message; the code says it.
  if (e instanceof OutputClosedError) return e.exitCode;
  if (e instanceof S3ductError) {
    writeStderr(`s3duct: error: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    writeStderr(`s3duct: error: permission denied: ${(e as Error).message}`);
    return ExitCode.ACCESS;
  }
  const detail = e instanceof Error ? e.message : String(e);
  writeStderr(`s3duct: error: unexpected failure: ${detail} (set S3DUCT_DEBUG=1 for details)`);
  if (Deno.env.get("S3DUCT_DEBUG")) console.error(e);
  return ExitCode.ERROR;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
