/**
 * The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector
 * reads it: `# HELP`, `# TYPE`, then `name{label="value",...} value` lines, no timestamps (the
 * collector refuses them). Pure: reading a file one of our runs (or anyone) wrote, replacing
 * one label set's samples, and writing it back; the file itself is lib/metrics/file.ts's.
 */

/** Label names to values; the order given is the order written. */
export type Labels = Record<string, string>;

/** One sample of a family we write. */
export interface Sample {
  /** The sample's labels, written in this order. */
  labels: Labels;
  /** The sample's value (integers written as such, others to the millisecond). */
  value: number;
}

/** A metric family: its help, type and samples (ours parsed, others' kept as lines). */
export interface Family {
  /** The family name from its HELP/TYPE line (or its first sample's name). */
  name: string;
  /** The HELP text, unescaped; undefined when the file gave none. */
  help?: string;
  /** The TYPE (`counter`, `gauge`, ...; `untyped` when the line named none), if given. */
  type?: string;
  /** The family's samples in file order, histogram and summary suffixes included. */
  samples: ParsedSample[];
}

/** A sample as read: name, labels and value, and the line as it was (written back as is). */
export interface ParsedSample {
  /** The sample's own metric name (e.g. `x_bucket` under family `x`). */
  name: string;
  /** The sample's labels, unescaped. */
  labels: Labels;
  /** The sample's value (`+Inf`, `-Inf` and `NaN` included). */
  value: number;
  /** The line as read (trimmed), written back unchanged. */
  line: string;
}

/** What reading a file found: families in file order, and lines that made no sense. */
export interface Exposition {
  /** The families in the order the file first named them. */
  families: Family[];
  /** How many lines were neither HELP/TYPE, comments nor valid samples (they are not kept). */
  dropped: number;
}

/**
 * A label value escaped for the exposition format: backslash, double quote and line feed are
 * the three characters it escapes; everything else is written as is (UTF-8).
 * @param v the value
 * @returns the text between the quotes
 */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parse `name{labels} value [timestamp]`.
 * @returns the name, labels and value, or undefined for a line that is not a sample
 */
export function parseSampleLine(
  line: string,
): { name: string; labels: Labels; value: number } | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let i = name.length;
  const labels: Labels = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      while (line[i] === " ") i++;
      if (line[i] === "}") break;
      const key = LABEL_NAME.exec(line.slice(i))?.[0];
      if (!key || line.slice(i + key.length, i + key.length + 2) !== '="') return undefined;
      i += key.length + 2;
      let value = "";
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] !== "\\") value += line[i];
        else value += { n: "\n", "\\": "\\", '"': '"' }[line[++i]] ?? `\\${line[i]}`;
      }
      if (i >= line.length) return undefined;
      labels[key] = value;
      i++;
      while (line[i] === " ") i++;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") return undefined;
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  if (value === undefined || rest.length > 2) return undefined;
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) return undefined;
  return { name, labels, value };
}

/** A sample value: a float, `+Inf`, `-Inf` or `NaN`. */
function parseValue(t: string): number | undefined {
  if (/^[+-]?Inf$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (t === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/**
 * Read an exposition text into families. Samples are grouped under the family their HELP or
 * TYPE line named (or their own name); comment lines other than HELP and TYPE are dropped, and
 * so are lines that are not valid samples (counted in `dropped`).
 * @param text the file's content ("" for none)
 */
export function parseExposition(text: string): Exposition {
  const families: Family[] = [];
  const byName = new Map<string, Family>();
  const family = (name: string) => {
    let f = byName.get(name);
    if (!f) byName.set(name, f = { name, samples: [] }), families.push(f);
    return f;
  };
  let dropped = 0;
  let current: Family | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const meta = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
    if (meta) {
      current = family(meta[2]);
      if (meta[1] === "HELP") current.help = unescapeHelp(meta[3] ?? "");
      else current.type = meta[3] ?? "untyped";
      continue;
    }
    if (line.startsWith("#")) continue;
    const s = parseSampleLine(line);
    if (!s) {
      dropped++;
      continue;
    }
    // Histogram and summary samples (_bucket, _sum, _count) belong to the family above them.
    const owner = current && s.name.startsWith(current.name) ? current : family(s.name);
    owner.samples.push({ ...s, line });
  }
  return { families, dropped };
}

function unescapeHelp(v: string): string {
  return v.replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\"));
}

/** The text of a family's sample. */
export function sampleLine(name: string, s: Sample): string {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `${name}${labels.length ? `{${labels.join(",")}}` : ""} ${formatValue(s.value)}`;
}

/** Integers as integers; others with millisecond precision (timestamps, durations). */
function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
  return String(Math.round(v * 1000) / 1000);
}

/** Whether two label sets are the same (same names, same values; order aside). */
export function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/**
 * Write families back as exposition text: HELP, TYPE, then their samples' lines.
 * @returns the text, ending in a line feed (the collector wants the last line ended)
 */
export function formatExposition(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    if (f.help !== undefined) out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    if (f.type !== undefined) out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(s.line);
  }
  return out.length ? out.join("\n") + "\n" : "";
}
