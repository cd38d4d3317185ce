/**
 * Transfer options into typed settings (lib/cli/transfer_settings.ts), and what follows once
 * the chunk size is known (lib/cli/transfer.ts: concurrencyOf, spillOf).
 */
import { throwsUsage } from "../helpers.ts";
import assert from "node:assert/strict";
import {
  DEFAULT_TRANSFER,
  spillSettings,
  transferSettings,
} from "../../lib/cli/transfer_settings.ts";
import { concurrencyOf, limitedStore, spillOf } from "../../lib/cli/transfer.ts";
import type { Store } from "../../lib/store/store.ts";

const MiB = 1024 ** 2;

Deno.test("transferSettings: defaults are adaptive 2..16, no memory or bandwidth cap", () => {
  const t = transferSettings({ uploadWorkers: "auto" }, "upload");
  assert.deepEqual(t, {
    workers: { min: 2, max: 16 },
    memoryLimit: undefined,
    bandwidthLimit: undefined,
  });
  assert.deepEqual(DEFAULT_TRANSFER.workers, t.workers);
});

Deno.test("transferSettings: fixed, bounds, memory and bandwidth typed", () => {
  const t = transferSettings(
    { downloadWorkers: "4", memoryLimit: "1G", bandwidthLimit: "20M" },
    "download",
  );
  assert.deepEqual(t, { workers: { fixed: 4 }, memoryLimit: 1024 * MiB, bandwidthLimit: 20 * MiB });
  const a = transferSettings({ minUploadWorkers: "3", maxUploadWorkers: "5" }, "upload");
  assert.deepEqual(a.workers, { min: 3, max: 5 });
});

Deno.test("transferSettings: every refusal names the flag of its direction", () => {
  throwsUsage(
    () => transferSettings({ uploadWorkers: "0" }, "upload"),
    /^--upload-workers must be/,
  );
  throwsUsage(
    () => transferSettings({ downloadWorkers: "2", minDownloadWorkers: "1" }, "download"),
    /^--min\/--max-download-workers only apply with --download-workers auto$/,
  );
  throwsUsage(
    () => transferSettings({ minUploadWorkers: "9", maxUploadWorkers: "3" }, "upload"),
    /^--min-upload-workers must be <= --max-upload-workers$/,
  );
  throwsUsage(
    () => transferSettings({ maxUploadWorkers: "257" }, "upload"),
    /--max-upload-workers/,
  );
  throwsUsage(
    () => transferSettings({ memoryLimit: "lots" }, "upload"),
    /^--memory-limit 'lots' is not a size/,
  );
  throwsUsage(
    () => transferSettings({ bandwidthLimit: "1000" }, "upload"),
    /^--bandwidth-limit '1000' is out of range/,
  );
});

Deno.test("concurrencyOf: the memory budget caps fixed and adaptive counts", () => {
  const fixed = transferSettings({ uploadWorkers: "3", memoryLimit: "8M" }, "upload");
  assert.equal(concurrencyOf(fixed, "upload", 2 * MiB).label, "3");
  throwsUsage(
    () => concurrencyOf(fixed, "upload", 4 * MiB),
    /^--upload-workers 3 needs 12582912 bytes in flight, over --memory-limit 8388608; use at most 2/,
  );
  throwsUsage(
    () => concurrencyOf(fixed, "upload", 16 * MiB),
    /cannot hold one 16777216-byte chunk in flight; raise --memory-limit or lower --chunk-size$/,
  );
  const auto = transferSettings({ memoryLimit: "8M" }, "upload");
  // 8 MiB holds two 4 MiB chunks: the adaptive range is clamped to 2..2.
  assert.equal(concurrencyOf(auto, "upload", 4 * MiB).label, "auto (2)");
});

Deno.test("spillSettings + spillOf: none, defaults, limits and the too-small disk budget", () => {
  assert.equal(spillSettings({ chunkSize: "512M" }), undefined);
  assert.equal(spillOf(undefined, MiB, "/home/u"), undefined);
  const dflt = spillSettings({ bufferChunks: "3", chunkSize: "1M" });
  assert.deepEqual(spillOf(dflt, MiB, "/home/u"), {
    dir: "/home/u/.s3duct/scratch",
    maxChunks: 3,
    maxBytes: 3 * MiB,
  });
  const disk = spillSettings({ scratchDir: "/s", diskspaceLimit: "10M", chunkSize: "1M" });
  assert.deepEqual(spillOf(disk, 2 * MiB, undefined), {
    dir: "/s",
    maxChunks: 5,
    maxBytes: 10 * MiB,
  });
  const small = spillSettings({ diskspaceLimit: "1M", chunkSize: "4M" });
  throwsUsage(
    () => spillOf(small, 4 * MiB + 28, undefined),
    /^--diskspace-limit \(1M\) must be >= --chunk-size \(4M\) plus sealing overhead \(4194332 bytes in all\)$/,
  );
  throwsUsage(() => spillSettings({ bufferChunks: "0" }), /^--buffer-chunks must be/);
  throwsUsage(() => spillSettings({ diskspaceLimit: "x" }), /^--diskspace-limit 'x' is not a size/);
});

Deno.test("limitedStore: unchanged without a limit, wrapped with one", () => {
  const store = { location: "mem://" } as unknown as Store;
  assert.equal(limitedStore(store, undefined), store);
  assert.notEqual(limitedStore(store, 1024 * 1024), store);
});
