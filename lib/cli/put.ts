/** `s3duct put`: store stdin as a stream. */
import { Option } from "commander";
import { Command } from "./command.ts";
import { KeyError, UsageError } from "../errors.ts";
import { type Cipher, plainCipher } from "../crypto/cipher.ts";
import { type PutJob, type PutOutcome, putStream } from "../pipeline/put_stream.ts";
import { type PutCommandSettings, putCommandSettings, type PutSettings } from "./put_settings.ts";
import type { Log } from "../ui/log.ts";
import { maxObjectSize } from "../pipeline/chunk_upload.ts";
import { Producer } from "../pipeline/producer.ts";
import type { Concurrency } from "../pipeline/concurrency.ts";
import type { Keyring } from "../pipeline/manifest_io.ts";
import type { SpillLimits } from "../pipeline/spill.ts";
import type { Store } from "../store/store.ts";
import type { SseSettings } from "../store/sse.ts";
import { putSummary } from "../ui/summary.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  collect,
  type RawOptions,
} from "./common.ts";
import { commandContext } from "./context.ts";
import { addMetricsOption } from "./metrics_option.ts";
import {
  addSpillOptions,
  addTransferOptions,
  concurrencyOf,
  limitedStore,
  spillOf,
} from "./transfer.ts";
import { Progress } from "../ui/progress.ts";
import { reportPut } from "./put_report.ts";
import { stateDir } from "../resume/resume_log.ts";
import { addSignOption, signingStoreOf } from "./auth.ts";
import { addSseWriteOptions } from "./sse_options.ts";
import { sseResumeFingerprint } from "../store/sse.ts";
import { addLockOptions } from "./lock_options.ts";
import { extendKept, heldMessage, type LockedPut, lockedPut } from "./lock_put.ts";

/** The `put` command: stores stdin (or a `--from-command` producer's output) as a stream. */
export function putCommand(): Command {
  const cmd = new Command("put").description(
    "Read stdin to EOF and store it as a stream of hashed, chained, optionally encrypted chunks.",
  );
  addStoreOptions(cmd);
  cmd.option(
    "--chunk-size <size>",
    "chunk size: bytes or 64M, 64MiB, 1G, 1.5G (binary units)",
    "512M",
  );
  addSignOption(addKeyOptions(cmd, true))
    .option("--no-encrypt", "store unencrypted even if a key is given, and do not warn")
    .option("--encrypt-manifest", "encrypt the manifest too (the default when encrypting)")
    .option("--no-encrypt-manifest", "keep the manifest plain JSON while encrypting chunks");
  addContentOptions(cmd);
  addFormatOptions(cmd);
  addLockOptions(cmd);
  addSseWriteOptions(cmd);
  addTransferOptions(cmd, "upload");
  addSpillOptions(cmd);
  addOutputOptions(cmd);
  addMetricsOption(cmd);
  return cmd.action(runPut);
}

/** --tag, --description, --storage-class, --clobber, --expected-size, --from-command. */
function addContentOptions(cmd: Command): Command {
  return cmd
    .option("--tag <key=value>", "tag stored in the manifest (repeatable)", collect, [])
    .option("--description <text>", "free text stored in the manifest", "")
    .option(
      "--storage-class <class>",
      "S3 storage class for chunks (manifest stays STANDARD)",
      "STANDARD",
    )
    .option(
      "--clobber",
      "replace an existing stream of this name (objects a lock still retains stay until they may go)",
    )
    .option(
      "--expected-size <size>",
      "how big the stream should be: progress total, and a warning if it ends short",
    )
    .option(
      "--from-command <command>",
      "run this producer (sh -c) and store its stdout instead of stdin; the stream is " +
        "published only if it exits 0 (exit 10 otherwise)",
    );
}

