/**
 * Reporting a missing bucket as a missing bucket. Stores answer "no such object" for every key
 * of a bucket that does not exist (the local store cannot tell the two apart at all, and S3's
 * NoSuchBucket becomes a NotFoundError like NoSuchKey), and the layers above rightly turn a
 * missing object into "stream not found" or "chunk N is missing". So the first time an object
 * turns out missing (or a listing comes back empty) we ask the store whether the bucket exists,
 * once per run, and a missing one becomes MissingBucketError (exit 3, naming the bucket), which
 * those layers let through.
 */
import { MissingBucketError, NotFoundError } from "../errors.ts";
import type { Store } from "../store/store.ts";

/**
 * `store`, seen through a check for a missing bucket. A Proxy rather than a class implementing
 * Store: methods this does not wrap (and any the interface gains) pass through unchanged.
 */
export function reportingMissingBucket(store: Store): Store {
  const wrapped = wrappedMethods(store, bucketCheck(store));
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(wrapped, prop)) return wrapped[prop as keyof Store];
      const value = Reflect.get(target, prop, target);
      // Bound to the real store: its methods use private fields, which a Proxy does not carry.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The once-per-run question "does the bucket exist?", and what follows from its answer. */
interface BucketCheck {
  /** Resolves if the bucket exists (or cannot be checked); MissingBucketError if it does not. */
  ensureBucket(): Promise<void>;
  /** Rethrows `e`, or MissingBucketError in its place when the bucket is what is missing. */
  explain(e: unknown): Promise<never>;
  /** The bucket is known to exist (a checkBucket of our own succeeded). */
  confirm(): void;
}

function bucketCheck(store: Store): BucketCheck {
  let confirmed = false;
  let checking: Promise<void> | undefined;
  const ensureBucket = (): Promise<void> => {
    if (confirmed) return Promise.resolve();
    checking ??= store.checkBucket().then(
      () => {
        confirmed = true;
      },
      (e) => {
        if (e instanceof NotFoundError) {
          checking = undefined;
          throw new MissingBucketError(e.message, { cause: e });
        }
        // Could not tell (no ListBucket permission, a network error): the original answer,
        // "no such object", stands, and asking again per missing object would not help.
        confirmed = true;
      },
    );
    return checking;
  };
  return {
    ensureBucket,
    explain: async (e) => {
      if (e instanceof NotFoundError) await ensureBucket();
      throw e;
    },
    confirm: () => {
      confirmed = true;
    },
  };
}

/** checkBucket, get, head, put and list, each turning a missing bucket into its own error. */
function wrappedMethods(store: Store, check: BucketCheck): Partial<Store> {
  const { ensureBucket, explain } = check;
  return {
    async checkBucket() {
      await store.checkBucket().catch((e) => {
        if (e instanceof NotFoundError) throw new MissingBucketError(e.message, { cause: e });
        throw e;
      });
      check.confirm();
    },
    async get(...args: Parameters<Store["get"]>) {
      try {
        return await store.get(...args);
      } catch (e) {
        return await explain(e);
      }
    },
    async head(key: string) {
      const info = await store.head(key).catch(explain);
      if (info === undefined) await ensureBucket();
      return info;
    },
    async put(...args: Parameters<Store["put"]>) {
      try {
        return await store.put(...args);
      } catch (e) {
        return await explain(e);
      }
    },
    async *list(...args: Parameters<Store["list"]>) {
      let any = false;
      try {
        for await (const entry of store.list(...args)) {
          any = true;
          yield entry;
        }
      } catch (e) {
        await explain(e);
      }
      // The local store lists a missing bucket as empty.
      if (!any) await ensureBucket();
    },
  };
}
