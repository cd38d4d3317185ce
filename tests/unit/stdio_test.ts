/** stdout failures and a directory on stdin get their own exit codes (issue 12.6 D). */
import assert from "node:assert/strict";
import { InputError, OutputClosedError, OutputError } from "../../lib/errors.ts";
import { writeStdout } from "../../lib/ui/stdout.ts";
import { checkStdin } from "../../lib/cli/input.ts";

const failing = (e: Error) => ({ write: () => Promise.reject(e) });

Deno.test("writeStdout: a reader that left is 141 (quiet), as for get | head", async () => {
  for (const e of [new Deno.errors.BrokenPipe("x"), new Deno.errors.ConnectionReset("x")]) {
    await assert.rejects(
      writeStdout(new Uint8Array(3), failing(e)),
      (r: unknown) => r instanceof OutputClosedError && r.exitCode === 141,
    );
  }
});

Deno.test("writeStdout: a full disk or a bad descriptor is 12 with one line saying why", async () => {
  const nospc = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  await assert.rejects(writeStdout(new Uint8Array(3), failing(nospc)), (r: unknown) => {
    assert.ok(r instanceof OutputError);
    assert.equal(r.exitCode, 12);
    assert.equal(r.message, "cannot write to stdout: no space left on the device");
    return true;
  });
  await assert.rejects(
    writeStdout(new Uint8Array(3), failing(new Deno.errors.BadResource("Bad resource ID\nmore"))),
    (r: unknown) =>
      r instanceof OutputError && r.message === "cannot write to stdout: Bad resource ID",
  );
});

Deno.test("writeStdout: short writes are continued until every byte is out", async () => {
  const got: number[] = [];
  const trickle = {
    write: (p: Uint8Array) => {
      got.push(p[0]);
      return Promise.resolve(1);
    },
  };
  await writeStdout(new Uint8Array([1, 2, 3, 4]), trickle);
  assert.deepEqual(got, [1, 2, 3, 4]);
});

Deno.test("checkStdin: a directory is InputError (13); anything else, or no answer, passes", () => {
  assert.throws(
    () => checkStdin(() => ({ isDirectory: () => true })),
    (e: unknown) =>
      e instanceof InputError && e.exitCode === 13 && /stdin is a directory/.test(e.message),
  );
  checkStdin(() => ({ isDirectory: () => false }));
  checkStdin(() => {
    throw new Error("EBADF");
  });
});
