/**
 * Python `json.dumps(value, indent=2)` byte-for-byte, for values made of objects, arrays,
 * strings, integers, booleans and null: s3duct 0.4 writes manifests this way, so matching it
 * keeps our manifests diff-able with the old tool's.
 */
export function pythonJsonDumps(value: unknown): string {
  // JSON.stringify with indent 2 matches Python's layout; Python's ensure_ascii also escapes
  // everything outside printable ASCII (including DEL) as lower-case \uXXXX.
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** Python `datetime.now(timezone.utc).isoformat()`: microseconds shown unless zero. */
export function pythonIsoUtc(date: Date): string {
  const iso = date.toISOString(); // 2026-11-27T16:13:39.757Z
  const ms = date.getUTCMilliseconds();
  const base = iso.slice(0, 19);
  return ms === 0 ? `${base}+00:00` : `${base}.${String(ms * 1000).padStart(6, "0")}+00:00`;
}
