/**
 * SigV4 signing for S3Store (aws4fetch): with the credentials current at the time of each
 * request (a refresh hands out a new object), and at the server's time once a
 * RequestTimeTooSkewed answer has shown the local clock to be off.
 */
import { AwsClient } from "aws4fetch";
import type { CredentialProvider, Credentials } from "./credentials.ts";

/** SigV4 allows 15 minutes; a Date header further off than this means our clock is wrong. */
const SKEWED_MS = 10 * 60_000;

/**
 * Signs S3 requests with SigV4, with current credentials and the server's clock once it differs.
 */
export class S3Signer {
  readonly #current: () => Promise<Credentials>;
  readonly #region: string;
  readonly #clock: () => number;
  #client?: { creds: Credentials; client: AwsClient };
  /** Server time minus local time; 0 until a skewed answer says otherwise. */
  #skewMs = 0;

  /** A signer for `region`; `creds` may be fixed or a provider asked before each request. */
  constructor(
    creds: Credentials | CredentialProvider,
    region: string,
    clock: () => number = Date.now,
  ) {
    this.#current = "get" in creds ? () => creds.get() : () => Promise.resolve(creds);
    this.#region = region;
    this.#clock = clock;
  }

  /** A signed request (headers only; the body's hash is in x-amz-content-sha256). */
  async sign(url: string, method: string, headers: Record<string, string>): Promise<Request> {
    const c = await this.#current();
    if (this.#client?.creds !== c) {
      const { accessKeyId, secretAccessKey, sessionToken } = c;
      const client = new AwsClient({
        accessKeyId,
        secretAccessKey,
        sessionToken,
        service: "s3",
        region: this.#region,
        retries: 0,
      });
      this.#client = { creds: c, client };
    }
    // aws4fetch takes the signing time as `aws.datetime` (YYYYMMDDTHHMMSSZ).
    const datetime = new Date(this.#clock() + this.#skewMs).toISOString()
      .replace(/[:-]|\.\d{3}/g, "");
    return await this.#client.client.sign(url, { method, headers, aws: { datetime } });
  }

  /** Whether the server's Date is far from our signing time (a HEAD's 403 has no error code). */
  skewed(headers: Headers): boolean {
    const server = Date.parse(headers.get("date") ?? "");
    return Math.abs(server - (this.#clock() + this.#skewMs)) > SKEWED_MS;
  }

  /** Learn the clock offset from the Date header (or the error body's <ServerTime>). */
  learnSkew(headers: Headers, body: Uint8Array): void {
    const server = Date.parse(headers.get("date") ?? "") ||
      Date.parse(
        /<ServerTime>([^<]*)<\/ServerTime>/.exec(new TextDecoder().decode(body))?.[1] ?? "",
      );
    if (Number.isFinite(server)) this.#skewMs = server - this.#clock();
  }
}
