/**
 * put on a bucket with Object Lock: refuse lock flags the bucket cannot honour before any
 * chunk is uploaded, make a bucket default retention explicit (so every object carries the
 * very same date), and keep what a --clobber replaces while its retention forbids deleting it.
 */
import { StoreError, UsageError } from "../errors.ts";
import {
  blocksDelete,
  describeLock,
  type LockSettings,
  protectsAsMuch,
  settingsFromRule,
} from "../store/object_lock.ts";
import type { DeleteReport, Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";

/** What put learnt about locking, and what its clean-up had to leave. */
export interface LockedPut {
  /** The store to put through (deletes skip objects still retained). */
  store: Store;
  /** The lock every object gets; undefined for none. */
  lock?: LockSettings;
  /** Objects a --clobber could not remove yet: how many, and when the last may go. */
  held: { count: number; until?: Date; legalHold: number };
}

/**
 * Check the bucket against the lock asked for, before any upload.
 * @param asked put's lock flags (undefined: none, but a bucket default is still honoured)
 * @throws {UsageError} lock flags for a bucket without Object Lock (exit 2)
 */
export async function lockedPut(
  store: Store,
  asked: LockSettings | undefined,
  log: Log,
  now = new Date(),
): Promise<LockedPut> {
  const held = { count: 0, legalHold: 0 } as LockedPut["held"];
  if (!store.bucketLock) return { store, lock: asked, held };
  // Without flags the answer is only reported: no failure for a server or credentials that
  // cannot answer it (no s3:GetBucketObjectLockConfiguration, no lock API). A store failing
  // (503s past the retries) fails here as it would on the first chunk.
  const cfg = asked ? await store.bucketLock(false) : await store.bucketLock(false).catch((e) => {
    if (e instanceof StoreError && e.transient) throw e;
    log.debug(`could not read the bucket's Object Lock configuration: ${e.message}`);
    return undefined;
  });
  if (asked && !cfg?.enabled) {
    throw new UsageError(
      `bucket '${store.location.replace(/^s3:\/\//, "")}' does not have Object Lock enabled ` +
        "(it can only be turned on when a bucket is created): put to a bucket created with " +
        "Object Lock, or drop --object-lock-mode/--retain-*/--legal-hold",
    );
  }
  if (!cfg?.enabled) return { store, held };
  let lock = asked;
  if (!lock && cfg.rule) {
    lock = settingsFromRule(cfg.rule, now);
    store.adoptLock?.(lock);
    log.info(
      `bucket default retention ${cfg.rule.mode} ${cfg.rule.days} days: every object of ` +
        `this put is retained until ${lock.retainUntil!.toISOString()}`,
    );
  }
  if (lock) log.info(`Object Lock: every object gets ${describeLock(lock)}`);
  return { store: keepingRetained(store, held, now), lock, held };
}

/**
 * `store` whose delete leaves objects a lock still protects (a --clobber's old chunks):
 * they are neither deleted nor failed, but counted in `held`. The others lose every version
 * we see (the current one, by id), so nothing stays hidden behind a delete marker.
 */
function keepingRetained(store: Store, held: LockedPut["held"], now: Date): Store {
  const remove = async (keys: string[]): Promise<DeleteReport> => {
    const free: { key: string; versionId: string }[] = [];
    const plain: string[] = [];
    for (const key of keys) {
      const info = await store.head(key);
      if (!info) continue;
      const lock = info.lock ?? { legalHold: false };
      if (blocksDelete(lock, now, false)) {
        held.count++;
        if (lock.legalHold) held.legalHold++;
        if (lock.retainUntil && (!held.until || lock.retainUntil > held.until)) {
          held.until = lock.retainUntil;
        }
      } else if (info.versionId && store.deleteVersions) {
        free.push({ key, versionId: info.versionId });
      } else plain.push(key);
    }
    const report: DeleteReport = { deleted: [], failed: [] };
    if (free.length) {
      const r = await store.deleteVersions!(free, false);
      report.deleted.push(...r.deleted.map((v) => v.key));
      report.failed.push(...r.failed.map((v) => ({ key: v.key, reason: v.reason })));
    }
    if (plain.length) {
      const r = await store.delete(plain);
      report.deleted.push(...r.deleted);
      report.failed.push(...r.failed);
    }
    return report;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "delete") return remove;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/**
 * After a resumed put: chunks kept from the interrupted run carry that run's lock (an earlier
 * `--retain-for` date); extend each one that is less protected than this put's lock, so every
 * object of the stream carries at least it. Extending needs no bypass.
 * @returns how many objects were extended
 */
export async function extendKept(
  store: Store,
  keys: string[],
  lock: LockSettings,
): Promise<number> {
  if (!store.setLock) return 0;
  let n = 0;
  for (const key of keys) {
    const info = await store.head(key);
    if (info && !protectsAsMuch(info.lock ?? { legalHold: false }, lock)) {
      await store.setLock(key, lock);
      n++;
    }
  }
  return n;
}

/** The line put prints when a --clobber had to leave locked objects behind. */
export function heldMessage(held: LockedPut["held"]): string | undefined {
  if (held.count === 0) return undefined;
  const when = held.until ? ` until ${held.until.toISOString()}` : "";
  const hold = held.legalHold
    ? ` (${held.legalHold} under a legal hold, kept until it is lifted)`
    : "";
  return `${held.count} objects of the replaced stream are retained${when}${hold} and stay ` +
    "in the bucket; 's3duct cleanup' lists them and removes them once allowed";
}
