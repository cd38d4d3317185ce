/** A Store that charges every transfer to a shared Bandwidth (the `--bandwidth-limit`). */
import type { Bandwidth, PacedStore } from "./bandwidth.ts";
import type { ByteRange, GetArg, PutOptions, Store } from "./store.ts";

/**
 * `store` under `bandwidth`: a store that paces itself (S3, local directory) moves every body
 * slice by slice at the limit; any other is charged per request, a put before it is sent, a get
 * after it arrived.
 */
export function limitBandwidth<S extends Store>(store: S, bandwidth: Bandwidth): S {
  if (isPaced(store)) {
    store.setPacer(bandwidth);
    return store;
  }
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "put") {
        return async (key: string, body: Uint8Array, opts?: PutOptions) => {
          await bandwidth.take(body.length);
          return target.put(key, body, opts);
        };
      }
      if (prop === "get") {
        return async (key: string, range?: ByteRange, arg?: GetArg) => {
          const bytes = await target.get(key, range, arg);
          await bandwidth.take(bytes.length);
          return bytes;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function isPaced(store: Store): store is Store & PacedStore {
  return typeof (store as Partial<PacedStore>).setPacer === "function";
}
