/**
 * What the listings behind "exit 0 means restorable" cost (issue 11): the publish check before
 * every manifest and plain `verify`, on a stream of many small chunks, beside the HEAD-per-chunk
 * way they replace, measured in the same run against the same server.
 */
import { S3Store } from "../lib/store/s3_store.ts";

/** Where and how to run: Ceph's endpoint and credentials, the CLI, a scratch folder. */
export interface ListingBench {
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
  env: Record<string, string>;
  mainTs: string;
  prefix: string;
  tmp: string;
  chunks: number;
}

/**
 * Put `chunks` x 4 KiB chunks, read the publish check's cost from the JSON summary, time
 * `verify` (listings), then the same check done with one HEAD per chunk (8 at a time).
 * @returns Markdown lines for the report
 */
export async function listingCosts(b: ListingBench): Promise<string[]> {
  const input = `${b.tmp}/listing-input.bin`;
  const data = new Uint8Array(b.chunks * 4096);
  for (let off = 0; off < data.length; off += 65536) {
    crypto.getRandomValues(data.subarray(off, Math.min(off + 65536, data.length)));
  }
  await Deno.writeFile(input, data);
  const common = ["--bucket", b.bucket, "--endpoint-url", b.endpoint, "--prefix", b.prefix];
  const name = ["--name", `listing-${b.chunks}`];
  const put = await run(b, [
    "put",
    ...common,
    ...name,
    "--chunk-size",
    "4K",
    "--no-encrypt",
    "--summary",
    "json",
  ], input);
  const s = JSON.parse(put.stderr.trim().split("\n").at(-1) ?? "{}");
  const verify = await run(b, ["verify", ...common, ...name, "-v"]);
  const pages = /checked with (\d+) listing pages/.exec(verify.stderr)?.[1] ?? "?";
  const heads = await headEach(b, `${b.prefix}/listing-${b.chunks}/`);
  return [
    `### Listing costs (${b.chunks} chunks of 4 KiB, Ceph, same run)`,
    "",
    "| what | requests | seconds |",
    "| --- | ---: | ---: |",
    `| put's publish check (listing) | ${s.publish_check_list_requests ?? "?"} | ${
      s.publish_check_seconds ?? "?"
    } |`,
    `| whole put (for scale) | – | ${put.seconds.toFixed(2)} |`,
    `| \`verify\` (listing; whole command incl. start-up) | ${pages} | ${
      verify.seconds.toFixed(2)
    } |`,
    `| the same check as one HEAD per chunk (8 parallel, in-process) | ${heads.requests} | ${
      heads.seconds.toFixed(2)
    } |`,
    "",
  ];
}

async function run(b: ListingBench, args: string[], stdinFile?: string) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", b.mainTs, ...args],
    stdin: stdinFile ? "piped" : "null",
    stdout: "null",
    stderr: "piped",
    env: b.env,
  }).spawn();
  if (stdinFile) {
    const file = await Deno.open(stdinFile);
    await file.readable.pipeTo(child.stdin);
  }
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`s3duct ${args[0]} exited ${out.code}: ${stderr}`);
  return { stderr, seconds: (performance.now() - started) / 1000 };
}

async function headEach(b: ListingBench, folder: string) {
  const store = new S3Store({
    bucket: b.bucket,
    region: b.region,
    endpoint: b.endpoint,
    credentials: { accessKeyId: b.accessKey, secretAccessKey: b.secretKey },
  });
  const keys: string[] = [];
  for await (const e of store.list(folder)) {
    if (e.kind === "object" && e.key.includes("/chunk-")) keys.push(e.key);
  }
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < keys.length) await store.head(keys[next++]);
  }));
  return { requests: keys.length, seconds: (performance.now() - started) / 1000 };
}
