/**
 * Completion scripts: generated from the commander tree, so every command and option of the
 * real program must appear; the bash one is sourced and its function called like bash would.
 */
import assert from "node:assert/strict";
import { buildApp } from "../../lib/cli/app.ts";
import { cli } from "../helpers.ts";

async function script(shell: string): Promise<string> {
  const r = await cli(["completion", shell]);
  assert.equal(r.code, 0, r.stderr);
  return new TextDecoder().decode(r.stdout);
}

const bashScript = await script("bash");
const file = await Deno.makeTempFile({ suffix: ".bash" });
await Deno.writeTextFile(file, bashScript);

/** COMPREPLY after sourcing the script and completing `words` (the last is being typed). */
async function complete(...words: string[]): Promise<string[]> {
  const arr = words.map((w) => `'${w}'`).join(" ");
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `source '${file}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; ` +
      `_s3duct; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

Deno.test("completion bash: registers _s3duct for s3duct", async () => {
  const out = await new Deno.Command("bash", {
    args: ["-c", `source '${file}' && complete -p s3duct`],
  }).output();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /complete -o default -F _s3duct s3duct/);
});

Deno.test("completion bash: commands, options, choices and shells complete", async () => {
  assert.deepEqual(await complete("s3duct", "pu"), ["put"]);
  assert.deepEqual(await complete("s3duct", "re"), ["restore"]);
  assert.deepEqual(await complete("s3duct", "restore", "--ti"), ["--tier", "--timeout"]);
  assert.deepEqual(await complete("s3duct", "restore", "--tier", ""), [
    "Standard",
    "Bulk",
    "Expedited",
  ]);
  const del = await complete("s3duct", "delete", "--");
  for (const o of ["--dry-run", "--force", "--bucket", "--name", "--key"]) {
    assert.ok(del.includes(o), o);
  }
  assert.ok((await complete("s3duct", "verify", "--d")).includes("--deep"));
  assert.deepEqual(await complete("s3duct", "completion", ""), ["bash", "zsh", "fish"]);
  // A value without suggestions: nothing from us (bash falls back to file names).
  assert.deepEqual(await complete("s3duct", "get", "--bucket", ""), []);
});

Deno.test("completion: every command and option of the program is in all three scripts", async () => {
  const scripts = { bash: bashScript, zsh: await script("zsh"), fish: await script("fish") };
  for (const cmd of buildApp().commands) {
    for (const [shell, text] of Object.entries(scripts)) {
      assert.ok(text.includes(cmd.name()), `${shell}: ${cmd.name()}`);
      for (const o of cmd.options) {
        const long = o.long!;
        const present = shell === "fish"
          ? text.includes(`__fish_seen_subcommand_from ${cmd.name()}' -l ${long.slice(2)} `)
          : text.includes(long);
        assert.ok(present, `${shell}: ${cmd.name()} ${long}`);
      }
    }
  }
  assert.match(scripts.zsh, /^#compdef s3duct\n/);
  assert.match(
    scripts.fish,
    /-n '__fish_seen_subcommand_from restore' -l tier -x -a 'Standard Bulk Expedited'/,
  );
});

Deno.test("completion: an unknown shell is a usage error", async () => {
  const r = await cli(["completion", "tcsh"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bash, zsh, fish/);
});

Deno.test("completion: clean up", () => Deno.remove(file));
