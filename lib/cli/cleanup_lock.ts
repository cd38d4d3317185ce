/**
 * cleanup on a bucket with Object Lock: orphan chunks a retention or legal hold still
 * protects (a --clobber over a locked stream leaves the old generation) are listed with their
 * dates and kept; the others are deleted by version id, so no byte stays behind a marker.
 */
import { blocksDelete, describeLock, type LockSettings } from "../store/object_lock.ts";
import type { DeleteReport, Store } from "../store/store.ts";

/** The lock and current version of each orphan, on a bucket with Object Lock. */
export type OrphanLocks = Map<string, { lock: LockSettings; versionId?: string }>;

/** HEAD each orphan, only when the bucket has Object Lock; undefined otherwise. */
export async function orphanLocks(
  store: Store,
  keys: string[],
): Promise<OrphanLocks | undefined> {
  const cfg = await store.bucketLock?.(true).catch(() => undefined);
  if (!cfg?.enabled) return undefined;
  const out: OrphanLocks = new Map();
  for (const key of keys) {
    const info = await store.head(key);
    if (info) out.set(key, { lock: info.lock ?? { legalHold: false }, versionId: info.versionId });
  }
  return out;
}

/** The orphans a lock keeps for now (`bypass`: GOVERNANCE ones may go). */
export function stillLocked(locks: OrphanLocks, bypass: boolean, now = new Date()): string[] {
  return [...locks].filter(([, v]) => blocksDelete(v.lock, now, bypass)).map(([k]) => k);
}

/** One line per kept orphan: its key and lock. */
export function lockedLines(locks: OrphanLocks, kept: string[]): string[] {
  return kept.map((k) => `  LOCKED ${k}: ${describeLock(locks.get(k)!.lock)}`);
}

/** Delete orphans: by version id where the store keeps versions, else plainly. */
export async function deleteOrphans(
  store: Store,
  keys: string[],
  locks: OrphanLocks | undefined,
  bypass: boolean,
): Promise<DeleteReport> {
  if (!locks || !store.deleteVersions) return await store.delete(keys);
  const refs = keys.flatMap((key) => {
    const v = locks.get(key)?.versionId;
    return v ? [{ key, versionId: v }] : [];
  });
  const r = await store.deleteVersions(refs, bypass);
  const gone = new Set(refs.map((r) => r.key));
  return {
    // Keys without a current version were already gone.
    deleted: [...r.deleted.map((v) => v.key), ...keys.filter((k) => !gone.has(k))],
    failed: r.failed.map((f) => ({ key: f.key, reason: f.reason })),
  };
}
