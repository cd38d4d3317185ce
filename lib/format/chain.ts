/** The s3duct v1 chain (spec §5.2): an HMAC-SHA256 chain over each chunk's two hashes. */
import { createHmac } from "node:crypto";
import { fromHex, toHex } from "./hex.ts";

/** The v1 genesis key: a public constant, so the v1 chain detects accidents, not forgery. */
export const GENESIS_KEY: Uint8Array = new TextEncoder().encode("s3duct-genesis");

/** chain_i = HMAC-SHA256(chain_{i-1} or genesis, sha256_i || sha3_256_i). */
export function chainLink(
  previous: Uint8Array | undefined,
  sha256: Uint8Array,
  sha3: Uint8Array,
): Uint8Array {
  const mac = createHmac("sha256", previous ?? GENESIS_KEY);
  mac.update(sha256);
  mac.update(sha3);
  return new Uint8Array(mac.digest());
}

/** Final chain over a list of (sha256, sha3) hex pairs, as hex; "" for no chunks. */
export function chainOfRecords(records: { sha256: string; sha3_256: string }[]): string {
  let chain: Uint8Array | undefined;
  for (const r of records) chain = chainLink(chain, fromHex(r.sha256), fromHex(r.sha3_256));
  return chain ? toHex(chain) : "";
}

// Hex lives in hex.ts; re-exported because most chain users need both.
export { fromHex, toHex } from "./hex.ts";
