/**
 * `s3duct list`: one line per stream under a prefix. Everything in a line comes from the store
 * (object keys, manifest fields), so text lines are escaped for the terminal and JSON lines
 * keep terminal-controlling characters as `\uXXXX` (lib/ui/escape.ts): exactly one line per
 * stream, whatever the bucket holds.
 */
import { Command } from "./command.ts";
import { decodeManifest, detectSealing, type Keyring } from "../pipeline/manifest_io.ts";
import { StreamLayout } from "../format/layout.ts";
import { withCommas } from "../format/size.ts";
import { type Manifest, validateManifest } from "../format/manifest.ts";
import type { Store } from "../store/store.ts";
import { manifestKeys } from "./list_walk.ts";
import { IntegrityError, KeyError, S3ductError } from "../errors.ts";
import { clip, escapeForTerminal, jsonForTerminal } from "../ui/escape.ts";
import { writeStdout } from "../ui/stdout.ts";
import { addKeyOptions, addStoreOptions, type RawOptions } from "./common.ts";
import { listSettings } from "./command_settings.ts";
import { commandContext } from "./context.ts";

const MANIFEST_SUFFIX = "/.manifest.json";

/** The `list` command. */
export function listCommand(): Command {
  const cmd = new Command("list").description(
    "List the streams under --prefix: name, chunks, bytes, created, encryption. Encrypted manifests are shown as such unless --key opens them.",
  );
  addStoreOptions(cmd, false);
  addKeyOptions(cmd)
    .option("--json", "one JSON object per line instead of text")
    .option("-q, --quiet", "print nothing but errors and the listing");
  return cmd.action(runList);
}

async function runList(o: RawOptions): Promise<void> {
  const s = listSettings(o);
  const { log, keys, store } = await commandContext({ ...s, layout: undefined });
  const prefix = s.root;
  await store.checkBucket();
  let found = 0;
  for await (const key of manifestKeys(store, prefix)) {
    const name = key.slice(prefix.length, -MANIFEST_SUFFIX.length);
    if (!name) continue;
    found++;
    const line = await describe(store, prefix, name, keys, s.json);
    // `list | head -1`: a reader that left ends the listing quietly (141), like get.
    await writeStdout(
      new TextEncoder().encode((s.json ? jsonForTerminal(line) : escapeForTerminal(line)) + "\n"),
    );
  }
  if (found === 0) {
    log.info(`no streams found in ${store.location}${prefix ? ` under '${prefix}'` : ""}`);
  }
}

/**
 * The listing line of one stream; never fails the whole listing. `path` is the key path
 * below the listed prefix; a stream stored under a deeper prefix shows as `prefix/name`.
 */
async function describe(
  store: Store,
  listed: string,
  path: string,
  keys: Keyring,
  json: boolean,
): Promise<string> {
  const fail = (e: unknown) =>
    json
      ? JSON.stringify({ stream: path, error: errText(e) })
      : `${path}  (manifest unreadable: ${errText(e)})`;
  let bytes: Uint8Array;
  try {
    bytes = await store.get(`${listed}${path}${MANIFEST_SUFFIX}`);
  } catch (e) {
    return fail(e);
  }
  const sealing = detectSealing(bytes);
  const keyless = sealing !== "plain" && !(sealing === "age" ? keys.age : keys.aes);
  let m: Manifest;
  try {
    m = await checkedManifest(bytes, listed, path, keys);
  } catch (e) {
    // Sealed and no key for it: shown as encrypted. decodeManifest has already refused (as
    // damage) what no key could open, so garbage is not listed as an encrypted stream.
    if (keyless && e instanceof KeyError) {
      return json
        ? JSON.stringify({ stream: path, manifest_encrypted: true, manifest_sealing: sealing })
        : `${path}  (manifest encrypted: ${sealing})`;
    }
    return fail(e);
  }
  return json ? jsonLine(m, path, sealing) : textLine(m, path);
}

/** The manifest decoded and validated against the place it was found. */
async function checkedManifest(
  bytes: Uint8Array,
  listed: string,
  path: string,
  keys: Keyring,
): Promise<Manifest> {
  const m = (await decodeManifest(bytes, path, keys)).manifest;
  // The manifest names the stream; what precedes that name in the path is its prefix.
  const full = listed + path;
  if (full !== m.name && !full.endsWith(`/${m.name}`)) {
    throw new IntegrityError(`manifest names stream '${m.name}', not '${path}'`);
  }
  validateManifest(m, new StreamLayout(m.name, full.slice(0, full.length - m.name.length)));
  return m;
}

/** A readable stream's --json line. */
function jsonLine(m: Manifest, path: string, sealing: string): string {
  return JSON.stringify({
    stream: path,
    chunks: m.chunk_count,
    total_bytes: m.total_bytes,
    created: m.created,
    encrypted: m.encrypted,
    encryption_method: m.encryption_method,
    manifest_encrypted: sealing !== "plain",
    storage_class: m.storage_class,
    tool_version: m.tool_version,
  });
}

/**
 * A readable stream's text line: the same shape as s3duct 0.4's, so scripts that parse them
 * keep working. Free-text fields are clipped: a megabyte of `created` is damage, not
 * something to print.
 */
function textLine(m: Manifest, path: string): string {
  const enc = m.encrypted ? " [encrypted]" : "";
  const storage = m.storage_class && clip(m.storage_class, FIELD_CHARS);
  const sc = storage && storage !== "STANDARD" ? ` [${storage}]` : "";
  const ver = m.tool_version ? `  v${clip(m.tool_version, FIELD_CHARS)}` : "";
  return `${path}  ${m.chunk_count} chunks  ${withCommas(m.total_bytes)} bytes  ${
    clip(m.created, FIELD_CHARS)
  }${enc}${sc}${ver}`;
}

/** Most characters of a free-text manifest field in a text line. */
const FIELD_CHARS = 64;

function errText(e: unknown): string {
  return e instanceof S3ductError ? e.message : String(e);
}
