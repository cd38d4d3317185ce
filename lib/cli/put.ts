/** `s3duct put`: store stdin as a stream. */
import { Option } from "commander";
import { Command } from "./command.ts";
import { KeyError, UsageError } from "../errors.ts";
import { plainCipher } from "../crypto/cipher.ts";
import { type PutOutcome, putStream } from "../pipeline/put_stream.ts";
import { type PutSettings, putSettings } from "./put_settings.ts";
import type { Cipher } from "../crypto/cipher.ts";
import type { Log } from "../ui/log.ts";
import { maxObjectSize } from "../pipeline/chunk_upload.ts";
import { Producer } from "../pipeline/producer.ts";
import { putSummary } from "../ui/summary.ts";
import {
  addKeyOptions,
  addOutputOptions,
  addStoreOptions,
  collect,
  keyringOf,
  layoutOf,
  makeLog,
  type RawOptions,
  storeOf,
} from "./common.ts";
import { addMetricsOption } from "./metrics_option.ts";
import {
  addSpillOptions,
  addTransferOptions,
  concurrencyOf,
  limitedStore,
  spillOf,
} from "./transfer.ts";
import { Progress } from "../ui/progress.ts";
import { withCommas } from "../format/size.ts";
import { storedSize } from "../pipeline/compress_step.ts";
import { reservedPathProblem } from "../format/layout.ts";
import { stateDir } from "../resume/resume_log.ts";
import { addSignOption, signingStoreOf } from "./auth.ts";
import { addSseWriteOptions, sseOf } from "./sse_options.ts";
import { sseResumeFingerprint } from "../store/sse.ts";
import { addLockOptions } from "./lock_options.ts";
import { extendKept, heldMessage, lockedPut } from "./lock_put.ts";

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
    .option("--no-encrypt-manifest", "keep the manifest plain JSON while encrypting chunks")
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
  cmd.option(
    "--no-strict-resume",
    "when resuming, accept stdin ending early: keep the stored chunks that matched and finish",
  );
  addLockOptions(cmd);
  addSseWriteOptions(cmd);
  addTransferOptions(cmd, "upload");
  addSpillOptions(cmd);
  addOutputOptions(cmd);
  addMetricsOption(cmd);
  return cmd.action(runPut);
}

export { parseTags } from "./put_settings.ts";

async function runPut(o: RawOptions): Promise<void> {
  const log = makeLog(o);
  const layout = layoutOf(o);
  const reserved = reservedPathProblem(layout.path);
  if (reserved) throw new UsageError(`--prefix/--name '${layout.path}': ${reserved}`);
  const s = putSettings(o);
  // One in-flight chunk holds its sealed copy; the plaintext is dropped once sealed.
  const concurrency = concurrencyOf(o, "upload", s.chunkSize + 64 * 1024);
  const spill = spillOf(o, maxObjectSize(s.chunkSize), readableEnv("HOME"));
  const { cipher, encryptManifest } = await sealingOf(o, s, log, layout.name);
  const sse = await sseOf(o, (m) => log.warn(m)); // storeOf gets the same settings
  // Lock flags the bucket cannot honour are refused here, before any chunk is uploaded.
  const locked = await lockedPut(
    await storeOf(o, log, () => concurrency.throttled(), s.lock),
    s.lock,
    log,
  );
  const store = await signingStoreOf(
    limitedStore(locked.store, o),
    o,
    layout,
    log,
  );
  const stdinFile = s.fromCommand === undefined ? regularFileSize("/dev/stdin") : undefined;
  const progress = new Progress("put", s.progress, s.quiet, s.expectedSize ?? stdinFile);
  if (s.fromCommand === undefined && Deno.stdin.isTerminal()) {
    log.info("reading the stream from stdin (Ctrl-D ends it)...");
  }
  // Started last, once every option and the store are known to be usable.
  const producer = s.fromCommand === undefined ? undefined : new Producer(s.fromCommand);
  const outcome = await putStream({
    store,
    layout,
    input: producer ?? Deno.stdin,
    chunkSize: s.chunkSize,
    cipher,
    encryptManifest,
    description: s.description,
    tags: s.tags,
    storageClass: s.storageClass,
    clobber: s.clobber,
    format: s.format,
    compress: s.compress,
    sse: sse?.mode,
    // Format 2 uploads are not resumable yet: their chunks carry no bucket records.
    resume: s.format === 2 ? undefined : {
      dir: stateDir(readableEnv),
      identity: {
        endpoint: String(o.endpointUrl ?? "aws"),
        bucket: String(o.bucket),
        prefix: layout.prefix,
        name: layout.name,
      },
      // A resume must keep the SSE mode, KMS key and SSE-C key: part of the identity.
      keyFingerprint: cipher.fingerprint + sseResumeFingerprint(sse),
      strict: s.strictResume,
    },
    concurrency,
    spill,
    progress,
    log,
  }).catch(async (e) => {
    await producer?.stop(); // a put that failed for its own reasons stops the producer
    throw e;
  }).finally(() => progress.stop());
  reportPut(outcome, s, log, stdinFile);
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
    bucket: String(o.bucket),
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
  }, s.summary);
  if (summary) s.summary === "json" ? log.always(summary) : log.info(summary);
}

