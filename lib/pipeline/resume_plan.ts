/**
 * Before a put reads stdin: what an interrupted upload left (log or bucket records), checked
 * against one listing of the store. Chunks the store still holds intact are kept; the first
 * one missing or different, and every one after it, is not logged again until re-stored.
 */
import type { PutJob } from "./put_stream.ts";
import type { PutTarget } from "./put_target.ts";
import { loadResume, type ResumeState } from "../resume/resume.ts";
import { type ChunkState, compareWithStore } from "../resume/recheck.ts";
import type { ChainedRecord } from "../format/chunk_record.ts";
import type { ResumeLog } from "../resume/resume_log.ts";
import type { ReplayRules } from "../resume/fast_forward.ts";

/** One stored chunk to replay stdin over, and how the store holds it. */
export interface Replay {
  /** The stored chunk's record, from the local log or the bucket. */
  entry: ChainedRecord;
  /** How the listing found its object: "ok", "missing" or "differs". */
  state: ChunkState;
  /** The listed object's size (for the publish check; meaningful when state is "ok"). */
  objectSize: number;
}

/** The resume side of one put run. */
export interface ResumePlan {
  /** Every stored chunk in order; from the first not "ok" on, chunks are stored again. */
  replay: Replay[];
  /** Where the records came from: "none", "local log" or "bucket". */
  source: ResumeState["source"];
  /** The log to append to; undefined without resume or without a writable state folder. */
  log?: ResumeLog;
  /** Chunks already in the new log: later ones are appended as they are stored. */
  logged: number;
  /** How re-read stdin is judged against the replayed chunks. */
  rules: ReplayRules;
}

/** Load, re-check and open the log. Without `job.resume`, an empty plan. */
export async function planResume(job: PutJob, target: PutTarget): Promise<ResumePlan> {
  const rules: ReplayRules = {
    name: job.layout.name,
    strict: job.resume?.strict ?? true,
    lenient: false,
    log: job.log,
  };
  if (!job.resume) return { replay: [], source: "none", logged: 0, rules };
  const state = await loadResume({
    store: job.store,
    layout: job.layout,
    identity: job.resume.identity,
    chunkSize: job.chunkSize,
    keyFingerprint: job.resume.keyFingerprint,
    cipher: job.cipher,
    dir: job.resume.dir,
    fresh: target.replacing !== undefined,
  });
  const replay = await recheckEntries(job, state.entries);
  const intact = replay.findIndex((r) => r.state !== "ok");
  const keep = state.entries.slice(0, intact < 0 ? replay.length : intact);
  // Records rebuilt from the bucket may be another put's: the log starts empty and gets each
  // chunk as this run records it, so a replay that stops early leaves no stale lines behind.
  const logKeep = state.source === "bucket" ? [] : keep;
  const { log, noLog } = await state.openLog(logKeep);
  if (noLog) job.log.warn(`${noLog}; an interrupted put resumes only from the bucket`);
  if (replay.length) {
    const redo = replay.length - keep.length;
    const bad = replay.filter((r) => r.state !== "ok").length;
    job.log.info(
      `resuming '${job.layout.name}' from the ${state.source}: ${replay.length} chunks stored` +
        (bad
          ? `, of which ${bad} are missing or changed in the store and will be uploaded again`
          : "") +
        " (each re-verified against stdin)",
    );
    if (redo > bad) job.log.debug(`  the log resumes after chunk ${keep.length - 1}`);
  }
  rules.lenient = state.source === "bucket";
  rules.logPath = state.path;
  return { replay, source: state.source, log, logged: logKeep.length, rules };
}

async function recheckEntries(job: PutJob, entries: ChainedRecord[]): Promise<Replay[]> {
  if (!entries.length) return [];
  const expected = entries.map((e) => ({
    key: job.layout.full(e.s3_key),
    etag: e.etag,
    objectSize: e.object_size,
  }));
  const { states, sizes } = await compareWithStore(job.store, expected, {
    headWhenNoEtag: true,
  });
  return entries.map((entry, i) => ({ entry, state: states[i], objectSize: sizes[i] ?? -1 }));
}
