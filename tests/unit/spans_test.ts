/**
 * Multipart parts and ranged GETs are cut by sealed size (lib/store/s3_large.ts): no sliver of a
 * part, and a 64 MiB chunk sealed by any method stays one request each way.
 */
import assert from "node:assert/strict";
import { MULTIPART_THRESHOLD, PART_SIZE, spans } from "../../lib/store/s3_large.ts";
import { AES_OVERHEAD } from "../../lib/crypto/aes.ts";

const MiB = 1024 * 1024;

Deno.test("spans: contiguous, as few as 16 MiB allows, equal but the last, none a sliver", () => {
  for (
    const size of [
      1,
      16 * MiB,
      16 * MiB + 1,
      64 * MiB + 28,
      65 * MiB + 1,
      100 * MiB + 7,
      5 * 1024 * MiB,
    ]
  ) {
    const cuts = spans(size);
    assert.equal(cuts.length, Math.ceil(size / PART_SIZE), `count for ${size}`);
    assert.equal(cuts[0].start, 0);
    assert.equal(cuts.at(-1)!.end, size);
    for (let i = 1; i < cuts.length; i++) assert.equal(cuts[i].start, cuts[i - 1].end);
    const lengths = cuts.map((c) => c.end - c.start);
    assert.ok(Math.max(...lengths) <= PART_SIZE);
    assert.ok(Math.max(...lengths) - Math.min(...lengths) < cuts.length, `even for ${size}`);
    if (cuts.length > 1) assert.ok(Math.min(...lengths) >= 5 * MiB, "S3's 5 MiB part minimum");
  }
});

Deno.test("spans: a 64 MiB chunk sealed by AES or age stays under the multipart threshold", () => {
  const chunk = 64 * MiB;
  assert.ok(chunk + AES_OVERHEAD <= MULTIPART_THRESHOLD);
  // age: 16-byte tag per 64 KiB, plus a header well under 64 KiB.
  assert.ok(chunk + (chunk / 65536) * 16 + 65536 <= MULTIPART_THRESHOLD);
  assert.equal(spans(chunk + AES_OVERHEAD).length, 5, "were it cut: 5 parts, none of 28 bytes");
  assert.ok(spans(chunk + AES_OVERHEAD).every((c) => c.end - c.start > 12 * MiB));
});
