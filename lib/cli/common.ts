/**
 * The option flags several commands share, and the value checks their parsers use. The flags
 * are parsed into typed settings in lib/cli/settings.ts (store, output, keys) and
 * lib/cli/transfer_settings.ts.
 */
import { Option } from "commander";
import type { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { prefixProblem } from "../format/layout.ts";
import { parseSize } from "../format/size.ts";
import { addSseKeyOption } from "./sse_options.ts";

/**
 * Raw option values as commander gives them (camelCase of the flags); only the `*Settings()`
 * parsers read them.
 */
export type RawOptions = Record<string, unknown>;

/** --bucket (and --name unless `withName` is false), --prefix and how to reach the store. */
export function addStoreOptions(cmd: Command, withName = true): Command {
  cmd.requiredOption(
    "--bucket <bucket>",
    "bucket name (a folder under the root for file:// stores)",
  );
  if (withName) {
    cmd.requiredOption("--name <name>", "stream name, e.g. db/nightly (may contain '/')");
  }
  addSseKeyOption(cmd);
  return cmd
    .option("--prefix <prefix>", "key prefix the stream lives under (e.g. backups/2026)")
    .option(
      "--endpoint-url <url>",
      "S3 endpoint (http[s]://host:port, path-style) or file:///dir for a local directory store; default AWS",
    )
    .option(
      "--region <region>",
      "region (default: AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1)",
    )
    .option(
      "--ca-bundle <file>",
      "PEM file of CAs to trust for https endpoints and proxies, besides Deno's roots (default: AWS_CA_BUNDLE)",
    )
    .option("--retries <n>", "retries per request after the first attempt, 0 = none", "10")
    .option(
      "--request-timeout <seconds>",
      "give up on a request attempt (and retry it) after this long without any data moving",
      "60",
    );
}

/** -q, -v, --progress and (unless `summary` is false) --summary. */
export function addOutputOptions(cmd: Command, summary = true): Command {
  cmd.option(
    "-q, --quiet",
    "print nothing but errors (and the summary asked for with --summary json)",
  )
    .option("-v, --verbose", "print each chunk as it is processed")
    .addOption(
      new Option("--progress <mode>", "progress display (accepted for s3duct 0.4 compatibility)")
        .choices(["auto", "rich", "plain", "none"]).default("auto"),
    );
  if (summary) {
    cmd.addOption(
      new Option("--summary <format>", "summary on stderr when done").choices([
        "text",
        "json",
        "none",
      ])
        .default("text"),
    );
  }
  return cmd;
}

/** --key and --age-identity; for put also --age-recipient and --age-recipients-file. */
export function addKeyOptions(cmd: Command, forPut = false): Command {
  cmd.option(
    "--key <spec>",
    "AES-256 key: env:VAR (hex in a variable), file:PATH (32 raw bytes or 64 hex), or hex:HEX (visible in ps; avoid)",
  ).option(
    "--age-identity <file>",
    forPut
      ? "age identity file (age-keygen format); encrypts to its recipient (repeatable)"
      : "age identity file to decrypt with (repeatable; each is tried)",
    collect,
    [],
  );
  if (forPut) {
    cmd.option(
      "--age-recipient <age1...>",
      "encrypt to this age recipient, X25519 or post-quantum age1pq1 (repeatable; no private key needed)",
      collect,
      [],
    ).option(
      "--age-recipients-file <file>",
      "encrypt to every recipient listed in this file (repeatable)",
      collect,
      [],
    );
  }
  return cmd;
}

/** Commander's accumulator for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** UsageError for a --prefix s3duct cannot use. */
export function checkPrefix(prefix: string): void {
  const problem = prefixProblem(prefix);
  if (problem) throw new UsageError(`--prefix ${problem}`);
}

/** A whole-number option within [min, max], else UsageError naming the flag. */
export function intOption(v: unknown, flag: string, min: number, max: number): number {
  const s = String(v);
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${s}'`);
  }
  return n;
}

/** A size option (`64M`, `1.5G`...) within [min, max] bytes, else UsageError naming the flag. */
export function sizeOption(v: unknown, flag: string, min: number, max: number): number {
  const n = parseSize(String(v));
  if (n === undefined) {
    throw new UsageError(`${flag} '${v}' is not a size; use bytes or a suffix: 64M, 64MiB, 1.5G`);
  }
  if (n < min || n > max) {
    throw new UsageError(`${flag} '${v}' is out of range (${min} bytes to ${max} bytes)`);
  }
  return n;
}
