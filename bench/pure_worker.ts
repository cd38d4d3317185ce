/// <reference lib="deno.worker" />
/** Worker for measurePureParallel: measures once over the byte count it is sent, posts times. */
import { measurePure } from "./pure.ts";

self.onmessage = async (e: MessageEvent<{ total: number }>) => {
  try {
    self.postMessage(await measurePure(e.data.total));
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
