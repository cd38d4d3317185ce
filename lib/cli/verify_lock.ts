/**
 * verify's Object Lock check. The manifest is HEADed first (its x-amz-object-lock-* headers):
 * an unlocked stream costs that one request and verify stays a listing; a locked one gets a
 * HEAD per object (chunks, signature), each compared with the manifest's lock.
 */
import {
  describeLock,
  locks,
  type LockSettings,
  protectsAsMuch,
  sameLock,
} from "../store/object_lock.ts";
import type { Store } from "../store/store.ts";
import type { StreamLayout } from "../format/layout.ts";
import { signatureKey } from "../pipeline/manifest_auth.ts";

/** What the lock check found. */
export interface LockCheck {
  /** The manifest's lock: what the stream claims; undefined for an unlocked stream. */
  lock?: LockSettings;
  /** Objects checked besides the manifest. */
  checked: number;
  /** Objects whose lock is not the manifest's, with what they carry. */
  different: { key: string; lock: LockSettings; weaker: boolean }[];
}

const PARALLEL = 8;

/**
 * The stream's lock and the objects that carry another one.
 * @param objectKeys full keys of every object besides the manifest (chunks, signature)
 */
export async function checkLocks(
  store: Store,
  manifestKey: string,
  objectKeys: string[],
): Promise<LockCheck> {
  const head = await store.head(manifestKey);
  if (!head?.lock || !locks(head.lock)) return { checked: 0, different: [] };
  const want = head.lock;
  const different: LockCheck["different"] = [];
  let next = 0;
  const worker = async () => {
    while (next < objectKeys.length) {
      const key = objectKeys[next++];
      const got = (await store.head(key))?.lock ?? { legalHold: false };
      if (!sameLock(got, want)) {
        different.push({ key, lock: got, weaker: !protectsAsMuch(got, want) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, objectKeys.length) }, worker));
  different.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return { lock: want, checked: objectKeys.length, different };
}

/** {@linkcode checkLocks} for a stream: its chunks present and its signature, if any. */
export async function streamLocks(
  store: Store,
  layout: StreamLayout,
  chunkKeys: string[],
): Promise<LockCheck> {
  const sig = signatureKey(layout);
  const manifestKey = layout.full(layout.manifestKey);
  // The signature's HEAD only matters for a locked stream: checkLocks HEADs the manifest first.
  const head = await store.head(manifestKey);
  if (!head?.lock || !locks(head.lock)) return { checked: 0, different: [] };
  return await checkLocks(store, manifestKey, [
    ...chunkKeys,
    ...((await store.head(sig)) ? [sig] : []),
  ]);
}

/** The report lines for people. */
export function lockLines(c: LockCheck): string[] {
  if (!c.lock) return ["Object Lock: none (the manifest carries no retention or legal hold)."];
  const out = [`Object Lock: ${describeLock(c.lock)} (the manifest's).`];
  if (c.different.length === 0) {
    out.push(`  all ${c.checked} other objects carry the same lock.`);
    return out;
  }
  out.push(`  ${c.different.length} of ${c.checked} other objects carry a DIFFERENT lock:`);
  for (const d of c.different.slice(0, 20)) {
    out.push(`  ${d.weaker ? "WEAKER" : "other"} ${d.key}: ${describeLock(d.lock)}`);
  }
  if (c.different.length > 20) out.push(`  ... and ${c.different.length - 20} more`);
  return out;
}

/** The `object_lock` member of verify's JSON summary (null for an unlocked stream). */
export function lockJson(c: LockCheck): Record<string, unknown> | null {
  if (!c.lock) return null;
  const one = (l: LockSettings) => ({
    mode: l.mode ?? null,
    retain_until: l.retainUntil?.toISOString() ?? null,
    legal_hold: l.legalHold,
  });
  return {
    ...one(c.lock),
    objects_checked: c.checked + 1,
    objects_different: c.different.map((d) => ({ key: d.key, weaker: d.weaker, ...one(d.lock) })),
  };
}
