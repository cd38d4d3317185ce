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

/**
 * The chain value after one record, from the value before it ("" before chunk 0): the one
 * place a v1 chain is computed from recorded (hex) hashes.
 */
export function chainAfter(previous: string, r: { sha256: string; sha3_256: string }): string {
  const prev = previous === "" ? undefined : fromHex(previous);
  return toHex(chainLink(prev, fromHex(r.sha256), fromHex(r.sha3_256)));
}

/** Final chain over a list of (sha256, sha3) hex pairs, as hex; "" for no chunks. */
export function chainOfRecords(records: readonly { sha256: string; sha3_256: string }[]): string {
  // Raw bytes between links: a manifest of 2^20 records would otherwise pay a hex round trip each.
  let chain: Uint8Array | undefined;
  for (const r of records) chain = chainLink(chain, fromHex(r.sha256), fromHex(r.sha3_256));
  return chain ? toHex(chain) : "";
}

/**
 * The longest prefix of `records` whose recorded chain values re-compute from chunk 0 (a log
 * edited or damaged is cut where it stops agreeing).
 */
export function chainedPrefix<T extends { sha256: string; sha3_256: string; chain: string }>(
  records: readonly T[],
): T[] {
  let chain = "";
  const out: T[] = [];
  for (const r of records) {
    chain = chainAfter(chain, r);
    if (chain !== r.chain) break;
    out.push(r);
  }
  return out;
}

// Hex lives in hex.ts; re-exported because most chain users need both.
export { fromHex, toHex } from "./hex.ts";
