/**
 * Typed errors carrying what the server sent.
 *
 * Every memorid status carries a `google.rpc.ErrorInfo` (domain `memorid`, a
 * stable UPPER_SNAKE `reason`); invalid input also carries a `BadRequest`
 * naming the fields, and rate limits and outages a `RetryInfo`. They travel
 * in the `grpc-status-details-bin` trailer as a `google.rpc.Status`. The
 * client decodes them itself (a few fields, read with the protobuf runtime's
 * wire reader, so no googleapis package is needed) and throws the most
 * specific class below: catch by meaning (`QuotaExceededError` and its
 * `retryAfterMs`) or test `error.code`.
 */

import { ConnectError } from "@connectrpc/connect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** gRPC status codes by name. */
export type StatusCode =
  | "OK"
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

const CODE_NAMES: readonly StatusCode[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** One bad request field: its path (e.g. `messages[2].role`) and why. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export interface MemoridErrorInit {
  readonly code: StatusCode;
  readonly reason?: string | undefined;
  readonly domain?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  readonly violations?: readonly FieldViolation[] | undefined;
  readonly retryAfterMs?: number | undefined;
  readonly cause?: unknown;
}

/** Base of every error the client throws for a failed call. */
export class MemoridError extends Error {
  /** The gRPC status code, by name. */
  readonly code: StatusCode;
  /**
   * `ErrorInfo.reason`, e.g. `UPSTREAM_RATE_LIMITED`; empty when the status
   * did not come from memorid (a connection failure, a cancelled call).
   */
  readonly reason: string;
  /** `ErrorInfo.domain` (`memorid`), empty when there was none. */
  readonly domain: string;
  /** `ErrorInfo.metadata`. */
  readonly metadata: Readonly<Record<string, string>>;
  /** `BadRequest` field violations. */
  readonly violations: readonly FieldViolation[];
  /** How long the server asked to wait before retrying (`RetryInfo`), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: MemoridErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.reason = init.reason ?? "";
    this.domain = init.domain ?? "";
    this.metadata = init.metadata ?? {};
    this.violations = init.violations ?? [];
    this.retryAfterMs = init.retryAfterMs;
  }

  /** The gRPC status code as a number (e.g. 3 for INVALID_ARGUMENT). */
  get grpcCode(): number {
    return CODE_NAMES.indexOf(this.code);
  }

  override toString(): string {
    return `${this.name} [${this.reason || this.code}]: ${this.message}`;
  }
}

/** INVALID_ARGUMENT: the request was malformed; `violations` name the fields. */
export class InvalidArgumentError extends MemoridError {}
/** The upstream model rejected the request (HTTP 4xx other than 401/403/404/429). */
export class UpstreamRejectedError extends InvalidArgumentError {}
/** UNAUTHENTICATED: the API key is missing or unknown. */
export class UnauthenticatedError extends MemoridError {}
export class PermissionDeniedError extends MemoridError {}
/** NOT_FOUND: the session, fact or (reason `UPSTREAM_NOT_FOUND`) model does not exist. */
export class NotFoundError extends MemoridError {}
/**
 * RESOURCE_EXHAUSTED: the upstream is rate-limiting; `retryAfterMs` says how
 * long it asked to wait, when it said.
 */
export class QuotaExceededError extends MemoridError {}
/** UNAVAILABLE: memorid, its database or its upstream cannot be reached right now. */
export class UnavailableError extends MemoridError {}
/** The upstream model failed (5xx, refused, or a stream cut off or errored mid-way). */
export class UpstreamUnavailableError extends UnavailableError {}
/** memorid's database is unreachable or its pool exhausted. */
export class StorageUnavailableError extends UnavailableError {}
/** DEADLINE_EXCEEDED: the call's deadline passed (or the upstream timed out). */
export class DeadlineExceededError extends MemoridError {}
export class FailedPreconditionError extends MemoridError {}
/** The upstream refused memorid's own credentials: an operator problem. */
export class UpstreamUnauthenticatedError extends FailedPreconditionError {}
/** CANCELLED: the call was cancelled (its `AbortSignal` fired, or the server cancelled it). */
export class CancelledError extends MemoridError {}
export class InternalError extends MemoridError {}

type ErrorClass = new (message: string, init: MemoridErrorInit) => MemoridError;

const BY_REASON: Readonly<Record<string, ErrorClass>> = {
  UPSTREAM_REJECTED: UpstreamRejectedError,
  UPSTREAM_UNAVAILABLE: UpstreamUnavailableError,
  STORAGE_UNAVAILABLE: StorageUnavailableError,
  UPSTREAM_UNAUTHENTICATED: UpstreamUnauthenticatedError,
};

const BY_CODE: Partial<Record<StatusCode, ErrorClass>> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  OUT_OF_RANGE: InvalidArgumentError,
  UNAUTHENTICATED: UnauthenticatedError,
  PERMISSION_DENIED: PermissionDeniedError,
  NOT_FOUND: NotFoundError,
  RESOURCE_EXHAUSTED: QuotaExceededError,
  UNAVAILABLE: UnavailableError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
  FAILED_PRECONDITION: FailedPreconditionError,
  CANCELLED: CancelledError,
  INTERNAL: InternalError,
};

