/** `s3duct keygen`: make keys without any other tool. */
import { Command } from "./command.ts";
import {
  generateHybridIdentity,
  generateX25519Identity,
  identityToRecipient,
} from "age-encryption";
import { ExistsError, UsageError } from "../errors.ts";
import type { RawOptions } from "./common.ts";
import { keygenSettings } from "./command_settings.ts";
import { toHex } from "../format/chain.ts";
import { generateSigningKey } from "../crypto/signing.ts";
import { writeStderr } from "../ui/log.ts";
import { requireOpenStdout, writeStdout } from "../ui/stdout.ts";

const print = (text: string) => writeStdout(new TextEncoder().encode(text));

/** The `keygen` command. */
export function keygenCommand(): Command {
  return new Command("keygen")
    .description(
      "Generate an age identity (prints its recipient), with --aes a 32-byte AES key in hex, or\n" +
        "with --sign an Ed25519 manifest signing key (prints its public key, for --verify-key).\n" +
        "Files are created with mode 0600 and never overwritten.",
    )
    .option("--pq", "post-quantum hybrid identity (ML-KEM-768 + X25519, recipient age1pq1...)")
    .option(
      "--aes",
      "an AES-256 key (64 hex digits) for --key file:/env: instead of an age identity",
    )
    .option(
      "--sign",
      "an Ed25519 manifest signing key for put --sign-key (public key for --verify-key printed)",
    )
    .option("-o, --output <file>", "write the secret to this new file instead of stdout")
    .action(runKeygen);
}

async function runKeygen(o: RawOptions): Promise<void> {
  const s = keygenSettings(o);
  // Without -o the secret exists only on stdout: a closed stdout would lose it unseen.
  if (!s.output) requireOpenStdout();
  if (s.kind === "sign") return await signingKey(s.output);
  if (s.kind === "aes") return await aesKey(s.output);
  const identity = s.kind === "pq"
    ? await generateHybridIdentity()
    : await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const text = `# created: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}\n` +
    `# public key: ${recipient}\n${identity}\n`;
  if (s.output) {
    await writeNew(s.output, text);
    // stdout carries the recipient so scripts can capture it: R=$(s3duct keygen -o id.txt)
    await print(recipient + "\n");
  } else {
    await print(text);
    writeStderr(`Public key: ${recipient}`);
  }
}

/** keygen --sign: the key file (to `output` or stdout) and its public key. */
async function signingKey(output: string | undefined): Promise<void> {
  const { fileText, publicText } = await generateSigningKey();
  if (output) {
    await writeNew(output, fileText);
    // stdout carries only the public key, so scripts can capture it: PUB=$(s3duct keygen ...)
    await print(publicText + "\n");
  } else {
    await print(fileText);
    writeStderr(`Public key: ${publicText}`);
  }
}

/** keygen --aes: 64 hex digits, to `output` or stdout. */
async function aesKey(output: string | undefined): Promise<void> {
  const key = toHex(crypto.getRandomValues(new Uint8Array(32))) + "\n";
  if (output) {
    await writeNew(output, key);
    writeStderr(`AES-256 key written to ${output}; use --key file:${output}`);
  } else {
    await print(key);
  }
}

async function writeNew(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new ExistsError(`'${path}' already exists; keygen never overwrites a key file`);
    }
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`cannot create '${path}': its folder does not exist`);
    }
    throw e;
  }
  // createNew honours the umask; make sure the secret is 0600 whatever the umask is.
  await Deno.chmod(path, 0o600);
}
