/**
 * The resume log on disk (issue #13 reshape): a log as earlier versions wrote it still reads,
 * a new log is written line for line as before, and loadResume keeps only the chained prefix,
 * re-spelled to the prefix asked for.
 */
import assert from "node:assert/strict";
import { plainCipher } from "../../lib/crypto/cipher.ts";
import { chainAfter } from "../../lib/format/chain.ts";
import { StreamLayout } from "../../lib/format/layout.ts";
import { loadResume } from "../../lib/resume/resume.ts";
import { logPath, parseLog, type ResumeHeader, ResumeLog } from "../../lib/resume/resume_log.ts";
import { FsStore } from "../../lib/store/fs_store.ts";

const H1 = "1".repeat(64);
const H2 = "2".repeat(64);
const C0 = chainAfter("", { sha256: H1, sha3_256: H2 });
const C1 = chainAfter(C0, { sha256: H2, sha3_256: H1 });
const HEADER: ResumeHeader = {
  s3duct_resume: 1,
  endpoint: "file:///x",
  bucket: "b",
  prefix: "p/",
  name: "s",
  chunk_size: 4,
  key_fingerprint: "none",
};
/** A log as put writes it: header, a line with object_size, an older one without, a torn tail. */
const LINES = [
  JSON.stringify(HEADER),
  `{"chunk":0,"size":4,"sha256":"${H1}","sha3_256":"${H2}","chain":"${C0}",` +
  `"s3_key":"s/chunk-000000","etag":"\\"e0\\"","object_size":4}`,
  `{"chunk":1,"size":2,"sha256":"${H2}","sha3_256":"${H1}","chain":"${C1}",` +
  `"s3_key":"s/g0000000a/chunk-000001","etag":"\\"e1\\""}`,
];
const TEXT = LINES.map((l) => l + "\n").join("");

Deno.test("resume log: an existing log reads (torn tail dropped) and is rewritten byte for byte", async () => {
  const parsed = parseLog(TEXT + '{"chunk":2,"si');
  assert.deepEqual(parsed.header, HEADER);
  assert.deepEqual(parsed.entries.map((e) => [e.index, e.chain, e.object_size]), [
    [0, C0, 4],
    [1, C1, undefined],
  ]);
  const dir = await Deno.makeTempDir({ prefix: "s3duct-resume-log-" });
  try {
    const path = `${dir}/state/x.jsonl`;
    const log = await ResumeLog.create(path, HEADER, parsed.entries.slice(0, 1));
    await log.append(parsed.entries[1]);
    await log.close();
    assert.equal(await Deno.readTextFile(path), TEXT);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resume log: a line out of order or not a record ends the entries", () => {
  const swapped = [LINES[0], LINES[2], LINES[1]].map((l) => l + "\n").join("");
  assert.equal(parseLog(swapped).entries.length, 0);
  const bad = [LINES[0], LINES[1], '{"chunk":1}'].map((l) => l + "\n").join("");
  assert.equal(parseLog(bad).entries.length, 1);
  assert.deepEqual(parseLog(`{"s3duct_resume":2}\n${LINES[1]}\n`), { entries: [] });
});

Deno.test("loadResume: keeps the chained prefix of the local log, keys re-spelled to the prefix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3duct-resume-load-" });
  try {
    const identity = { endpoint: "file:///x", bucket: "b", prefix: "p/", name: "s" };
    // Chunk 1's chain is damaged: only chunk 0 is kept.
    const damaged = LINES[2].replace(C1, C0);
    await Deno.writeTextFile(
      logPath(dir, identity),
      [LINES[0], LINES[1], damaged].join("\n") + "\n",
    );
    const state = await loadResume({
      store: new FsStore(dir, "b"),
      // The same objects named as --name p/s with no prefix.
      layout: new StreamLayout("p/s"),
      identity,
      chunkSize: 4,
      keyFingerprint: "none",
      cipher: plainCipher,
      dir,
      fresh: true,
    });
    assert.equal(state.source, "local log");
    assert.deepEqual(state.entries.map((e) => [e.index, e.s3_key, e.chain]), [
      [0, "p/s/chunk-000000", C0],
    ]);
    await assert.rejects(
      loadResume({
        store: new FsStore(dir, "b"),
        layout: new StreamLayout("s", "p/"),
        identity,
        chunkSize: 8,
        keyFingerprint: "none",
        cipher: plainCipher,
        dir,
        fresh: true,
      }),
      /made with --chunk-size 4/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
