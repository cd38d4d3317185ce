/**
 * `s3duct cleanup`: chunk objects that no manifest references, left by interrupted uploads
 * (no manifest yet, or chunks past a shorter stream's end) and by a --clobber cut short (a
 * chunk generation the manifest does not use). Keys go to stdout, one per line; deleting
 * asks on a terminal and needs --force otherwise, like `delete`.
 *
 * A chunk `D/chunk-N` belongs to stream D, and `D/gXXXXXXXX/chunk-N` (a generation) to D too;
 * both owners are checked when a name could be either. A chunk is an orphan only if no owner's
 * manifest references it. An owner whose manifest exists but cannot be read (encrypted and no
 * --key/--age-identity given, or damaged) protects all its chunks: we cannot know them.
 */
import { Command } from "./command.ts";
import { KeyError, NotFoundError, S3ductError, StoreError } from "../errors.ts";
import { addKeyOptions, addOutputOptions, addStoreOptions, type RawOptions } from "./common.ts";
import { type CleanupSettings, cleanupSettings } from "./command_settings.ts";
import { commandContext } from "./context.ts";
import type { Log } from "../ui/log.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { activeRun } from "../metrics/run.ts";
import { confirm } from "./confirm.ts";
import { writeStdout } from "../ui/stdout.ts";
import { escapeForTerminal } from "../ui/escape.ts";
import { withCommas } from "../format/size.ts";
import { decodeManifest, type Keyring, manifestSizeLimit } from "../pipeline/manifest_io.ts";
import type { Store } from "../store/store.ts";
import { addBypassOption } from "./lock_options.ts";
import {
  deleteOrphans,
  lockedLines,
  type OrphanLocks,
  orphanLocks,
  stillLocked,
} from "./cleanup_lock.ts";

const MANIFEST = "/.manifest.json";
const CHUNK = /^chunk-\d{6,}$/;
const GENERATION = /^g[0-9a-z]{8}$/;
const BATCH = 1000;

/** The `cleanup` command: prints orphan chunk keys and deletes them (asking, or --force). */
export function cleanupCommand(): Command {
  const cmd = new Command("cleanup").description(
    "Find chunk objects under --prefix (or of one --name) that no manifest references, left " +
      "by interrupted uploads, print their keys (stdout) and delete them. Asks on a terminal; " +
      "needs --force otherwise. Encrypted manifests need --key/--age-identity to be read: " +
      "without them, only streams with no manifest at all are cleaned. Do not run it while a " +
      "put into these streams is running; a later put cannot resume from what it removed.",
  );
  addStoreOptions(cmd, false);
  cmd.option("--name <name>", "only this stream's chunks");
  addKeyOptions(cmd)
    .option("--dry-run", "print the orphan chunk keys; delete nothing")
    .option("--force", "delete without asking");
  addBypassOption(cmd);
  addOutputOptions(cmd, false);
  addMetricsOption(cmd);
  return cmd.action(runCleanup);
}

/** What {@linkcode findOrphans} found: the orphan chunks and the streams they belong to. */
export interface Orphans {
  /** Full object keys of the orphan chunks, in key order. */
  keys: string[];
  /** Total size of the orphan chunks in bytes. */
  bytes: number;
  /** Stream paths (without the --prefix) the orphans belong to. */
  streams: Set<string>;
  /** Streams whose manifest could not be read, with why. */
  unreadable: Map<string, string>;
  /** Size of each orphan (--metrics-file counts what was removed). */
  sizes: Map<string, number>;
}

async function runCleanup(o: RawOptions): Promise<void> {
  const s = cleanupSettings(o);
  const { log, keys, store } = await commandContext({ ...s, layout: undefined });
  const { root, name } = s;
  await store.checkBucket();
  const found = await findOrphans(store, root, name, keys);
  const where = `${store.location}${root ? ` under '${root}'` : ""}`;
  if (found.unreadable.size) {
    const list = [...found.unreadable].map(([s, why]) => `'${s}' (${why})`).join(", ");
    log.warn(
      `${found.unreadable.size} stream(s) not checked, their manifests cannot be read: ${list}`,
    );
  }
  if (found.keys.length === 0) {
    log.info(`no orphan chunks in ${where}${name ? ` for stream '${name}'` : ""}`);
    return;
  }
  await writeStdout(
    new TextEncoder().encode(found.keys.map((k) => escapeForTerminal(k) + "\n").join("")),
  );
  const what = `${found.keys.length} orphan chunks (${withCommas(found.bytes)} bytes) of ` +
    `${found.streams.size} stream(s)`;
  log.info(`Found ${what} in ${where}: ${[...found.streams].map((s) => `'${s}'`).join(", ")}`);
  // Object Lock: what a retention or legal hold still keeps is listed with its date and left.
  const locks = await orphanLocks(store, found.keys);
  const kept = locks ? stillLocked(locks, s.bypassGovernance) : [];
  if (kept.length) {
    lockedLines(locks!, kept).forEach((l) => log.info(l));
    log.info(`${kept.length} of them are still locked and stay; run cleanup again once allowed`);
  }
  if (s.dryRun) return;
  const keptSet = new Set(kept);
  const doomed = found.keys.filter((k) => !keptSet.has(k));
  if (doomed.length === 0) return;
  if (!s.force) await confirm(`Delete ${what} from ${store.location}?`, "cleanup");
  const deleted = await deleteInBatches(store, doomed, found.sizes, locks, s, log);
  log.info(
    `Deleted ${deleted} orphan chunks${kept.length ? ` (${kept.length} locked kept)` : ""}.`,
  );
}

/**
 * Delete `doomed` a batch at a time, each failure listed; resolves to how many went.
 * @throws {StoreError} when any could not be deleted
 */
