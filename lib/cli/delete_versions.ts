/**
 * delete on a versioned bucket (Object Lock implies versioning): a plain DELETE there only
 * adds a delete marker and every byte stays. So the stream's versions are listed and deleted
 * by version id, but only when every one of them may go (a retention or legal hold on any of
 * them refuses the whole delete, before anything is touched), chunks first, the manifest,
 * signature and delete markers last.
 */
import { LockedError } from "../errors.ts";
import { blocksDelete, type LockSettings, type VersionRef } from "../store/object_lock.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";

/** One stored version of a key the delete removes, with its size and lock. */
export interface PlannedVersion extends VersionRef {
  /** Stored bytes (0 for a delete marker). */
  size: number;
  /** True for a delete marker. */
  marker: boolean;
  /** Its lock (none read when the bucket has no Object Lock). */
  lock: LockSettings;
}

/** What a versioned delete removes: chunk versions first, then the rest. */
export interface VersionPlan {
  /** Versions of chunk objects. */
  chunks: PlannedVersion[];
  /** Versions of the manifest and signature, and every delete marker: removed last. */
  last: PlannedVersion[];
}

/**
 * The versions of `keys` (`lastKeys` among them go last), or undefined when the store keeps
 * no versions there (unversioned bucket, local store, a server without ListObjectVersions):
 * then a plain delete removes everything.
 */
export async function planVersions(
  store: Store,
  folder: string,
  keys: Set<string>,
  lastKeys: Set<string>,
  log: Log,
): Promise<VersionPlan | undefined> {
  if (!store.versions || !store.deleteVersions) return undefined;
  const found: PlannedVersion[] = [];
  try {
    for await (const v of store.versions(folder)) {
      if (!keys.has(v.key)) continue;
      const none = { legalHold: false };
      found.push({ ...v, marker: v.deleteMarker, lock: none });
    }
  } catch (e) {
    // Without a listing a locked bucket cannot be deleted from safely: say why and stop.
    if ((await store.bucketLock?.(true).catch(() => undefined))?.enabled) throw e;
    log.debug(`no version listing (${(e as Error).message}); deleting current objects only`);
    return undefined;
  }
  if (found.every((v) => v.versionId === "null" && !v.marker)) return undefined;
  const cfg = await store.bucketLock?.(true).catch(() => undefined);
  if (cfg?.enabled) {
    for (const v of found) if (!v.marker) v.lock = await store.objectLock!(v.key, v.versionId);
  }
  return {
    chunks: found.filter((v) => !v.marker && !lastKeys.has(v.key)),
    last: found.filter((v) => v.marker || lastKeys.has(v.key)),
  };
}

/**
 * Refuse, before deleting anything, a delete that a lock would stop half-way.
 * @throws {LockedError} with the count per mode and the date the stream may be deleted
 */
export function refuseLocked(
  plan: VersionPlan,
  name: string,
  bypass: boolean,
  now = new Date(),
): void {
  const all = [...plan.chunks, ...plan.last];
  const blocked = all.filter((v) => blocksDelete(v.lock, now, bypass));
  if (blocked.length === 0) return;
  const count = (m: string) => blocked.filter((v) => v.lock.mode === m && !v.lock.legalHold);
  const gov = count("GOVERNANCE");
  const comp = count("COMPLIANCE");
  const held = blocked.filter((v) => v.lock.legalHold).length;
  const latest = blocked.reduce<Date | undefined>((d, v) => {
    const u = v.lock.retainUntil;
    return u && (!d || u > d) ? u : d;
  }, undefined);
  const parts = [
    gov.length ? `${gov.length} under GOVERNANCE retention (--bypass-governance removes them)` : "",
    comp.length ? `${comp.length} under COMPLIANCE retention` : "",
    held ? `${held} under a legal hold (lift it first)` : "",
  ].filter((p) => p);
  throw new LockedError(
    `stream '${name}' is locked: ${blocked.length} of ${all.length} objects cannot be deleted ` +
      `yet (${parts.join(", ")}); nothing was deleted` +
      (latest ? `; it can be deleted after ${latest.toISOString()}` : "") +
      (held ? " once the legal hold is lifted" : ""),
  );
}

/** The outcome of {@linkcode deleteVersioned}. */
export interface VersionedOutcome {
  /** Versions deleted (markers included). */
  deleted: number;
  /** Of those, chunk versions (what --metrics-file counts). */
  chunks: number;
  /** Bytes of the deleted versions. */
  bytes: number;
  /** Versions the store refused, with its reason. */
  failed: { key: string; reason: string }[];
  /** True when the manifest and the rest went too (every chunk version went first). */
  lastDone: boolean;
}

/** Delete the planned versions: chunks, then (only if all went) the manifest and markers. */
export async function deleteVersioned(
  store: Store,
  plan: VersionPlan,
  bypass: boolean,
): Promise<VersionedOutcome> {
  const sizes = new Map([...plan.chunks, ...plan.last].map((v) => [ref(v), v.size]));
  const out: VersionedOutcome = { deleted: 0, chunks: 0, bytes: 0, failed: [], lastDone: false };
  const run = async (vs: PlannedVersion[]) => {
    if (vs.length === 0) return;
    const r = await store.deleteVersions!(vs, bypass);
    out.deleted += r.deleted.length;
    out.bytes += r.deleted.reduce((t, v) => t + (sizes.get(ref(v)) ?? 0), 0);
    out.failed.push(
      ...r.failed.map((f) => ({ key: `${f.key} (version ${f.versionId})`, reason: f.reason })),
    );
  };
  await run(plan.chunks);
  out.chunks = out.deleted;
  if (out.failed.length) return out;
  await run(plan.last);
  out.lastDone = out.failed.length === 0;
  return out;
}

function ref(v: VersionRef): string {
  return `${v.key}\n${v.versionId}`;
}
