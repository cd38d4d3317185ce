/**
 * put's Object Lock flags (`--object-lock-mode`, `--retain-until`, `--retain-for`,
 * `--legal-hold`) and delete/cleanup's `--bypass-governance`, parsed into typed settings.
 * Pure apart from the clock passed in, so every rule is unit-tested.
 */
import { Option } from "commander";
import type { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import type { LockMode, LockSettings } from "../store/object_lock.ts";
import type { RawOptions } from "./common.ts";

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, y: 365 * 86_400_000 };
/** S3 accepts retention up to 100 years; a longer one is surely a typo. */
const MAX_MS = 100 * UNIT_MS.y;
/** RFC 3339 date-time with an explicit offset (Z or +hh:mm): no local-time guessing. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Adds put's lock flags. */
export function addLockOptions(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      "--object-lock-mode <mode>",
      "S3 Object Lock retention for every object of the stream (bucket must have Object " +
        "Lock enabled); needs --retain-until or --retain-for",
    ).choices(["GOVERNANCE", "COMPLIANCE"]),
  ).option(
    "--retain-until <date>",
    "retain every object until this RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z",
  ).option(
    "--retain-for <duration>",
    "retain every object for this long from the start of the put: 12h, 30d, 1y",
  ).option("--legal-hold", "put a legal hold on every object (no date; removed by hand)");
}

/** Adds `--bypass-governance` (delete, cleanup). */
export function addBypassOption(cmd: Command): Command {
  return cmd.option(
    "--bypass-governance",
    "also delete objects under a GOVERNANCE retention (sends x-amz-bypass-governance-retention; " +
      "needs the s3:BypassGovernanceRetention permission); COMPLIANCE and legal holds never go",
  );
}

/**
 * The lock a put asked for, or undefined for none.
 * @param now the put's start: `--retain-for` counts from it, and a date must lie after it
 * @throws {UsageError} naming the flag and what it accepts
 */
export function lockSettingsOf(o: RawOptions, now: Date): LockSettings | undefined {
  const mode = o.objectLockMode === undefined ? undefined : modeOf(String(o.objectLockMode));
  const until = o.retainUntil === undefined ? undefined : String(o.retainUntil);
  const forText = o.retainFor === undefined ? undefined : String(o.retainFor);
  const legalHold = o.legalHold === true;
  if (until !== undefined && forText !== undefined) {
    throw new UsageError("--retain-until and --retain-for cannot be combined; give one");
  }
  if (mode === undefined) {
    if (until !== undefined || forText !== undefined) {
      throw new UsageError(
        `${until !== undefined ? "--retain-until" : "--retain-for"} needs ` +
          "--object-lock-mode GOVERNANCE or COMPLIANCE",
      );
    }
    return legalHold ? { legalHold } : undefined;
  }
  if (until === undefined && forText === undefined) {
    throw new UsageError(
      `--object-lock-mode ${mode} needs --retain-until DATE or --retain-for DURATION (30d)`,
    );
  }
  const retainUntil = until !== undefined ? parseUntil(until, now) : after(now, forText!);
  return { mode, retainUntil, legalHold };
}

/** A duration like `30d`, `12h`, `1y` in milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([hdy])\s*$/i.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2].toLowerCase()];
  return ms > 0 ? ms : undefined;
}

function after(now: Date, text: string): Date {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new UsageError(
      `--retain-for '${text}' is not a duration; use a whole number of hours, days or years: ` +
        "12h, 30d, 1y",
    );
  }
  if (ms > MAX_MS) throw new UsageError(`--retain-for '${text}' is over 100 years`);
  return new Date(now.getTime() + ms);
}

function parseUntil(text: string, now: Date): Date {
  const d = RFC3339.test(text.trim()) ? new Date(text.trim()) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new UsageError(
      `--retain-until '${text}' is not an RFC 3339 date-time with an offset; ` +
        "e.g. 2027-01-31T00:00:00Z",
    );
  }
  if (d.getTime() <= now.getTime()) {
    throw new UsageError(`--retain-until '${text}' is not in the future`);
  }
  if (d.getTime() - now.getTime() > MAX_MS) {
    throw new UsageError(`--retain-until '${text}' is over 100 years away`);
  }
  return d;
}

function modeOf(v: string): LockMode {
  const m = v.toUpperCase();
  if (m !== "GOVERNANCE" && m !== "COMPLIANCE") {
    throw new UsageError(`--object-lock-mode must be GOVERNANCE or COMPLIANCE, got '${v}'`);
  }
  return m;
}
