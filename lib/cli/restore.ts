/**
 * `s3duct restore`: thaw the archived (GLACIER / DEEP_ARCHIVE) chunks of a stream so `get` can
 * read them, optionally waiting, never forever. Every chunk is HEADed whatever the manifest says:
 * lifecycle rules move objects to archive classes without touching the manifest.
 */
import { Option } from "commander";
import { Command } from "./command.ts";
import { IntegrityError, StoreError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import { planRange, type RangePlan, type RangeRequest } from "../format/range.ts";
import { type ChunkState, chunkState, chunkStates, mapLimit } from "../pipeline/archive.ts";
import { fetchManifest, type Keyring, openManifest } from "../pipeline/manifest_io.ts";
import type { RestoreTier, Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import { addKeyOptions, addOutputOptions, addStoreOptions, type RawOptions } from "./common.ts";
import { type RestoreSettings, restoreSettings } from "./command_settings.ts";
import { commandContext } from "./context.ts";
import { addRangeOptions, describeRange } from "./range_options.ts";

const DEFAULT_TIMEOUT = "72h";

/**
 * The `restore` command: requests thaws of a stream's archived chunks, optionally waiting for them.
 */
export function restoreCommand(): Command {
  const cmd = new Command("restore").description(
    "Request restores of a stream's GLACIER / DEEP_ARCHIVE chunks (GLACIER_IR and other classes " +
      "are readable already) and report how many are initiated, in progress and readable. " +
      "With --wait, poll until all are readable or --timeout passes (exit 7).",
  );
  addStoreOptions(cmd);
  addKeyOptions(cmd)
    .option("--days <n>", "days the restored copies stay readable", "7")
    .addOption(
      new Option("--tier <tier>", "retrieval tier (speed vs cost)")
        .choices(["Standard", "Bulk", "Expedited"]).default("Standard"),
    )
    .option("--wait", "block until every chunk is readable (or --timeout)")
    .option("--poll-interval <seconds>", "seconds between status checks with --wait", "60")
    .option(
      "--timeout <duration>",
      "give up waiting after this long, e.g. 90s, 30m, 2h, 1d",
      DEFAULT_TIMEOUT,
    );
  addRangeOptions(cmd, "restore");
  addOutputOptions(cmd);
  return cmd.action(runRestore);
}

interface Counts {
  initiated: number;
  in_progress: number;
  restored: number;
  readable: number;
  missing: number;
}

/** The chunks a restore covers: the manifest's, or a range's. */
interface Scope {
  manifest: Manifest;
  range: RangePlan;
  records: ChunkRecord[];
  chunkKey: (i: number) => string;
}

async function runRestore(o: RawOptions): Promise<void> {
  const s = restoreSettings(o);
  const deadline = Date.now() + s.timeoutMs;
  const { log, layout, keys, store } = await commandContext(s);
  const scope = await scopeOf(store, layout, keys, s.range, log);
  const counts: Counts = { initiated: 0, in_progress: 0, restored: 0, readable: 0, missing: 0 };
  const states = await requestRestores(store, layout, scope, s, counts, log);
  const summary = (status: string) =>
    restoreSummary(s, layout.name, scope, { counts, states, status }, log);
  if (counts.missing) {
    summary("fail");
    throw new IntegrityError(
      `${counts.missing} chunk objects of '${layout.name}' are missing; the stream cannot be read in full`,
    );
  }
  if (!states.includes("in-progress")) {
    log.info("All chunks are readable: 's3duct get' can run now.");
    return summary("available");
  }
  if (!s.wait) {
    log.info(
      "Restores take minutes to hours (DEEP_ARCHIVE: up to 48 h). Re-run to check, or add --wait.",
    );
    return summary("pending");
  }
  const { days, tier, pollMs, timeoutMs } = s;
  const w = { days, tier, pollMs, deadline, timeoutMs, log };
  await waitForRestore(store, states, scope.chunkKey, w);
  log.info("All chunks restored: 's3duct get' can run now.");
  summary("available");
}

/** The manifest and the chunks asked for; says how many there are. */
async function scopeOf(
  store: Store,
  layout: StreamLayout,
  keys: Keyring,
  request: RangeRequest | undefined,
  log: Log,
): Promise<Scope> {
  const { manifest } = await openManifest(await fetchManifest(store, layout), layout, keys);
  // A range thaws only the chunks it covers (get --offset/--length fetches no others).
  const range = planRange(manifest.chunks.map((r) => r.size), request, layout.name);
  const records = manifest.chunks.slice(range.first, range.end);
  log.info(
    `Stream '${layout.name}' has ${manifest.chunks.length} chunks (manifest storage class: ${
      manifest.storage_class ?? "not recorded"
    })` + (request ? `; ${describeRange(range, manifest.chunks.length)} asked for.` : "."),
  );
  return { manifest, range, records, chunkKey: (i) => layout.full(records[i].s3_key) };
}

/** Ask for a restore of every archived chunk; counts what each chunk's state was. */
async function requestRestores(
  store: Store,
  layout: StreamLayout,
  scope: Scope,
  s: RestoreSettings,
  counts: Counts,
  log: Log,
): Promise<ChunkState[]> {
  const states = await chunkStates(store, layout, scope.manifest, scope.records);
  const outcomes = await mapLimit(states, 8, async (st, i): Promise<ChunkState | "initiated"> => {
    if (st !== "needs-restore") return st;
    const r = await store.restore(scope.chunkKey(i), s.days, s.tier);
    log.debug(`  chunk ${i}: restore ${r}`);
    return r === "available" ? "restored" : r;
  });
  for (const st of outcomes) {
    if (st === "initiated") counts.initiated++;
    else if (st === "in-progress") counts.in_progress++;
    else if (st === "restored") counts.restored++;
    else if (st === "readable") counts.readable++;
    else if (st === "missing") counts.missing++;
  }
  log.info(
    `Restore of '${layout.name}': ${counts.initiated} initiated, ${counts.in_progress} already ` +
      `in progress, ${counts.restored} restored, ${counts.readable} readable without restore` +
      (counts.missing ? `, ${counts.missing} MISSING` : "") + ` (${scope.records.length} chunks).`,
  );
  return outcomes.map((st) => (st === "initiated" ? "in-progress" : st));
}

/** The --summary json line (nothing for other formats). */
function restoreSummary(
  s: RestoreSettings,
  name: string,
  scope: Scope,
  r: { counts: Counts; states: ChunkState[]; status: string },
  log: Log,
): void {
  if (s.output.summary !== "json") return;
  const pending = r.states.filter((st) => st === "in-progress").length;
  log.always(
    JSON.stringify({
      status: r.status,
      stream: name,
      chunks_total: scope.records.length,
      ...(s.range ? { offset: scope.range.offset, length: scope.range.length } : {}),
      ...r.counts,
      pending,
    }),
  );
}

/** Poll the pending chunks until all are readable; StoreError (exit 7) at the deadline. */
async function waitForRestore(
  store: Store,
  states: ChunkState[],
  chunkKey: (i: number) => string,
  w: {
    days: number;
    tier: RestoreTier;
    pollMs: number;
    deadline: number;
    timeoutMs: number;
    log: Log;
  },
): Promise<void> {
  w.log.info(`Waiting for restores (checking every ${w.pollMs / 1000} s)...`);
  let pending = states.flatMap((s, i) => (s === "in-progress" ? [i] : []));
  while (pending.length) {
    const left = w.deadline - Date.now();
    if (left <= 0) {
      throw new StoreError(
        `timed out after ${w.timeoutMs / 1000} s waiting for restores: ` +
          `${states.length - pending.length} of ${states.length} chunks readable, ` +
          `${pending.length} still restoring (they continue; run restore --wait again to keep waiting)`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(w.pollMs, left)));
    const now = await mapLimit(pending, 16, async (i) => {
      const s = chunkState(await store.head(chunkKey(i)));
      // A restore that lapsed (expired or was lost) is asked for again rather than awaited forever.
      if (s === "needs-restore") await store.restore(chunkKey(i), w.days, w.tier);
      if (s === "missing") throw new IntegrityError(`chunk object '${chunkKey(i)}' disappeared`);
      return s;
    });
    pending = pending.filter((_, j) => now[j] === "in-progress" || now[j] === "needs-restore");
    w.log.info(`  ${states.length - pending.length}/${states.length} chunks readable`);
  }
}
