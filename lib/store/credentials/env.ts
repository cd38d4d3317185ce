/** Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
import { AccessError } from "../../errors.ts";
import type { AwsContext, Credentials } from "./types.ts";

/** The environment's credentials; undefined when neither variable is set. */
export function envCredentials(ctx: AwsContext): Credentials | undefined {
  const id = ctx.env("AWS_ACCESS_KEY_ID");
  const secret = ctx.env("AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return undefined;
  if (!id || !secret) {
    throw new AccessError(
      "incomplete AWS credentials: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
  }
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: ctx.env("AWS_SESSION_TOKEN") || undefined,
  };
}