function errorClass(code: StatusCode, reason: string): ErrorClass {
  const byCode = BY_CODE[code] ?? MemoridError;
  const byReason = BY_REASON[reason];
  // A reason only refines its own code's class (UPSTREAM_UNAVAILABLE is an
  // UnavailableError), never replaces it.
  if (byReason !== undefined && byReason.prototype instanceof byCode) {
    return byReason;
  }
  return byCode;
}

// --- google.rpc.Status and its details, decoded from the wire ---------------

interface Details {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
  violations: FieldViolation[];
  retryAfterMs: number | undefined;
}

const ERROR_INFO = "google.rpc.ErrorInfo";
const BAD_REQUEST = "google.rpc.BadRequest";
const RETRY_INFO = "google.rpc.RetryInfo";

/** Calls `field(number, wireType)` for each field; it returns false to skip. */
function readFields(bytes: Uint8Array, field: (r: BinaryReader, no: number, wt: WireType) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (!field(reader, no, wireType)) {
      reader.skip(wireType, no);
    }
  }
}

function readErrorInfo(bytes: Uint8Array, into: Details): void {
  readFields(bytes, (r, no, wt) => {
    if (wt !== WireType.LengthDelimited) return false;
    if (no === 1) into.reason = r.string();
    else if (no === 2) into.domain = r.string();
    else if (no === 3) {
      let key = "";
      let value = "";
      readFields(r.bytes(), (e, n, w) => {
        if (w !== WireType.LengthDelimited) return false;
        if (n === 1) key = e.string();
        else if (n === 2) value = e.string();
        else return false;
        return true;
      });
      into.metadata[key] = value;
    } else return false;
    return true;
  });
}

function readBadRequest(bytes: Uint8Array, into: Details): void {
  readFields(bytes, (r, no, wt) => {
    if (no !== 1 || wt !== WireType.LengthDelimited) return false;
    let field = "";
    let description = "";
    readFields(r.bytes(), (v, n, w) => {
      if (w !== WireType.LengthDelimited) return false;
      if (n === 1) field = v.string();
      else if (n === 2) description = v.string();
      else return false;
      return true;
    });
    into.violations.push({ field, description });
    return true;
  });
}

function readRetryInfo(bytes: Uint8Array, into: Details): void {
  readFields(bytes, (r, no, wt) => {
    if (no !== 1 || wt !== WireType.LengthDelimited) return false;
    let seconds = 0;
    let nanos = 0;
    readFields(r.bytes(), (d, n, w) => {
      if (w !== WireType.Varint) return false;
      if (n === 1) seconds = Number(d.int64());
      else if (n === 2) nanos = d.int32();
      else return false;
      return true;
    });
    into.retryAfterMs = seconds * 1000 + Math.round(nanos / 1e6);
    return true;
  });
}

function readDetail(type: string, value: Uint8Array, into: Details): void {
  if (type === ERROR_INFO) readErrorInfo(value, into);
  else if (type === BAD_REQUEST) readBadRequest(value, into);
  else if (type === RETRY_INFO) readRetryInfo(value, into);
}

/**
 * The details of a `google.rpc.Status` (the `grpc-status-details-bin`
 * trailer, base64 without padding on the wire), as `[typeName, bytes]`.
 */
