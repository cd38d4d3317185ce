/**
 * `s3duct restore`: thaw the archived (GLACIER / DEEP_ARCHIVE) chunks of a stream so `get` can
 * read them, optionally waiting, never forever. Every chunk is HEADed whatever the manifest says:
 * lifecycle rules move objects to archive classes without touching the manifest.
 */
import { Option } from "commander";
import { Command } from "./command.ts";
import { IntegrityError, StoreError, UsageError } from "../errors.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { ChunkRecord, Manifest } from "../format/manifest.ts";
import { planRange } from "../format/range.ts";
import {
  assertRestored,
  type ChunkState,
  chunkState,
  chunkStates,
  mapLimit,
  restoreHint,
} from "../pipeline/archive.ts";
import { fetchManifest, openManifest } from "../pipeline/manifest_io.ts";
import type { RestoreTier, Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  intOption,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  storeOf,
} from "./common.ts";
import { addRangeOptions, describeRange, rangeOf } from "./range_options.ts";

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

/**
 * The hook `get` (and `verify --deep`) runs before downloading: archived chunks fail early.
 * Only the chunks to be fetched (`records`, a range's) are checked.
 */
export function archiveCheck(
  store: Store,
  layout: StreamLayout,
  o: RawOptions,
): (m: Manifest, records?: readonly ChunkRecord[]) => Promise<void> {
  const hint = restoreHint({
    bucket: String(o.bucket),
    name: layout.name,
    prefix: o.prefix as string | undefined,
    endpointUrl: o.endpointUrl as string | undefined,
    keyed: o.key !== undefined || ((o.ageIdentity as string[] | undefined) ?? []).length > 0,
  });
  return (m, records) => assertRestored(store, layout, m, hint, records);
}

/** `90s`, `30m`, `2h`, `1d`, `1.5h`; a bare number is seconds. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/i.exec(v.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m?.[2] ?? "s").toLowerCase() as "s"];
  const ms = m ? Number(m[1]) * unit * 1000 : NaN;
  if (!(ms > 0)) throw new UsageError(`${flag} '${v}' is not a duration; use e.g. 90s, 30m, 2h`);
  return ms;
}

interface Counts {
  initiated: number;
  in_progress: number;
  restored: number;
  readable: number;
  missing: number;
}

async function runRestore(o: RawOptions): Promise<void> {
  const log = makeLog(o);
  const layout = layoutOf(o);
  const days = intOption(o.days, "--days", 1, 36500);
  const tier = o.tier as RestoreTier;
  const pollMs = intOption(o.pollInterval, "--poll-interval", 1, 86400) * 1000;
  const timeoutMs = parseDuration(String(o.timeout), "--timeout");
  const deadline = Date.now() + timeoutMs;
  const request = rangeOf(o);
  const keys = await keyringOf(o, log);
  const store = await storeOf(o, log);
  const { manifest } = await openManifest(await fetchManifest(store, layout), layout, keys);
  // A range thaws only the chunks it covers (get --offset/--length fetches no others).
  const range = planRange(manifest.chunks.map((r) => r.size), request, layout.name);
  const records = manifest.chunks.slice(range.first, range.end);
  const total = records.length;
  log.info(
    `Stream '${layout.name}' has ${manifest.chunks.length} chunks (manifest storage class: ${
      manifest.storage_class ?? "not recorded"
    })` + (request ? `; ${describeRange(range, manifest.chunks.length)} asked for.` : "."),
  );
  const chunkKey = (i: number) => layout.full(records[i].s3_key);
  let states = await chunkStates(store, layout, manifest, records);
  const counts: Counts = { initiated: 0, in_progress: 0, restored: 0, readable: 0, missing: 0 };
  const outcomes = await mapLimit(states, 8, async (s, i): Promise<ChunkState | "initiated"> => {
    if (s !== "needs-restore") return s;
    const r = await store.restore(chunkKey(i), days, tier);
    log.debug(`  chunk ${i}: restore ${r}`);
    return r === "available" ? "restored" : r;
  });
  for (const s of outcomes) {
    if (s === "initiated") counts.initiated++;
    else if (s === "in-progress") counts.in_progress++;
    else if (s === "restored") counts.restored++;
    else if (s === "readable") counts.readable++;
    else if (s === "missing") counts.missing++;
  }
  states = outcomes.map((s) => (s === "initiated" ? "in-progress" : s));
  log.info(
    `Restore of '${layout.name}': ${counts.initiated} initiated, ${counts.in_progress} already ` +
      `in progress, ${counts.restored} restored, ${counts.readable} readable without restore` +
      (counts.missing ? `, ${counts.missing} MISSING` : "") + ` (${total} chunks).`,
  );
  const summary = (status: string, extra: Record<string, unknown> = {}) => {
    if (o.summary !== "json") return;
    const pending = states.filter((s) => s === "in-progress").length;
    log.always(
      JSON.stringify({
        status,
        stream: layout.name,
        chunks_total: total,
        ...(request ? { offset: range.offset, length: range.length } : {}),
        ...counts,
        pending,
        ...extra,
      }),
    );
  };
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
  if (!o.wait) {
    log.info(
      "Restores take minutes to hours (DEEP_ARCHIVE: up to 48 h). Re-run to check, or add --wait.",
    );
    return summary("pending");
  }
  await waitForRestore(store, states, chunkKey, { days, tier, pollMs, deadline, timeoutMs, log });
  log.info("All chunks restored: 's3duct get' can run now.");
  summary("available");
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
