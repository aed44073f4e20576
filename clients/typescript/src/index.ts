/**
 * The TypeScript client of memorid, the gRPC memory service for LLM
 * applications. Start with `new MemoridClient({ target, apiKey })` and
 * `client.attribution({ entityId })`; see the README.
 */

export { MemoridClient, type CallOptions, type Who, type WaitOptions } from "./client.js";
export { AttributionScope, type ScopeAttributeOptions, type ScopeAttribution } from "./scope.js";
export { ChatStream } from "./chat-stream.js";
export {
  RetryPolicy,
  type ClientOptions,
  type KeepaliveOptions,
  type RetryPolicyOptions,
  type TlsOptions,
} from "./options.js";
export {
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  MemoridError,
  NotFoundError,
  PermissionDeniedError,
  QuotaExceededError,
  StorageUnavailableError,
  UnauthenticatedError,
  UnavailableError,
  UpstreamRejectedError,
  UpstreamUnauthenticatedError,
  UpstreamUnavailableError,
  type FieldViolation,
  type MemoridErrorInit,
  type StatusCode,
  toMemoridError,
} from "./errors.js";
export type * from "./types.js";
export { VERSION } from "./version.js";
