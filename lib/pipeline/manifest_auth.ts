/**
 * Authenticating manifests (issue 7 items 2-3): the reader's guard (signature and pinning
 * checks, run by openManifest before any chunk is fetched) and the writer's store wrapper that
 * signs the manifest object as it is stored.
 */
import { ExistsError, IntegrityError, NotFoundError, StoreError } from "../errors.ts";
import {
  checkSignature,
  MAX_SIGNATURE_OBJECT,
  type SignatureContext,
  type SigningKey,
  signManifest,
  type VerifyKey,
} from "../crypto/signing.ts";
import type { StreamLayout } from "../format/layout.ts";
import type { Manifest } from "../format/manifest.ts";
import type { PutOptions, Store } from "../store/store.ts";
import type { Log } from "../ui/log.ts";

/**
 * Checks beyond the manifest's own consistency, run by openManifest (manifest_io.ts) so that
 * every reader (get, verify, verify --deep) applies them before any chunk is fetched or byte
 * written.
 */
export interface ManifestGuard {
  /** The stored manifest object, before it is decrypted or parsed (signature check). */
  authenticate(stored: Uint8Array, layout: StreamLayout): Promise<void>;
  /** The validated manifest (pinning: --expect-sha256). */
  accept(manifest: Manifest, layout: StreamLayout): void;
}

/**
 * Full key of a stream's detached manifest signature, `{prefix}{name}/.manifest.sig` (ours;
 * s3duct 0.4 neither writes nor reads it: its `list` keeps only `/.manifest.json` keys).
 */
export function signatureKey(layout: StreamLayout): string {
  return layout.full(`${layout.name}/.manifest.sig`);
}

/** What a signature binds a stream's manifest to. */
export function signatureContext(bucket: string, layout: StreamLayout): SignatureContext {
  return { bucket, prefix: layout.prefix, name: layout.name };
}

/** What a reader's {@linkcode SignatureGuard} checks, and where it finds the signature. */
export interface GuardOptions {
  /** The store holding the stream's detached signature object. */
  store: Store;
  /** The bucket name, part of what the signature binds the manifest to. */
  bucket: string;
  /** Require a valid signature by this key. Without it a signature is only reported. */
  verifyKey?: VerifyKey;
  /** Require this stream SHA-256 (lower-case hex). */
  expectSha256?: string;
  /** Where the guard notes a signature it did not check (no `verifyKey`), or one it verified. */
  log: Log;
}

/** The reader's checks; see ManifestGuard for when each runs. */
export class SignatureGuard implements ManifestGuard {
  /** A guard applying `o`'s requirements to each manifest opened. */
  constructor(private o: GuardOptions) {}

  async authenticate(stored: Uint8Array, layout: StreamLayout): Promise<void> {
    const { store, verifyKey, log } = this.o;
    const key = signatureKey(layout);
    if (!verifyKey) {
      // Without a trusted public key a signature proves nothing (anyone can write one with
      // their own key), so it is not checked, only mentioned.
      if (await store.head(key)) {
        log.info(
          `note: the manifest of '${layout.name}' has a signature; not checked ` +
            "(pass --verify-key to require it)",
        );
      }
      return;
    }
    let sig: Uint8Array;
    try {
      const info = await store.head(key);
      if (!info) throw new NotFoundError(key);
      if (info.size > MAX_SIGNATURE_OBJECT) {
        throw new IntegrityError(`signature object of '${layout.name}' is not a signature`);
      }
      // Bounded again on the GET itself: the object may have grown since the HEAD.
      sig = await store.get(key, undefined, { maxBytes: MAX_SIGNATURE_OBJECT });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      throw new IntegrityError(
        `manifest of '${layout.name}' is not signed (no ${key}) but --verify-key ` +
          "requires a signature",
      );
    }
    const verdict = await checkSignature(
      verifyKey,
      signatureContext(this.o.bucket, layout),
      stored,
      sig,
    );
    const what = `manifest signature of '${layout.name}'`;
    if (verdict === "malformed") throw new IntegrityError(`${what} is malformed`);
    if (verdict === "other-key") {
      throw new IntegrityError(`${what} was not made with the --verify-key's private key`);
    }
    if (verdict === "invalid") {
      throw new IntegrityError(
        `${what} does not match: the manifest was altered, or moved from another bucket, ` +
          "prefix or stream name",
      );
    }
    log.debug(`manifest signature of '${layout.name}' verified (${verifyKey.publicText})`);
  }

  accept(manifest: Manifest, layout: StreamLayout): void {
    const want = this.o.expectSha256;
    if (want !== undefined && manifest.stream_sha256 !== want) {
      throw new IntegrityError(
        `stream '${layout.name}' has SHA-256 ${manifest.stream_sha256}, not the ` +
          `--expect-sha256 ${want} (an older or a different stream)`,
      );
    }
  }
}

/**
 * A Store that signs the manifest as it is written: on the put of `layout`'s manifest object
 * it first stores `.manifest.sig` over those exact bytes, then the manifest. Signature first,
 * because the manifest's arrival is what makes a stream exist: once it is there, so is its
 * signature. A reader between the two writes of a --clobber sees the old manifest with the
 * new signature, which fails closed (the signature covers the manifest bytes), never open.
 *
 * Without a key (an unsigned put) it removes a signature left by an earlier signed put of the
 * same name, so the stream does not look signed by mistake.
 */
export function signingStore<S extends Store>(
  store: S,
  layout: StreamLayout,
  bucket: string,
  key: SigningKey | undefined,
  log: Log,
): S {
  const manifestKey = layout.full(layout.manifestKey);
  const sigKey = signatureKey(layout);
  const put = async (k: string, body: Uint8Array, opts?: PutOptions) => {
    if (k === manifestKey) {
      // The manifest write is conditional; a put that would lose it must not touch the
      // signature of the stream that won (checked here, so only a few milliseconds remain
      // in which two racing signed puts can still cross).
      await checkCondition(store, manifestKey, opts);
      if (key) {
        await store.put(sigKey, await signManifest(key, signatureContext(bucket, layout), body));
        log.debug(`manifest signature stored at ${sigKey}`);
      } else if (await store.head(sigKey)) {
        const report = await store.delete([sigKey]);
        if (report.failed.length) {
          throw new StoreError(
            `could not remove the old signature '${sigKey}' of the stream being replaced: ` +
              report.failed[0].reason,
          );
        }
        log.info(`removed the old manifest signature of '${layout.name}' (this put is unsigned)`);
      }
    }
    return await store.put(k, body, opts);
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "put") return put;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Fail as the conditional manifest write would, before anything else is written. */
async function checkCondition(store: Store, key: string, opts?: PutOptions): Promise<void> {
  if (!opts?.ifNoneMatch && opts?.ifMatch === undefined) return;
  const now = await store.head(key);
  const lost = opts.ifNoneMatch
    ? now !== undefined
    : now?.etag.replace(/"/g, "") !== opts.ifMatch!.replace(/"/g, "");
  if (lost) throw new ExistsError(`object '${key}' was written by another put meanwhile`);
}
