/**
 * `--metrics-file PATH` (put, get, verify, delete, cleanup): Prometheus text for node_exporter's
 * textfile collector, written when the run ends, whatever its outcome (lib/metrics/run.ts).
 */
import type { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { normalizePrefix } from "../format/layout.ts";
import { startRun } from "../metrics/run.ts";
import type { RawOptions } from "./common.ts";

/**
 * Add --metrics-file, and start the run's report before the command's action, so a usage
 * error inside the action is reported too (exit 2). A command line commander itself refuses
 * never ran, and writes nothing.
 * @param cmd one of put, get, verify, delete, cleanup
 * @returns the command
 */
export function addMetricsOption(cmd: Command): Command {
  return cmd.option(
    "--metrics-file <path>",
    "write Prometheus metrics of this run (node_exporter textfile format, e.g. " +
      "/var/lib/node_exporter/s3duct.prom) when it ends, on success and on failure; other " +
      "jobs' metrics in the file are kept",
  ).hook("preAction", (_, action) => {
    const o = action.opts() as RawOptions;
    if (o.metricsFile === undefined) return;
    startRun(checkedPath(String(o.metricsFile)), {
      // verify and verify --deep are different jobs (cost, what they prove): own series.
      command: action.name() + (o.deep ? "-deep" : ""),
      bucket: String(o.bucket ?? ""),
      prefix: normalizePrefix(o.prefix === undefined ? undefined : String(o.prefix)),
      stream: o.name === undefined ? "" : String(o.name),
    });
  });
}

/** The path, once its directory is known to exist (a typo fails now, not after the work). */
function checkedPath(path: string): string {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  if (!isDirectory(dir) || isDirectory(path)) {
    throw new UsageError(`--metrics-file '${path}': not a file in an existing directory`);
  }
  return path;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e; // a missing permission: main.ts names the flag
  }
}
