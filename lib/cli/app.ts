/** The command tree. Help goes to stdout; parse errors become UsageError in main.ts. */
import { Command } from "commander";
import { VERSION } from "../version.ts";
import { writeText } from "../ui/log.ts";
import { cleanupCommand } from "./cleanup.ts";
import { completionCommand } from "./completion.ts";
import { deleteCommand } from "./delete.ts";
import { getCommand } from "./get.ts";
import { keygenCommand } from "./keygen.ts";
import { listCommand } from "./list.ts";
import { putCommand } from "./put.ts";
import { restoreCommand } from "./restore.ts";
import { verifyCommand } from "./verify.ts";

const write = (f: { writeSync(p: Uint8Array): number }) => (s: string) => writeText(f, s);

export const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 integrity failure,
5 key problem (missing, wrong, wrong kind), 6 access/credentials, 7 store unreachable or failing,
8 stream already exists, 9 archived chunks not restored (run 's3duct restore'),
10 the put --from-command producer failed (nothing published), 11 resume refused,
130 interrupted, 141 output closed by the reader.
`;

export function buildApp(): Command {
  const program = new Command("s3duct")
    .description(
      "Pipe an unbounded stream into S3-compatible storage (or a local directory) and back, " +
        "as hashed, chained, optionally encrypted chunks. Wire-compatible with s3duct 0.4.",
    )
    .version(`s3duct ${VERSION}`, "-V, --version")
    .exitOverride()
    .configureOutput({
      writeOut: write(Deno.stdout),
      writeErr: write(Deno.stderr),
      outputError: (str, w) => w(`s3duct: ${str.replace(/^error: /, "")}`),
    })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP);
  for (
    const cmd of [
      putCommand(),
      getCommand(),
      listCommand(),
      verifyCommand(),
      deleteCommand(),
      cleanupCommand(),
      restoreCommand(),
      keygenCommand(),
      completionCommand(),
    ]
  ) {
    program.addCommand(
      cmd.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError(
        `(run 's3duct ${cmd.name()} --help' for usage)`,
      ).addHelpText("after", EXIT_CODES_HELP),
    );
  }
  return program;
}
