/**
 * Where a bucket's S3 requests go: one rule for the store (which builds its URLs on it) and for
 * open_store.ts (which asks Deno for net access to that host, or to the proxy before it).
 * @module
 */

/** The endpoint requests are made against, and where the bucket name goes. */
export interface S3Address {
  /** The endpoint: origin and any path prefix (without trailing slashes). */
  base: URL;
  /** The bucket goes in the path (custom endpoints, dotted names), not in the host name. */
  pathStyle: boolean;
}

/**
 * Path-style for a custom `endpoint` and for a bucket name with dots (a dotted host name would
 * not match AWS's wildcard certificate); virtual-hosted (`bucket.s3.region...`) otherwise.
 */
export function s3Address(bucket: string, region: string, endpoint?: string): S3Address {
  const pathStyle = endpoint !== undefined || bucket.includes(".");
  const base = endpoint !== undefined ? new URL(endpoint.replace(/\/+$/, "")) : new URL(
    pathStyle
      ? `https://s3.${region}.amazonaws.com`
      : `https://${bucket}.s3.${region}.amazonaws.com`,
  );
  return { base, pathStyle };
}
