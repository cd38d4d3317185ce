/** Size strings: `512M`, `64MiB`, `1.5G`, `4096`. All suffixes are binary (1024-based). */

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KB: 1024,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
  TIB: 1024 ** 4,
};

/**
 * Parse a size string to a whole number of bytes, or return undefined if it is not one.
 * Unlike s3duct 0.4, `MB`/`MiB` forms are accepted and fractions that do not land on a
 * whole byte are rejected rather than truncated.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2].toUpperCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) return undefined;
  return bytes;
}

/** `1234567` -> `1,234,567` (as Python's `{:,}`). */
export function withCommas(n: number): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Human size with binary units, one decimal: `64.0 MiB`. */
export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
