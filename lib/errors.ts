/**
 * Typed errors. Lower layers throw these with the facts (chunk index, key, S3 code);
 * main.ts is the only place that turns them into a line on stderr and an exit code.
 * Messages must never contain key material, identities or credentials.
 */

/** Documented exit codes (README "Exit codes"). */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  INTEGRITY: 4,
  KEY: 5,
  ACCESS: 6,
  STORE: 7,
  EXISTS: 8,
  ARCHIVED: 9,
  PRODUCER: 10,
  RESUME: 11,
  /** stdout cannot be written: disk full (`> /dev/full`), closed, an I/O error. */
  OUTPUT: 12,
  /** stdin cannot be read as a stream: a directory, an I/O error. */
  INPUT: 13,
  /** Object Lock (a retention or legal hold) forbids deleting the stream yet; nothing deleted. */
  LOCKED: 14,
  INTERRUPTED: 130,
  OUTPUT_CLOSED: 141,
} as const;

/** S3 error codes that mean "too many requests": back off, do not just retry. */
const THROTTLE_CODES = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "RequestTimeout",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);

/** A Deno permission refusal: these reach main.ts untouched (it names the missing flag). */
export function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied;
}

/** Base class: a message fit for one line on stderr, and the exit code it maps to. */
export class S3ductError extends Error {
  /** The process exit code main.ts uses for this error (an {@linkcode ExitCode} value). */
  readonly exitCode: number;
  /** An error with a one-line `message`; `name` becomes the subclass's name. */
  constructor(message: string, exitCode: number = ExitCode.ERROR, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad command line or option value. */
export class UsageError extends S3ductError {
  /** An error that exits with code 2 (`ExitCode.USAGE`). */
  constructor(message: string) {
    super(message, ExitCode.USAGE);
  }
}

/** A stream, object or bucket that does not exist. */
export class NotFoundError extends S3ductError {
  /** An error that exits with code 3 (`ExitCode.NOT_FOUND`). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.NOT_FOUND, options);
  }
}

/**
 * The bucket (or the local store's directory) does not exist. Deliberately not a NotFoundError:
 * code that turns a missing object into "stream not found" or "chunk missing" must let it
 * through, so every command says what is really missing.
 */
export class MissingBucketError extends S3ductError {
  /** An error that exits with code 3 (`ExitCode.NOT_FOUND`), like a missing stream. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.NOT_FOUND, options);
  }
}

/** Stored data or a manifest failed a check: hash, size, chain, layout. */
export class IntegrityError extends S3ductError {
  /** An error that exits with code 4 (`ExitCode.INTEGRITY`). */
  constructor(message: string) {
    super(message, ExitCode.INTEGRITY);
  }
}

/** A key is missing, malformed, of the wrong kind, or does not decrypt the data. */
export class KeyError extends S3ductError {
  /** An error that exits with code 5 (`ExitCode.KEY`); `message` must not hold key material. */
  constructor(message: string) {
    super(message, ExitCode.KEY);
  }
}

/** The store refused our credentials or permissions. */
export class AccessError extends S3ductError {
  /** An error that exits with code 6 (`ExitCode.ACCESS`). */
  constructor(message: string) {
    super(message, ExitCode.ACCESS);
  }
}

/**
 * The store failed; `transient` marks failures worth retrying, `retryAfterMs` the server's
 * Retry-After (the least a retry must wait).
 */
export class StoreError extends S3ductError {
  /** True when the failure is worth retrying (the store's retry policy acts on it). */
  readonly transient: boolean;
  /** The store's error code (e.g. S3's `SlowDown`, `NoSuchKey`), when it gave one. */
  readonly code?: string;
  /** The HTTP status of the failed request, when there was a response. */
  readonly status?: number;
  /** The server's Retry-After in milliseconds: the least a retry must wait. */
  readonly retryAfterMs?: number;
  /**
   * The store asked us to slow down (SlowDown, throttling codes, 429, 503) or stopped answering
   * in time: the adaptive worker count backs off on this flag, never on message text.
   */
  readonly throttle: boolean;
  /**
   * An error that exits with code 7 (`ExitCode.STORE`); `throttle` defaults from `code`/`status`.
   */
  constructor(
    message: string,
    opts: {
      transient?: boolean;
      code?: string;
      status?: number;
      cause?: unknown;
      retryAfterMs?: number;
      throttle?: boolean;
    } = {},
  ) {
    super(message, ExitCode.STORE, { cause: opts.cause });
    this.transient = opts.transient ?? false;
    this.code = opts.code;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.throttle = opts.throttle ??
      (THROTTLE_CODES.has(opts.code ?? "") || opts.status === 429 || opts.status === 503);
  }
}

/**
 * A TLS certificate the store (or proxy) presents is not trusted, or a proxy refused us (407,
 * 403, a failed CONNECT): retrying cannot help, so it is never transient. The message names the
 * host or proxy (credentials masked) and the fix; exit code 7 like any store failure.
 */
export class NetworkError extends StoreError {
  /** A non-transient store failure (exit 7) with a one-line, secret-free `message`. */
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, { transient: false, cause: options?.cause, status: options?.status });
  }
}

/**
 * An S3 Object Lock retention or legal hold forbids deleting objects yet (delete, cleanup): the
 * message says how many, under which mode, and from when they may go.
 */
export class LockedError extends S3ductError {
  /** An error that exits with code 14 (`ExitCode.LOCKED`). */
  constructor(message: string) {
    super(message, ExitCode.LOCKED);
  }
}

/** The target stream already exists. */
export class ExistsError extends S3ductError {
  /** An error that exits with code 8 (`ExitCode.EXISTS`). */
  constructor(message: string) {
    super(message, ExitCode.EXISTS);
  }
}

/** Chunks sit in GLACIER/DEEP_ARCHIVE without a finished restore: `s3duct restore` first. */
export class ArchivedError extends S3ductError {
  /** An error that exits with code 9 (`ExitCode.ARCHIVED`). */
  constructor(message: string) {
    super(message, ExitCode.ARCHIVED);
  }
}

/** The --from-command producer exited non-zero or was killed: the stream is not published. */
export class ProducerError extends S3ductError {
  /** An error that exits with code 10 (`ExitCode.PRODUCER`). */
  constructor(message: string) {
    super(message, ExitCode.PRODUCER);
  }
}

/** The reader of our stdout went away (e.g. `get | head`). */
export class OutputClosedError extends S3ductError {
  constructor() {
    super("output closed by the reader; stopped", ExitCode.OUTPUT_CLOSED);
  }
}

/** stdout cannot take our output for a reason other than the reader leaving (disk full...). */
export class OutputError extends S3ductError {
  /** An error that exits with code 12 (`ExitCode.OUTPUT`). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.OUTPUT, options);
  }
}

/** stdin cannot be read as a stream (a directory, an I/O error). */
export class InputError extends S3ductError {
  /** An error that exits with code 13 (`ExitCode.INPUT`). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.INPUT, options);
  }
}

/**
 * A credential source that is simply not there (no metadata service, no role): the credential
 * chain moves on to the next source instead of failing (exit 6 if it is the last one).
 */
export class CredentialsUnavailable extends AccessError {}

/**
 * The server did not apply the encryption asked for: not retried, the put fails (exit 7) and
 * no manifest is written. `gap` names what the provider failed to do.
 */
export class SseNotAppliedError extends StoreError {
  /** `what` is the request ("PUT s3://b/k"), `gap` what its answer lacked. */
  constructor(what: string, gap: string) {
    super(`${what}: ${gap}; refusing to store data the server may have kept unencrypted`, {
      code: "SseNotApplied",
    });
  }
}

// Transport and codec failures below are no S3ductError: the layer above (s3_request.ts,
// compress_step.ts) turns each into a typed error with the request or chunk it belongs to.

/** No byte moved for the idle timeout (or the connect took longer). */
export class TimeoutError extends Error {}

/**
 * A successful response's body was over `RequestOptions.maxBody`: `size` is its Content-Length
 * when `declared`, else the bytes that had arrived when reading stopped (a lower bound).
 */
export class BodyTooLargeError extends Error {
  /** The refusal of a body of `size` bytes over `limit`; `declared` when Content-Length said so. */
  constructor(readonly limit: number, readonly size: number, readonly declared: boolean) {
    super(
      declared
        ? `response body of ${size} bytes (Content-Length) is over the limit of ${limit}`
        : `response body without Content-Length ran past the limit of ${limit} bytes`,
    );
  }
}

/** A frame that does not decompress within its bound: what get turns into exit 4. */
export class ZstdError extends Error {
  /** "expands": more output than the bound; "corrupt": not a zstd frame zstd can decode. */
  readonly kind: "expands" | "corrupt";
  /** A decoding failure of the given `kind`; `message` is zstd's reason, or the bound exceeded. */
  constructor(kind: "expands" | "corrupt", message: string) {
    super(message);
    this.kind = kind;
  }
}

/** A resume that would produce a wrong stream: refused with what to do instead. */
export class ResumeRefused extends S3ductError {
  /**
   * An error that exits with code 11 (`ExitCode.RESUME`).
   * @param message what is wrong and what to do about it
   */
  constructor(message: string) {
    super(message, ExitCode.RESUME);
  }
}

/**
 * Thrown by `Cipher.open` when the object's key is wrapped only for recipients that
 * no identity given matches (age): the object may be intact, so the caller decides whether
 * that means a wrong key. Ours, whatever library opened the object.
 */
export class NoMatchingIdentity extends KeyError {
  /** The one message: which identities were tried is never said. */
  constructor() {
    super("no age identity given matches the recipients this data was encrypted to");
  }
}

/**
 * An object bigger than the caller allowed (`GetOptions.maxBytes`), refused before its body was
 * read: a chunk or manifest that cannot be what its record says is damage, exit 4.
 */
export class OversizeObjectError extends IntegrityError {
  /**
   * `size` is the object's size when `known` (Content-Length, Content-Range, stat), else the
   * bytes that had arrived when reading stopped, a lower bound. `what` names the object for
   * the reader (e.g. "chunk 3 of 'db'"); the key and store are always named too.
   */
  constructor(
    readonly key: string,
    readonly location: string,
    readonly size: number,
    readonly limit: number,
    readonly known = true,
    readonly what?: string,
  ) {
    const subject = what
      ? `${what} (object '${key}' in ${location})`
      : `object '${key}' in ${location}`;
    super(
      known
        ? `${subject} is ${size} bytes, over the ${limit} allowed for it; refused before reading it`
        : `${subject} came without a length and ran past the ${limit} bytes allowed for it ` +
          `(${size} read); stopped reading`,
    );
  }

  /** The same refusal, naming the object as `what` (the caller knows what it is for). */
  as(what: string): OversizeObjectError {
    return new OversizeObjectError(
      this.key,
      this.location,
      this.size,
      this.limit,
      this.known,
      what,
    );
  }
}