/**
 * The cipher for the chunks and whether the manifest is sealed too, from the keys given.
 * @throws {KeyError} for a key setup that cannot encrypt as asked
 * @throws {UsageError} for --format 2 without an AES key
 */
async function sealingOf(
  o: RawOptions,
  s: PutSettings,
  log: Log,
  name: string,
): Promise<{ cipher: Cipher; encryptManifest: boolean }> {
  const keys = s.encrypt ? await keyringOf(o, log, true) : {};
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

/** What the user should hear about a finished put besides the summary. */
function reportPut(outcome: PutOutcome, s: PutSettings, log: Log, stdinFile?: number): void {
  const total = outcome.manifest.total_bytes;
  const expected = s.expectedSize;
  if (expected !== undefined && total < expected) {
    log.warn(
      `--expected-size was ${withCommas(expected)} bytes but the stream ended at ` +
        `${withCommas(total)} bytes (short by ${withCommas(expected - total)}); ` +
        "it may be truncated",
    );
  }
  if (stdinFile !== undefined && stdinFile !== total) {
    log.warn(
      `stdin is a regular file of ${withCommas(stdinFile)} bytes but ${withCommas(total)} were ` +
        "stored; the file may have changed during the upload",
    );
  }
  if (outcome.manifest.chunk_count === 0) log.info(`note: stdin was empty; stored an empty stream`);
  const m = outcome.manifest;
  if (m.compression) {
    const stored = m.chunks.reduce((t, r) => t + storedSize(r), 0);
    const packed = m.chunks.filter((r) => r.stored_size !== undefined).length;
    log.info(
      `${m.compression}: ${packed} of ${m.chunk_count} chunks compressed (the others stored as ` +
        `they are); ${withCommas(total)} bytes stored as ${withCommas(stored)} before sealing`,
    );
  }
  if (outcome.chunksSpilled > 0) {
    log.info(`${outcome.chunksSpilled} chunks waited in the scratch spill while uploads were busy`);
  }
  const { missing, differs } = outcome.reuploaded;
  if (missing + differs > 0) {
    log.info(
      `uploaded ${missing + differs} logged chunks again: ${missing} missing from the store, ` +
        `${differs} changed there since they were logged`,
    );
  }
  if (outcome.orphansDeleted > 0) {
    log.info(
      outcome.replaced
        ? `replaced the old stream; removed ${outcome.orphansDeleted} chunks it no longer uses`
        : `removed ${outcome.orphansDeleted} chunks left by interrupted uploads of this stream`,
    );
  }
  log.debug(
    `publish check: ${outcome.manifest.chunk_count} chunks confirmed by ` +
      `${outcome.publishCheck.listRequests} listing pages in ` +
      `${(outcome.publishCheck.elapsedMs / 1000).toFixed(2)} s`,
  );
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
