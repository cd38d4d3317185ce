/** The package is publishable: MIT licensed, every export typed (`deno publish --dry-run`). */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("deno publish --dry-run passes (license, slow types, included files)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /Dry run complete/);
  assert.match(text, /LICENSE/);
  assert.doesNotMatch(text, /tests\/unit\//, "tests are not published");
  const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
  assert.equal(config.license, "MIT");
  assert.match(Deno.readTextFileSync(`${root}LICENSE`), /Copyright \(c\) 2026 s3duct contributors/);
});
