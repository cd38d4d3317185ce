/**
 * S3 Object Lock, pure: the headers a locked PUT carries, the XML bodies of PutObjectRetention
 * and PutObjectLegalHold, and parsing what the server answers (HEAD headers, GetObjectRetention,
 * GetObjectLegalHold, GetObjectLockConfiguration). No I/O, so every rule is unit-tested.
 */
import { XMLParser } from "fast-xml-parser";
import { createHash } from "node:crypto";

/** S3's two retention modes: GOVERNANCE can be bypassed with a permission, COMPLIANCE never. */
export type LockMode = "GOVERNANCE" | "COMPLIANCE";

/**
 * The lock an object carries, or a put gives every object it writes: a retention (mode and
 * date, both or neither) and a legal hold.
 */
export interface LockSettings {
  /** Retention mode; undefined = no retention. */
  mode?: LockMode;
  /** Retain until this instant (set exactly when `mode` is). */
  retainUntil?: Date;
  /** Legal hold on (no date; stays until turned off). */
  legalHold: boolean;
}

/** A bucket's default retention rule (PutObjectLockConfiguration). */
export interface DefaultRetention {
  /** The mode new objects get. */
  mode: LockMode;
  /** The period, in days (S3 gives days or years; years are turned into days here). */
  days: number;
}

/** What GetObjectLockConfiguration says about a bucket. */
export interface BucketLock {
  /** Object Lock is enabled on the bucket (only possible when it was created so). */
  enabled: boolean;
  /** The default retention new objects get without lock headers, if any. */
  rule?: DefaultRetention;
}

/** One version of an object, or a delete marker, as ListObjectVersions gives it. */
export interface ObjectVersion {
  /** The object's full key. */
  key: string;
  /** The version id (`null` for one written before versioning was enabled). */
  versionId: string;
  /** True for a delete marker (no data; hides the versions below it). */
  deleteMarker: boolean;
  /** True for the key's current version (or marker). */
  isLatest: boolean;
  /** Stored size in bytes (0 for a delete marker). */
  size: number;
}

/** One version to delete. */
export interface VersionRef {
  /** The object's full key. */
  key: string;
  /** Its version id. */
  versionId: string;
}

/** The outcome of deleting versions: each refused one with the store's reason. */
export interface VersionDeleteReport {
  /** Versions deleted (or already gone). */
  deleted: VersionRef[];
  /** Versions the store refused (AccessDenied: still locked), with its error code. */
  failed: (VersionRef & { reason: string })[];
}

const xml = new XMLParser({ parseTagValue: false, removeNSPrefix: true });

/** True when the settings lock anything at all. */
export function locks(s: LockSettings | undefined): s is LockSettings {
  return s !== undefined && (s.mode !== undefined || s.legalHold);
}

/** The request headers of a PUT that writes an object with this lock. */
export function lockHeaders(s: LockSettings): Record<string, string> {
  const h: Record<string, string> = {};
  if (s.mode && s.retainUntil) {
    h["x-amz-object-lock-mode"] = s.mode;
    h["x-amz-object-lock-retain-until-date"] = s.retainUntil.toISOString();
  }
  if (s.legalHold) h["x-amz-object-lock-legal-hold"] = "ON";
  return h;
}

/**
 * Content-MD5 (base64) of a body: AWS refuses a PUT or part of a locked object without it
 * (or an x-amz-checksum-*); Ceph does not ask, but checks it when sent.
 */
export function contentMd5(body: Uint8Array): string {
  return createHash("md5").update(body).digest("base64");
}

/** The lock a HEAD (or GET) response reports through its x-amz-object-lock-* headers. */
export function lockFromHeaders(h: Headers): LockSettings {
  const mode = modeOf(h.get("x-amz-object-lock-mode") ?? undefined);
  const until = dateOf(h.get("x-amz-object-lock-retain-until-date") ?? undefined);
  return {
    ...(mode && until ? { mode, retainUntil: until } : {}),
    legalHold: (h.get("x-amz-object-lock-legal-hold") ?? "").toUpperCase() === "ON",
  };
}