/** --format, --compress, --no-strict-resume. */
function addFormatOptions(cmd: Command): Command {
  cmd.addOption(
    new Option(
      "--format <n>",
      "manifest format: 1 (readable by s3duct 0.4) or 2 (AES only: per-stream subkeys, keyed chain, chunks bound to their position; see README)",
    ).choices(["1", "2"]).default("1"),
  );
  cmd.option(
    "--compress <codec>",
    "compress each chunk before it is encrypted: zstd or zstd:LEVEL (1-19, default 3); needs " +
      "--format 2 and --key; s3duct 0.4 cannot read such streams, and object sizes then " +
      "show how compressible each chunk was (README: Compression)",
  );
  return cmd.option(
    "--no-strict-resume",
    "when resuming, accept stdin ending early: keep the stored chunks that matched and finish",
  );
}

export { parseTags } from "./put_settings.ts";

/** The cipher for the chunks and whether the manifest is sealed too. */
interface Sealing {
  cipher: Cipher;
  encryptManifest: boolean;
}

/** Everything a put writes through, once the settings, keys and store are known usable. */
interface PutRun {
  s: PutCommandSettings;
  log: Log;
  sealing: Sealing;
  sse?: SseSettings;
  locked: LockedPut;
  /** The store with the bandwidth limit and the manifest signer. */
  store: Store;
  concurrency: Concurrency;
  spill?: SpillLimits;
}

async function runPut(o: RawOptions): Promise<void> {
  const run = await preparePut(putCommandSettings(o));
  const stdinFile = run.s.put.fromCommand === undefined ? regularFileSize("/dev/stdin") : undefined;
  const outcome = await upload(run, stdinFile);
  reportPut(outcome, run.s.put, run.log, stdinFile);
  await afterPut(run, outcome);
}

/** Workers, spill, keys, store: every check a put makes before it reads any input. */
async function preparePut(s: PutCommandSettings): Promise<PutRun> {
  // One in-flight chunk holds its sealed copy; the plaintext is dropped once sealed.
  const concurrency = concurrencyOf(s.transfer, "upload", s.put.chunkSize + 64 * 1024);
  const spill = spillOf(s.spill, maxObjectSize(s.put.chunkSize), readableEnv("HOME"));
  let sealing: Sealing | undefined;
  const ctx = await commandContext({ ...s, keys: s.put.encrypt ? s.keys : undefined }, {
    sealing: true,
    checkKeys: (keys, log) => (sealing = sealingOf(keys, s.put, log, s.layout.name)),
    onThrottle: () => concurrency.throttled(),
    lock: s.put.lock,
  });
  const { log } = ctx;
  // Lock flags the bucket cannot honour are refused here, before any chunk is uploaded.
  const locked = await lockedPut(ctx.store, s.put.lock, log);
  const limited = limitedStore(locked.store, s.transfer.bandwidthLimit);
  const store = await signingStoreOf(limited, s.signKey, s.store.bucket, s.layout, log);
  return { s, log, sealing: sealing!, sse: ctx.sse, locked, store, concurrency, spill };
}

/** Stream the input into the store; the producer (--from-command) is started last. */
async function upload(run: PutRun, stdinFile: number | undefined): Promise<PutOutcome> {
  const { s, log } = run;
  const p = s.put;
  const progress = new Progress("put", p.progress, p.quiet, p.expectedSize ?? stdinFile);
  if (p.fromCommand === undefined && Deno.stdin.isTerminal()) {
    log.info("reading the stream from stdin (Ctrl-D ends it)...");
  }
  // Started last, once every option and the store are known to be usable.
  const producer = p.fromCommand === undefined ? undefined : new Producer(p.fromCommand);
  return await putStream({
    store: run.store,
    layout: s.layout,
    input: producer ?? Deno.stdin,
    chunkSize: p.chunkSize,
    cipher: run.sealing.cipher,
    encryptManifest: run.sealing.encryptManifest,
    description: p.description,
    tags: p.tags,
    storageClass: p.storageClass,
    clobber: p.clobber,
    format: p.format,
    compress: p.compress,
    sse: run.sse?.mode,
    resume: resumeOf(run),
    concurrency: run.concurrency,
    spill: run.spill,
    progress,
    log,
  }).catch(async (e) => {
    await producer?.stop(); // a put that failed for its own reasons stops the producer
    throw e;
  }).finally(() => progress.stop());
}

