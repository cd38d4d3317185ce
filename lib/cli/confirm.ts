/** Asking before a destructive command (delete, cleanup) deletes anything. */
import { S3ductError, UsageError } from "../errors.ts";

/**
 * Ask on a terminal; anything but y/yes declines. Not a terminal: refuse, since a script must
 * say --force to delete without asking. `command` names the command in that refusal.
 */
export async function confirm(question: string, command: string): Promise<void> {
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      `stdin is not a terminal, so ${command} cannot ask for confirmation: add --force to delete without asking (or --dry-run to see what would go)`,
    );
  }
  await Deno.stderr.write(new TextEncoder().encode(`${question} [y/N] `));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  const answer = n === null ? "" : new TextDecoder().decode(buf.subarray(0, n)).trim();
  if (!/^y(es)?$/i.test(answer)) throw new S3ductError("not confirmed; nothing deleted");
}
