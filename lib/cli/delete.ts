/**
 * `s3duct delete`: remove a stream's chunks, any orphan chunks past the manifest (left by
 * interrupted uploads, spec §8 item 15), and the manifest last, so an interrupted delete can be
 * re-run. Without a readable manifest it deletes only with --force, by listing chunk keys.
 */
import { Command } from "./command.ts";
import { S3ductError, StoreError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import { withCommas } from "../format/size.ts";
import { fetchManifest, openManifest } from "../pipeline/manifest_io.ts";
import { signatureKey } from "../pipeline/manifest_auth.ts";
import type { Store } from "../store/store.ts";
import { chunkCandidates } from "../resume/recheck.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  storeOf,
} from "./common.ts";
import { addMetricsOption } from "./metrics_option.ts";
import { activeRun } from "../metrics/run.ts";
import { confirm } from "./confirm.ts";
import { writeStdout } from "../ui/stdout.ts";
import { escapeForTerminal } from "../ui/escape.ts";

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
  const log = makeLog(o);
  const layout = layoutOf(o);
  const keys = await keyringOf(o, log);
  const store = await storeOf(o, log);
  const plan = await planDelete(store, layout, o.force === true, async () => {
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
  const what = `${plan.chunkKeys.length} chunks, ${withCommas(plan.bytes)} bytes`;
  log.info(
    `Stream '${layout.name}': ${what}` +
      (plan.orphans ? ` (${plan.orphans} orphan chunks not in the manifest)` : "") +
      (plan.manifestKey ? ", and the manifest." : ", no manifest."),
  );
  if (o.dryRun) {
    await writeStdout(
      new TextEncoder().encode(all.map((k) => escapeForTerminal(k) + "\n").join("")),
    );
    return;
  }
  for (const k of all) log.debug(`  ${k}`);
  if (!o.force) {
    await confirm(`Delete stream '${layout.name}' (${what}) from ${store.location}?`, "delete");
  }
  const report = await store.delete(plan.chunkKeys);
  const removed = report.deleted.reduce((t, k) => t + (plan.sizes.get(k) ?? 0), 0);
  activeRun()?.moved(removed, report.deleted.length);
  // The manifest goes only once every chunk is gone: a re-run then still finds everything.
  if (last.length && report.failed.length === 0) {
    const m = await store.delete(last);
    report.deleted.push(...m.deleted);
    report.failed.push(...m.failed);
  }
  for (const f of report.failed) log.info(`  FAILED ${f.key}: ${f.reason}`);
  if (report.failed.length) {
    throw new StoreError(
      `deleted ${report.deleted.length} of ${all.length} objects of '${layout.name}'; ` +
        `${report.failed.length} could not be deleted (listed above)` +
        (plan.manifestKey && !report.deleted.includes(plan.manifestKey)
          ? "; the manifest was kept so delete can be re-run"
          : ""),
    );
  }
  log.info(
    `Deleted ${report.deleted.length} objects of '${layout.name}' ` +
      `(${withCommas(plan.bytes)} bytes of chunks).`,
  );
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
  const dir = layout.full(`${layout.name}/`);
  if (problem) {
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

function sum(xs: Iterable<number>): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}
