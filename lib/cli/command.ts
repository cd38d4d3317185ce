/**
 * Commander's `Command` under a documented name of our own. The command builders' signatures
 * name it; re-exporting commander's class itself would put all of commander's (partly
 * undocumented) API into these docs. Same class, same type: nothing else changes.
 * @module
 */
import { Command as Commander } from "commander";

/** A command of the s3duct program: what each `*Command()` builds and `add*Options` extends. */
export type Command = Commander;
/** Commander's `Command` class, to build a (sub)command with `new Command(name)`. */
export const Command: new (name?: string) => Command = Commander;