/** PutObjectRetention's body. */
export function retentionXml(mode: LockMode, until: Date): string {
  return `<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>${mode}</Mode>` +
    `<RetainUntilDate>${until.toISOString()}</RetainUntilDate></Retention>`;
}

/** PutObjectLegalHold's body. */
export function legalHoldXml(on: boolean): string {
  return `<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${
    on ? "ON" : "OFF"
  }</Status></LegalHold>`;
}

/** GetObjectRetention's answer: mode and date, or undefined when it names none. */
export function parseRetention(text: string): { mode: LockMode; retainUntil: Date } | undefined {
  const r = xml.parse(text)?.Retention;
  const mode = modeOf(r?.Mode);
  const until = dateOf(r?.RetainUntilDate);
  return mode && until ? { mode, retainUntil: until } : undefined;
}

/** GetObjectLegalHold's answer: true for Status ON. */
export function parseLegalHold(text: string): boolean {
  return String(xml.parse(text)?.LegalHold?.Status ?? "").toUpperCase() === "ON";
}

/** GetObjectLockConfiguration's answer (Ceph sends it without an xmlns; AWS with one). */
export function parseLockConfiguration(text: string): BucketLock {
  const c = xml.parse(text)?.ObjectLockConfiguration;
  const enabled = String(c?.ObjectLockEnabled ?? "") === "Enabled";
  const d = c?.Rule?.DefaultRetention;
  const mode = modeOf(d?.Mode);
  const days = Number(d?.Days ?? 0) || 365 * Number(d?.Years ?? 0);
  return mode && days > 0 ? { enabled, rule: { mode, days } } : { enabled };
}

/**
 * The explicit settings that reproduce a bucket's default rule from `now`: every object of
 * the put then carries the very same date (the server's own default would be computed per
 * object, seconds apart, and not at all on Ceph for what a multipart upload creates).
 */
export function settingsFromRule(rule: DefaultRetention, now: Date): LockSettings {
  return {
    mode: rule.mode,
    retainUntil: new Date(now.getTime() + rule.days * 86_400_000),
    legalHold: false,
  };
}

/** Two locks are the same: mode, date (to the millisecond) and legal hold. */
export function sameLock(a: LockSettings, b: LockSettings): boolean {
  return a.mode === b.mode && a.legalHold === b.legalHold &&
    a.retainUntil?.getTime() === b.retainUntil?.getTime();
}

/**
 * `have` protects at least as much as `want`: a retention at least as strong (COMPLIANCE over
 * GOVERNANCE) lasting at least as long, and the legal hold if asked for.
 */
export function protectsAsMuch(have: LockSettings, want: LockSettings): boolean {
  if (want.legalHold && !have.legalHold) return false;
  if (!want.mode) return true;
  if (!have.mode || !have.retainUntil || !want.retainUntil) return false;
  if (want.mode === "COMPLIANCE" && have.mode !== "COMPLIANCE") return false;
  return have.retainUntil.getTime() >= want.retainUntil.getTime();
}

/** One line for people: `GOVERNANCE until 2026-12-02T10:00:00.000Z, legal hold on`. */
export function describeLock(s: LockSettings): string {
  const retention = s.mode && s.retainUntil
    ? `${s.mode} until ${s.retainUntil.toISOString()}`
    : "no retention";
  return `${retention}, legal hold ${s.legalHold ? "on" : "off"}`;
}

/**
 * Whether the lock still forbids deleting the object at `now`: a legal hold always; a
 * GOVERNANCE retention unless `bypass`; a COMPLIANCE retention always, until its date.
 */
export function blocksDelete(s: LockSettings, now: Date, bypass: boolean): boolean {
  if (s.legalHold) return true;
  if (!s.mode || !s.retainUntil || s.retainUntil.getTime() <= now.getTime()) return false;
  return s.mode === "COMPLIANCE" || !bypass;
}

function modeOf(v: unknown): LockMode | undefined {
  const s = String(v ?? "").toUpperCase();
  return s === "GOVERNANCE" || s === "COMPLIANCE" ? s : undefined;
}

function dateOf(v: unknown): Date | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? undefined : d;
}
