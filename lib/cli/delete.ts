/**
 * `s3duct delete`: remove a stream's chunks, any orphan chunks past the manifest (left by
 * interrupted uploads, spec §8 item 15), and the manifest last, so an interrupted delete can be
 * re-run. Without a readable manifest it deletes only with --force, by listing chunk keys.
 * On a versioned bucket the versions themselves go (lib/cli/delete_versions.ts), and a stream
 * any Object Lock still protects is refused whole (exit 14) before anything is deleted.
 */
import { Command } from "./command.ts";
import { S3ductError, StoreError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import { withCommas } from "../format/size.ts";
import { fetchManifest, openManifest } from "../pipeline/manifest_io.ts";
import { signatureKey } from "../pipeline/manifest_auth.ts";
import type { Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import { chunkCandidates } from "../resume/recheck.ts";
import { addKeyOptions, addOutputOptions, addStoreOptions, type RawOptions } from "./common.ts";
import { deleteSettings } from "./command_settings.ts";
import { commandContext } from "./context.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { activeRun } from "../metrics/run.ts";
import { confirm } from "./confirm.ts";
import { writeStdout } from "../ui/stdout.ts";
import { escapeForTerminal } from "../ui/escape.ts";
import { addBypassOption } from "./lock_options.ts";
import {
  deleteVersioned,
  planVersions,
  refuseLocked,
  type VersionPlan,
} from "./delete_versions.ts";

/** The `delete` command: removes a stream's chunks and orphans, then its manifest last. */
export function deleteCommand(): Command {
  const cmd = new Command("delete").description(
    "Delete a stream: its chunks, orphan chunks left by interrupted uploads, then the manifest. " +
      "Asks for confirmation on a terminal; needs --force otherwise. --dry-run prints the keys " +
      "(one per line, on stdout) and deletes nothing.",
  );
  addStoreOptions(cmd);
  addKeyOptions(cmd)
    .option("--dry-run", "print the object keys that would be deleted; delete nothing")
    .option(
      "--force",
      "do not ask; also delete by listing chunk keys when the manifest cannot be read",
    );
  addBypassOption(cmd);
  addOutputOptions(cmd, false);
  addMetricsOption(cmd);
  return cmd.action(runDelete);
}

interface Plan {
  chunkKeys: string[];
  orphans: number;
  bytes: number;
  /** Full manifest key, if a manifest exists (it is deleted last). */
  manifestKey?: string;
  /** Size of each chunk object the listing found (--metrics-file counts what was removed). */
  sizes: Map<string, number>;
}

async function runDelete(o: RawOptions): Promise<void> {
  const s = deleteSettings(o);
  const { log, layout, keys, store } = await commandContext(s);
  const plan = await planDelete(store, layout, s.force, async () => {
    const { manifest } = await openManifest(await fetchManifest(store, layout), layout, keys);
    return manifest.chunks.map((c) => layout.full(c.s3_key));
  });
  // The manifest's detached signature goes with the manifest, last (it means nothing alone).
  const sigKey = signatureKey(layout);
  const last = [
    ...(plan.manifestKey ? [plan.manifestKey] : []),
    ...((await store.head(sigKey)) ? [sigKey] : []),
  ];
  const all = [...plan.chunkKeys, ...last];
  // A versioned bucket (Object Lock implies one) keeps every byte behind a delete marker
  // unless the versions themselves are deleted; a lock on any of them refuses the delete.
  const versions = await planVersions(
    store,
    layout.full(`${layout.name}/`),
    new Set(all),
    new Set(last),
    log,
  );
  if (versions) refuseLocked(versions, layout.name, s.bypassGovernance);
  const what = `${plan.chunkKeys.length} chunks, ${withCommas(plan.bytes)} bytes`;
  log.info(describePlan(layout.name, what, plan, all.length, versions));
  if (s.dryRun) {
    await writeStdout(
      new TextEncoder().encode(all.map((k) => escapeForTerminal(k) + "\n").join("")),
    );
    return;
  }
  for (const k of all) log.debug(`  ${k}`);
  if (!s.force) {
    await confirm(`Delete stream '${layout.name}' (${what}) from ${store.location}?`, "delete");
  }
  const done = versions
    ? await deleteVersioned(store, versions, s.bypassGovernance)
    : await deletePlain(store, plan, last);
  // --metrics-file counts chunks, as put and get do; the manifest and signature are not.
  activeRun()?.moved(done.bytes, done.chunks);
  const total = versions ? versions.chunks.length + versions.last.length : all.length;
  reportDone({ ...done, total }, layout.name, !!versions, plan.manifestKey !== undefined, log);
}

/** The line saying what the delete covers, before it asks or deletes. */
function describePlan(
  name: string,
  what: string,
  plan: Plan,
  keys: number,
  versions: VersionPlan | undefined,
): string {
  const extra = versions ? versions.chunks.length + versions.last.length - keys : 0;
  return `Stream '${name}': ${what}` +
    (plan.orphans ? ` (${plan.orphans} orphan chunks not in the manifest)` : "") +
    (plan.manifestKey ? ", and the manifest" : ", no manifest") +
    (versions ? `; ${versions.chunks.length + versions.last.length} object versions` : "") +
    (extra > 0 ? ` (${extra} older versions and delete markers included)` : "") + ".";
}

/** The outcome on stderr; StoreError (exit 7) if anything could not be deleted. */
function reportDone(
  done: {
    deleted: number;
    bytes: number;
    failed: { key: string; reason: string }[];
    lastDone: boolean;
    total: number;
  },
  name: string,
  versioned: boolean,
  hadManifest: boolean,
  log: Log,
): void {
  for (const f of done.failed) log.info(`  FAILED ${f.key}: ${f.reason}`);
  if (done.failed.length) {
    const denied = versioned && done.failed.some((f) => f.reason === "AccessDenied");
    const unit = versioned ? "object versions" : "objects";
    throw new StoreError(
      `deleted ${done.deleted} of ${done.total} ${unit} of '${name}' ` +
        `(${withCommas(done.bytes)} bytes); ${done.failed.length} could not be deleted ` +
        "(listed above" +
        (denied ? "; AccessDenied: locked, or no s3:DeleteObjectVersion / bypass permission" : "") +
        ")" +
        (hadManifest && !done.lastDone ? "; the manifest was kept so delete can be re-run" : ""),
    );
  }
  // What was really removed: the sizes of what the store reports deleted.
  log.info(
    `Deleted ${done.deleted} ${versioned ? "object versions" : "objects"} of '${name}' ` +
      `(${withCommas(done.bytes)} bytes${versioned ? "" : " of chunks"}).`,
  );
}

/** Unversioned store: chunks, then (only if all went) the manifest and signature. */
async function deletePlain(store: Store, plan: Plan, last: string[]) {
  const report = await store.delete(plan.chunkKeys);
  // What was really removed: the listed sizes of the keys the store reports deleted.
  const bytes = report.deleted.reduce((t, k) => t + (plan.sizes.get(k) ?? 0), 0);
  const chunks = report.deleted.length;
  let lastDone = last.length === 0;
  if (last.length && report.failed.length === 0) {
    const m = await store.delete(last);
    report.deleted.push(...m.deleted);
    report.failed.push(...m.failed);
    lastDone = m.failed.length === 0;
  }
  return { deleted: report.deleted.length, chunks, bytes, failed: report.failed, lastDone };
}

/**
 * What to delete: the manifest's chunks plus every chunk object listed for the stream.
 * `manifestChunks` fails if the manifest is missing or unreadable; then only --force goes on.
 */
async function planDelete(
  store: Store,
  layout: StreamLayout,
  force: boolean,
  manifestChunks: () => Promise<string[]>,
): Promise<Plan> {
  let fromManifest: string[] | undefined;
  let problem: S3ductError | undefined;
  try {
    fromManifest = await manifestChunks();
  } catch (e) {
    if (!(e instanceof S3ductError) || e instanceof StoreError) throw e;
    problem = e;
  }
  // Chunks directly under the name and in each of its generation folders; never a nested
  // stream's (`{name}/sub/...`, or a generation-named folder that holds its own manifest).
  const listed = new Map<string, number>();
  for (const objects of (await chunkCandidates(store, layout)).values()) {
    for (const o of objects) listed.set(o.key, o.size);
  }
  if (problem) return await listedPlan(store, layout, force, problem, listed);
  const chunkKeys = [...fromManifest!];
  const inManifest = new Set(chunkKeys);
  const orphans = [...listed.keys()].filter((k) => !inManifest.has(k));
  chunkKeys.push(...orphans);
  return {
    chunkKeys,
    orphans: orphans.length,
    // What the store holds of them: a chunk the manifest names but the store lost is 0 bytes.
    bytes: sum(listed.values()),
    sizes: listed,
    manifestKey: layout.full(layout.manifestKey),
  };
}

/**
 * The plan without a readable manifest: every listed chunk object, with --force only.
 * @throws {S3ductError} with the cause's exit code (3 no manifest, 5 wrong key) otherwise
 */
async function listedPlan(
  store: Store,
  layout: StreamLayout,
  force: boolean,
  problem: S3ductError,
  listed: Map<string, number>,
): Promise<Plan> {
  const dir = layout.full(`${layout.name}/`);
  const n = listed.size;
  // Keep the cause's exit code (3 no manifest, 5 wrong key): it says what to fix.
  if (!force || n === 0) {
    throw new S3ductError(
      `${problem.message}; ` +
        (n === 0
          ? "no chunk objects of this stream were found either, so there is nothing to delete"
          : `to delete the ${n} chunk objects listed under '${dir}' anyway, add --force`),
      problem.exitCode,
    );
  }
  // A manifest that exists but cannot be read is still part of the stream.
  const manifestKey = layout.full(layout.manifestKey);
  const exists = (await store.head(manifestKey)) !== undefined;
  return {
    chunkKeys: [...listed.keys()],
    orphans: n,
    bytes: sum(listed.values()),
    sizes: listed,
    manifestKey: exists ? manifestKey : undefined,
  };
}

function sum(xs: Iterable<number>): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}
