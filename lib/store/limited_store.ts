/** A Store that charges every transfer to a shared Bandwidth (the `--bandwidth-limit`). */
import type { Bandwidth } from "../pipeline/bandwidth.ts";
import type { ByteRange, GetArg, PutOptions, Store } from "./store.ts";

/** `store` with every put charged before it is sent, and every get after it arrived. */
export function limitBandwidth<S extends Store>(store: S, bandwidth: Bandwidth): S {
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
          // Sizes are known only after a GET: charge afterwards, which delays the next one.
          await bandwidth.take(bytes.length);
          return bytes;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
