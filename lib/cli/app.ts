/**
 * The command tree. Help goes to stdout; a parse error is a CommanderError, which main.ts
 * turns into exit 2 (Commander has printed its message already).
 */
import { Command } from "./command.ts";
import { VERSION } from "../version.ts";
import { writeText } from "../ui/log.ts";
import { escapeLines } from "../ui/escape.ts";
import { outputFailure } from "../ui/stdout.ts";
import { checkStdin } from "./input.ts";
import { cleanupCommand } from "./cleanup.ts";
import { completionCommand } from "./completion.ts";
import { deleteCommand } from "./delete.ts";
import { getCommand } from "./get.ts";
import { keygenCommand } from "./keygen.ts";
import { listCommand } from "./list.ts";
import { putCommand } from "./put.ts";
import { restoreCommand } from "./restore.ts";
import { verifyCommand } from "./verify.ts";

/**
 * Commander's writer for help (stdout) and its errors (stderr). A help text that stdout cannot
 * take (`s3duct --help > /dev/full`) fails like any other stdout write (exit 12, or 141 for a
 * reader that left), not as an unexpected failure.
 */
const write = (f: { writeSync(p: Uint8Array): number }) => (s: string) => {
  try {
    writeText(f, s);
  } catch (e) {
    if (f === Deno.stdout) throw outputFailure(e);
    throw e;
  }
};

/** The exit-code list appended to every --help (README "Exit codes" in short). */
export const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 integrity failure,
5 key problem (missing, wrong, wrong kind), 6 access/credentials, 7 store unreachable or failing,
8 stream already exists, 9 archived chunks not restored (run 's3duct restore'),
10 the put --from-command producer failed (nothing published), 11 resume refused,
12 stdout cannot be written (disk full, closed), 13 stdin cannot be read (a directory),
14 Object Lock forbids deleting yet (nothing deleted), 130 interrupted, 141 output closed by the
reader.
`;

/** The `s3duct` program with every command; parse errors are CommanderErrors (see main.ts). */
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
      // Commander's messages quote the arguments given; escaped like every other error line.
      outputError: (str, w) => w(escapeLines(`s3duct: ${str.replace(/^error: /, "")}`)),
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
    // put reads stdin: a directory there is refused before any key, store or option work.
    if (cmd.name() === "put") {
      cmd.hook("preAction", (_, action) => {
        if (action.opts().fromCommand === undefined) checkStdin();
      });
    }
    program.addCommand(
      cmd.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError(
        `(run 's3duct ${cmd.name()} --help' for usage)`,
      ).addHelpText("after", EXIT_CODES_HELP),
    );
  }
  return program;
}