export function decodeStatusDetails(status: Uint8Array): { message: string; details: [string, Uint8Array][] } {
  let message = "";
  const details: [string, Uint8Array][] = [];
  readFields(status, (r, no, wt) => {
    if (wt !== WireType.LengthDelimited) return false;
    if (no === 2) message = r.string();
    else if (no === 3) {
      let typeUrl = "";
      let value: Uint8Array = new Uint8Array(0);
      readFields(r.bytes(), (a, n, w) => {
        if (w !== WireType.LengthDelimited) return false;
        if (n === 1) typeUrl = a.string();
        else if (n === 2) value = a.bytes();
        else return false;
        return true;
      });
      details.push([typeUrl.slice(typeUrl.lastIndexOf("/") + 1), value]);
    } else return false;
    return true;
  });
  return { message, details };
}

function details(error: ConnectError): Details {
  const into: Details = { reason: "", domain: "", metadata: {}, violations: [], retryAfterMs: undefined };
  let found: [string, Uint8Array][] = [];
  for (const detail of error.details) {
    if ("type" in detail) found.push([detail.type, detail.value]);
  }
  if (found.length === 0) {
    // The transport parses the trailer into `details`; read it ourselves
    // should it ever not (the raw trailer is kept in `metadata`).
    const raw = error.metadata.get("grpc-status-details-bin");
    if (raw) {
      try {
        found = decodeStatusDetails(Buffer.from(raw, "base64")).details;
      } catch {
        found = [];
      }
    }
  }
  for (const [type, value] of found) {
    try {
      readDetail(type, value, into);
    } catch {
      // A garbled detail must not hide the error itself.
    }
  }
  return into;
}

/** Node error codes along an error's `cause` chain. */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Object && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|EPROTO$)/;
const CONNECTION_LOST = new Set([
  "ECONNRESET",
  "EPIPE",
  "ERR_STREAM_DESTROYED",
  "ERR_HTTP2_INVALID_STREAM",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
]);

/**
 * The code of a failure that happened on this side of the wire. Connect
 * reports a failed TLS handshake as INTERNAL and a connection lost mid-call as
 * ABORTED; gRPC calls both UNAVAILABLE (the server could not be reached or
 * went away), which is also what a retry policy should see. Statuses the
 * server sent are never changed.
 */
function localCode(error: ConnectError, code: StatusCode): StatusCode {
  const fromServer = error.metadata.has("grpc-status");
  if (fromServer || !["INTERNAL", "UNKNOWN", "ABORTED"].includes(code)) return code;
  const codes = causeCodes(error.cause);
  if (codes.some((c) => TLS_FAILURE.test(c) || CONNECTION_LOST.has(c))) return "UNAVAILABLE";
  return code;
}

/** The typed error for anything a call threw (a `ConnectError` or otherwise). */
export function toMemoridError(thrown: unknown, signal?: AbortSignal): MemoridError {
  if (thrown instanceof MemoridError) return thrown;
  const error = ConnectError.from(thrown);
  let code = localCode(error, CODE_NAMES[error.code] ?? "UNKNOWN");
  const message = error.rawMessage;
  const found = details(error);
  if (signal?.aborted) {
    // The caller's own AbortSignal, whatever the transport made of it.
    return cancelledBy(signal);
  }
  if (code === "CANCELLED" && message === "Timeout expired" && !found.reason) {
    // Workaround: tonic answers a call whose grpc-timeout passed before the
    // response headers with CANCELLED "Timeout expired" (a race with the
    // client's own DEADLINE_EXCEEDED); gRPC defines that case as
    // DEADLINE_EXCEEDED, so report it as such.
    code = "DEADLINE_EXCEEDED";
  }
  const Class = errorClass(code, found.reason);
  return new Class(message || code, {
    code,
    reason: found.reason,
    domain: found.domain,
    metadata: found.metadata,
    violations: found.violations,
    retryAfterMs: found.retryAfterMs,
    cause: thrown,
  });
}

/** The error of a call whose `AbortSignal` fired. */
export function cancelledBy(signal: AbortSignal): CancelledError {
  return new CancelledError(`the call was cancelled${abortReason(signal)}`, {
    code: "CANCELLED",
    cause: signal.reason,
  });
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== "AbortError" && reason.message) return `: ${reason.message}`;
  if (typeof reason === "string" && reason) return `: ${reason}`;
  return "";
}
