/**
 * age encryption in-process (npm:age-encryption for keys and headers, age_stream.ts for the
 * payload): X25519 and post-quantum hybrid (ML-KEM-768 + X25519) recipients, several at once.
 * Each chunk is one binary age file, as s3duct 0.4 wrote with the age CLI.
 */
import { Decrypter, Encrypter, identityToRecipient } from "age-encryption";
import { KeyError, NoMatchingIdentity } from "../errors.ts";
import { type Cipher, keyFingerprint, sealedSizes } from "./cipher.ts";
import { openPayload, payloadSize, sealPayload, splitAgeFile } from "./age_stream.ts";

const IDENTITY = /^AGE-SECRET-KEY-(PQ-)?1[02-9AC-HJ-NP-Z]+$/;
const RECIPIENT = /^age1(pq1)?[02-9ac-hj-np-z]+$/;

/**
 * Identities from an identity file's text (age-keygen format: comments, blank lines, keys).
 * `where` names the file in errors; key lines are never quoted.
 */
export function parseIdentities(text: string, where: string): string[] {
  const ids: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (!IDENTITY.test(line)) {
      throw new KeyError(`${where} line ${i + 1} is not an age identity (AGE-SECRET-KEY-...)`);
    }
    ids.push(line);
  });
  if (ids.length === 0) throw new KeyError(`${where} holds no age identity (AGE-SECRET-KEY-...)`);
  return ids;
}

/** Recipients from a recipients file's text (one per line, comments allowed). */
export function parseRecipients(text: string, where: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    checkRecipient(line, `${where} line ${i + 1}`);
    out.push(line);
  });
  if (out.length === 0) throw new KeyError(`${where} holds no age recipient (age1...)`);
  return out;
}

/**
 * Accepts an age recipient (age1... or age1pq1...) that age-encryption can encrypt to.
 * @throws {KeyError} `r` is not a valid recipient; `where` says which input it came from.
 */
export function checkRecipient(r: string, where: string): void {
  if (!RECIPIENT.test(r)) {
    throw new KeyError(
      `${where}: '${r.slice(0, 12)}...' is not an age recipient (age1... or age1pq1...)`,
    );
  }
  try {
    new Encrypter().addRecipient(r);
  } catch {
    throw new KeyError(`${where}: not a valid age recipient`);
  }
}

/** The recipient (public key) of each identity. */
export async function recipientsOf(identities: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of identities) {
    try {
      out.push(await identityToRecipient(id));
    } catch {
      throw new KeyError("an age identity given is malformed (bad checksum or length)");
    }
  }
  return out;
}

/**
 * An age cipher. Sealing needs recipients; opening needs identities. The manifest records
 * the recipients, comma-separated, in encryption_recipient.
 */
export function ageCipher(opts: { recipients?: string[]; identities?: string[] }): Cipher {
  const recipients = opts.recipients ?? [];
  const decrypter = new Decrypter();
  for (const id of opts.identities ?? []) decrypter.addIdentity(id);
  return {
    method: "age",
    recipient: recipients.length ? recipients.join(",") : null,
    fingerprint: keyFingerprint("age", { recipients }),
    ...sealedSizes("age"),
    async seal(plain, alloc = (n) => new Uint8Array(n)) {
      if (recipients.length === 0) throw new KeyError("age encryption needs a recipient");
      const header = await makeHeader(recipients);
      const out = alloc(header.fileHeader.length + payloadSize(plain.length));
      out.set(header.fileHeader);
      await sealPayload(header.fileKey, plain, out.subarray(header.fileHeader.length));
      return out;
    },
    async open(sealed, alloc) {
      if (!opts.identities?.length) throw new KeyError("age decryption needs --age-identity");
      const parts = splitAgeFile(sealed);
      if (!parts) return undefined;
      let fileKey: Uint8Array;
      try {
        fileKey = await decrypter.decryptHeader(parts.header);
      } catch (e) {
        if (String((e as Error)?.message).includes("no identity matched")) {
          throw new NoMatchingIdentity();
        }
        return undefined;
      }
      return openPayload(fileKey, parts.payload, alloc);
    },
  };
}

/**
 * A fresh file key wrapped for every recipient, with its header MAC. age-encryption does
 * not expose the file key, so a recipient that adds no stanza lends us the key it is shown.
 */
async function makeHeader(
  recipients: string[],
): Promise<{ fileHeader: Uint8Array; fileKey: Uint8Array }> {
  let fileKey: Uint8Array | undefined;
  const e = new Encrypter();
  e.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = key.slice();
      return [];
    },
  });
  for (const r of recipients) e.addRecipient(r);
  const empty = await e.encrypt(new Uint8Array(0));
  const parts = splitAgeFile(empty);
  if (!parts || !fileKey) throw new Error("age header construction failed");
  return { fileHeader: parts.header, fileKey };
}