/** Where and as what an interrupted put is resumed; none for format 2. */
function resumeOf({ s, sealing, sse }: PutRun): PutJob["resume"] {
  // Format 2 uploads are not resumable yet: their chunks carry no bucket records.
  if (s.put.format === 2) return undefined;
  return {
    dir: stateDir(readableEnv),
    identity: {
      endpoint: s.store.endpointUrl ?? "aws",
      bucket: s.store.bucket,
      prefix: s.layout.prefix,
      name: s.layout.name,
    },
    // A resume must keep the SSE mode, KMS key and SSE-C key: part of the identity.
    keyFingerprint: sealing.cipher.fingerprint + sseResumeFingerprint(sse),
    strict: s.put.strictResume,
  };
}

/** Object Lock notes, the lock extended to resumed chunks, and the summary. */
async function afterPut(run: PutRun, outcome: PutOutcome): Promise<void> {
  const { s, log, locked, concurrency } = run;
  const layout = s.layout;
  const held = heldMessage(locked.held);
  if (held) log.info(held);
  if (locked.lock && outcome.chunksResumed > 0) {
    const keys = outcome.manifest.chunks.map((c) => layout.full(c.s3_key));
    const n = await extendKept(locked.store, keys, locked.lock);
    if (n) log.info(`Object Lock: extended ${n} chunks kept from the interrupted run to this lock`);
  }
  for (const c of concurrency.changes) log.debug(`workers ${c}`);
  const summary = putSummary({
    manifest: outcome.manifest,
    bucket: s.store.bucket,
    prefix: layout.prefix,
    manifestKey: layout.manifestKey,
    chunksNew: outcome.chunksNew,
    chunksResumed: outcome.chunksResumed,
    chunksReuploaded: outcome.reuploaded,
    publishCheck: outcome.publishCheck,
    workers: concurrency.label,
    peakWorkers: concurrency.peak,
    elapsedMs: outcome.elapsedMs,
    warnings: log.warnings,
  }, s.put.summary);
  if (summary) s.put.summary === "json" ? log.always(summary) : log.info(summary);
}

/**
 * The cipher for the chunks and whether the manifest is sealed too, from the keys given.
 * @throws {KeyError} for a key setup that cannot encrypt as asked
 * @throws {UsageError} for --format 2 without an AES key
 */
function sealingOf(keys: Keyring, s: PutSettings, log: Log, name: string): Sealing {
  const cipher = keys.aes ?? keys.age ?? plainCipher;
  if (cipher.method === "age" && cipher.recipient === null) {
    throw new KeyError(
      "age encryption needs --age-recipient, --age-recipients-file or --age-identity",
    );
  }
  if (s.encryptManifest === true && cipher === plainCipher) {
    throw new KeyError("--encrypt-manifest needs encryption: pass --key or an --age-* option");
  }
  if (cipher === plainCipher && s.encrypt) {
    log.warn(
      `no --key or --age-* given: stream '${name}' will be stored UNENCRYPTED ` +
        "(pass --no-encrypt to silence this)",
    );
  }
  if (s.format === 2 && cipher.method !== "aes-256-gcm") {
    throw new UsageError(
      "--format 2 needs --key (AES); age streams are authenticated with --sign-key instead",
    );
  }
  if (s.format === 2) {
    log.info("note: --format 2 uploads cannot be resumed yet; s3duct 0.4 cannot read them");
  }
  return { cipher, encryptManifest: cipher !== plainCipher && s.encryptManifest !== false };
}

/** Size of stdin when it is a regular file (`< dump.sql`), for progress and a sanity check. */
function regularFileSize(path: string): number | undefined {
  try {
    const st = Deno.statSync(path);
    return st.isFile ? st.size : undefined;
  } catch {
    return undefined; // a pipe, or no --allow-read for /dev/stdin: nothing to compare
  }
}

/** An environment variable, or undefined when unset or not readable (no --allow-env for it). */
function readableEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
