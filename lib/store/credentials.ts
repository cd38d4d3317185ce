/**
 * AWS credentials and region, resolved like the AWS SDKs (see README "AWS credentials"):
 * the implementation lives in ./credentials/, one module per source. Secrets never appear
 * in errors.
 */
export {
  type AwsSettings,
  REFRESH_MARGIN_MS,
  RefreshingProvider,
  resolveAws,
  staticProvider,
} from "./credentials/chain.ts";
export {
  type AwsContext,
  type AwsEnvironment,
  type CredentialProvider,
  type Credentials,
  type Loader,
  type ProcessResult,
  realAwsEnvironment,
} from "./credentials/types.ts";
