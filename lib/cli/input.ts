/** What `put` reads: stdin must be something that yields a stream of bytes. */
import { fstatSync } from "node:fs";
import { InputError } from "../errors.ts";

/** The facts about fd 0 that decide; injectable for tests. */
export interface StdinFacts {
  /** True when fd 0 is a directory, which `put` refuses to read. */
  isDirectory(): boolean;
}

/**
 * InputError (13) when stdin is a directory (`s3duct put ... < /srv`), before anything else
 * happens: reading it fails with EISDIR only once the store and keys are set up, and that error
 * said nothing about stdin. node:fs's fstat of fd 0 needs no Deno permission, so least-privilege
 * runs get the check too. An fstat that fails says nothing here: the read will tell.
 */
export function checkStdin(stat: () => StdinFacts = () => fstatSync(0)): void {
  let facts: StdinFacts;
  try {
    facts = stat();
  } catch {
    return;
  }
  if (facts.isDirectory()) {
    throw new InputError(
      "stdin is a directory, not a stream of bytes; pipe an archive of it instead, e.g. " +
        "tar cf - DIR | s3duct put ...",
    );
  }
}