async function deleteInBatches(
  store: Store,
  doomed: string[],
  sizes: Map<string, number>,
  locks: OrphanLocks | undefined,
  s: CleanupSettings,
  log: Log,
): Promise<number> {
  let deleted = 0;
  const failed: string[] = [];
  for (let i = 0; i < doomed.length; i += BATCH) {
    const batch = doomed.slice(i, i + BATCH);
    const report = await deleteOrphans(store, batch, locks, s.bypassGovernance);
    deleted += report.deleted.length;
    const removed = report.deleted.reduce((t, k) => t + (sizes.get(k) ?? 0), 0);
    activeRun()?.moved(removed, report.deleted.length);
    for (const f of report.failed) {
      log.info(`  FAILED ${f.key}: ${f.reason}`);
      failed.push(f.key);
    }
  }
  if (failed.length) {
    throw new StoreError(
      `deleted ${deleted} of ${doomed.length} orphan chunks; ${failed.length} could not ` +
        "be deleted (listed above); run cleanup again",
    );
  }
  return deleted;
}

type ManifestState = { refs: Set<string> } | { unreadable: string } | "missing";

/** A chunk object found by the scan, with the streams it can belong to. */
interface Candidate {
  key: string;
  size: number;
  owners: string[];
}

/** Orphan chunk keys under `root` (only stream `name`'s, if given), in key order. */
export async function findOrphans(
  store: Store,
  root: string,
  name: string | undefined,
  keys: Keyring,
): Promise<Orphans> {
  const scan = name === undefined ? root : `${root}${name}/`;
  const only = name === undefined ? undefined : `${root}${name}`;
  const { chunks, manifests } = await scanChunks(store, scan, only);
  const states = new Map<string, ManifestState>();
  const stateOf = async (owner: string): Promise<ManifestState> => {
    let s = states.get(owner);
    if (!s) {
      // Owners at or below the scanned prefix were listed; one above it is looked up.
      const listed = (owner + "/").startsWith(scan);
      s = listed && !manifests.has(owner + MANIFEST)
        ? "missing"
        : await readManifest(store, owner, keys);
      states.set(owner, s);
    }
    return s;
  };
  const out: Orphans = {
    keys: [],
    bytes: 0,
    streams: new Set(),
    unreadable: new Map(),
    sizes: new Map(),
  };
  for (const c of chunks) {
    if (await isKept(c, stateOf, root, out)) continue;
    out.keys.push(c.key);
    out.bytes += c.size;
    out.sizes.set(c.key, c.size);
    // The stream is the owner with a manifest, else the plain one (D of D/chunk-N).
    const owner = c.owners.find((w) => states.get(w) !== "missing") ?? c.owners[0];
    out.streams.add(owner.slice(root.length) || owner);
  }
  return out;
}

/** The chunk objects under `scan` (only those `only` can own, if given) and the manifests. */
async function scanChunks(store: Store, scan: string, only: string | undefined) {
  const chunks: Candidate[] = [];
  const manifests = new Set<string>();
  for await (const e of store.list(scan)) {
    if (e.kind !== "object") continue;
    if (e.key.endsWith(MANIFEST)) manifests.add(e.key);
    const owners = ownersOf(e.key);
    if (owners.length && (!only || owners.includes(only))) {
      chunks.push({ key: e.key, size: e.size, owners });
    }
  }
  return { chunks, manifests };
}

/**
 * Whether a chunk stays: an owner's manifest references it, or one cannot be read (its
 * chunks are unknown, so all are kept; the reason is noted in `out.unreadable`).
 */
async function isKept(
  c: Candidate,
  stateOf: (owner: string) => Promise<ManifestState>,
  root: string,
  out: Orphans,
): Promise<boolean> {
  let referenced = false;
  let unknown = false;
  for (const owner of c.owners) {
    const s = await stateOf(owner);
    if (s === "missing") continue;
    if ("unreadable" in s) {
      unknown = true;
      out.unreadable.set(owner.slice(root.length) || owner, s.unreadable);
    } else if (s.refs.has(c.key)) referenced = true;
  }
  return referenced || unknown;
}

/** Streams a chunk key can belong to: `D` for `D/chunk-N`, also `P` for `P/gXXXXXXXX/chunk-N`. */
export function ownersOf(key: string): string[] {
  const parts = key.split("/");
  if (parts.length < 2 || !CHUNK.test(parts[parts.length - 1])) return [];
  const owners = [parts.slice(0, -1).join("/")];
  if (parts.length >= 3 && GENERATION.test(parts[parts.length - 2])) {
    owners.push(parts.slice(0, -2).join("/"));
  }
  return owners.filter((w) => w !== "");
}

/** The full keys a stream's manifest references, or why it cannot be read. */
async function readManifest(store: Store, owner: string, keys: Keyring): Promise<ManifestState> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(owner + MANIFEST, undefined, {
      maxBytes: manifestSizeLimit(owner), // the name is at most this long
    });
  } catch (e) {
    if (e instanceof NotFoundError) return "missing";
    throw e;
  }
  try {
    const { manifest } = await decodeManifest(bytes, owner, keys);
    // Record keys are logical (`name/chunk-N`); the manifest's place gives their prefix.
    if (owner !== manifest.name && !owner.endsWith(`/${manifest.name}`)) {
      return { unreadable: `it names stream '${manifest.name}'` };
    }
    const base = owner.slice(0, owner.length - manifest.name.length);
    return { refs: new Set(manifest.chunks.map((c) => base + c.s3_key)) };
  } catch (e) {
    if (!(e instanceof S3ductError) || e instanceof StoreError) throw e;
    return {
      unreadable: e instanceof KeyError ? "encrypted: pass its --key or --age-identity" : e.message,
    };
  }
}
