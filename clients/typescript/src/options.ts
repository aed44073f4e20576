/**
 * Connection settings: target and TLS, the API key header, HTTP/2 keepalive,
 * deadlines and the opt-in retry policy, turned into the options of one
 * Connect gRPC transport (one HTTP/2 connection shared by every call).
 */

import { readFileSync, existsSync } from "node:fs";
import type { SecureClientSessionOptions } from "node:http2";
import type { GrpcTransportOptions } from "@connectrpc/connect-node";
import type { Interceptor } from "@connectrpc/connect";
import type { MemoridError, StatusCode } from "./errors.js";
import { VERSION } from "./version.js";

/** TLS settings; `tls: true` (or an `https://` target) uses the system's roots. */
export interface TlsOptions {
  /** PEM file of the CA(s) to trust instead of the system's roots. */
  readonly caFile?: string | undefined;
  /** PEM text of the CA(s) to trust instead of the system's roots. */
  readonly ca?: string | Buffer | undefined;
  /**
   * A client certificate chain (PEM text, leaf first), for a server that
   * requires one (memorid with `server.tls.client_ca_file`: mTLS). Needs
   * `key` or `keyFile`; wins over `certFile`, as `ca` over `caFile`.
   */
  readonly cert?: string | Buffer | undefined;
  /** The client certificate's private key (PEM text). Needs `cert` or `certFile`. */
  readonly key?: string | Buffer | undefined;
  /** PEM file of the client certificate chain; read when the client is made. */
  readonly certFile?: string | undefined;
  /** PEM file of the client certificate's private key; read when the client is made. */
  readonly keyFile?: string | undefined;
  /** The name to expect in the server's certificate (and send as SNI), if not the target's host. */
  readonly serverName?: string | undefined;
}

/** HTTP/2 PING keepalive, so a dead connection is noticed before a call hangs on it. */
export interface KeepaliveOptions {
  /** Send a PING after this long without data (like gRPC's GRPC_ARG_KEEPALIVE_TIME_MS). */
  readonly intervalMs: number;
  /** A PING unanswered this long closes the connection (default 20 s). */
  readonly timeoutMs?: number | undefined;
  /** Also ping while no call is open (default false). */
  readonly whenIdle?: boolean | undefined;
}

export interface ClientOptions {
  /**
   * `host:port` (plaintext), `http://host:port`, or `https://host[:port]`
   * (TLS). Default `localhost:50051`.
   */
  readonly target?: string | undefined;
  /** Sent as `authorization: Bearer <key>` on every call. */
  readonly apiKey?: string | undefined;
  /** TLS on (`true` or settings) or off (`false`); default: on for `https://` targets. */
  readonly tls?: boolean | TlsOptions | undefined;
  /** Default deadline of every call but `chat`, in ms (default 30 000); `null` for none. */
  readonly timeoutMs?: number | null | undefined;
  /** Default deadline of `chat` streams, in ms (default none). */
  readonly chatTimeoutMs?: number | null | undefined;
  /** HTTP/2 keepalive pings (off by default). */
  readonly keepalive?: KeepaliveOptions | undefined;
  /** Time to establish the connection, TLS included (default 20 s). */
  readonly connectTimeoutMs?: number | undefined;
  /** Largest message sent or received (default 64 MiB). */
  readonly maxMessageBytes?: number | undefined;
  /** Opt-in retries of unary calls; see `RetryPolicy`. `true` takes the defaults. */
  readonly retry?: RetryPolicy | RetryPolicyOptions | boolean | undefined;
  /** Extra request headers sent on every call. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Prefix of the `user-agent` header (default `memorid-typescript/<version>`). */
  readonly userAgent?: string | undefined;
  /**
   * Warn (`process.emitWarning`, type `MemoridInsecureApiKeyWarning`) when an
   * API key is sent without TLS. Default true; turn off for a trusted local
   * network.
   */
  readonly warnInsecure?: boolean | undefined;
}

export interface RetryPolicyOptions {
  /** Attempts in all, the first included (default 4). */
  readonly maxAttempts?: number | undefined;
  readonly initialBackoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  readonly multiplier?: number | undefined;
  /** A server asking to wait longer than this is not retried (default 60 s). */
  readonly maxRetryAfterMs?: number | undefined;
  /** Which codes to retry (default UNAVAILABLE and RESOURCE_EXHAUSTED). */
  readonly retryOn?: readonly StatusCode[] | undefined;
}

/**
 * Opt-in retries of unary calls (and of Recall and Attribute before any
 * answer arrived; Attribute resends with the same idempotency keys). A chat
 * stream is never retried: memorid already retried the upstream before the
 * first token, and a resent chat would be a second turn.
 *
 * The delay before attempt n+1 is `initialBackoffMs * multiplier^(n-1)`,
 * capped at `maxBackoffMs`, its upper half jittered; when the server sent a
 * `RetryInfo` delay the client waits at least that long, and does not retry
 * at all when it is over `maxRetryAfterMs`. Retries stop when the call's
 * deadline would pass before the next attempt, and when its `AbortSignal`
 * fires.
 */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  readonly maxRetryAfterMs: number;
  readonly retryOn: ReadonlySet<StatusCode>;

  constructor(options: RetryPolicyOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.initialBackoffMs = options.initialBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 8_000;
    this.multiplier = options.multiplier ?? 2;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.retryOn = new Set(options.retryOn ?? ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]);
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError("RetryPolicy.maxAttempts must be an integer of at least 1");
    }
    if (this.initialBackoffMs < 0 || this.maxBackoffMs < 0 || this.multiplier < 1) {
      throw new RangeError("RetryPolicy backoffs must be >= 0 and its multiplier >= 1");
    }
  }

  /**
   * Milliseconds to wait before the next attempt after attempt number
   * `attempt` (1-based) failed with `error`, or undefined to give up.
   */
  delayMs(attempt: number, error: MemoridError, random: () => number = Math.random): number | undefined {
    if (attempt >= this.maxAttempts || !this.retryOn.has(error.code)) return undefined;
    const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * this.multiplier ** (attempt - 1));
    let delay = backoff / 2 + random() * (backoff / 2);
    if (error.retryAfterMs !== undefined) {
      if (error.retryAfterMs > this.maxRetryAfterMs) return undefined;
      delay = Math.max(delay, error.retryAfterMs);
    }
    return delay;
  }
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** What a WaitForAugmentation call's deadline leaves beyond its wait. */
export const WAIT_MARGIN_MS = 10_000;

export interface Settings {
  readonly baseUrl: string;
  readonly authority: string;
  readonly secure: boolean;
  readonly transport: GrpcTransportOptions;
  readonly timeoutMs: number | undefined;
  readonly chatTimeoutMs: number | undefined;
  readonly retry: RetryPolicy | undefined;
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean | undefined;
}

export function parseTarget(target: string): Target {
  let rest = target.trim();
  let tls: boolean | undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    const name = (scheme[1] ?? "").toLowerCase();
    if (!["http", "https", "grpc", "grpcs"].includes(name)) {
      throw new TypeError(`unsupported target scheme "${name}": use host:port, http:// or https://`);
    }
    tls = name === "https" || name === "grpcs";
    rest = rest.slice(scheme[0].length).replace(/\/+$/, "");
  }
  if (rest.includes("/")) throw new TypeError(`a target has no path: "${target}"`);
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
  if (!match || !match[1]) throw new TypeError(`invalid target "${target}": expected host:port`);
  const port = match[2] !== undefined ? Number(match[2]) : tls ? 443 : tls === false ? 80 : undefined;
  if (port === undefined) throw new TypeError(`target "${target}" needs a port (host:port)`);
  if (!(port > 0 && port < 65536)) throw new TypeError(`invalid port in target "${target}"`);
  return { host: match[1], port, tls };
}

const SYSTEM_CA_FILES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/ssl/cert.pem", // macOS, Alpine
];

/**
 * The operating system's CA bundle, so TLS trusts what the machine trusts
 * (Node otherwise trusts only the roots compiled into it), plus
 * NODE_EXTRA_CA_CERTS, which an explicit CA list would otherwise drop.
 * Undefined leaves Node's own roots.
 */
export function systemRoots(): string[] | undefined {
  const found: string[] = [];
  const candidates = [process.env["SSL_CERT_FILE"], ...SYSTEM_CA_FILES];
  for (const file of candidates) {
    if (file && existsSync(file)) {
      found.push(readFileSync(file, "utf8"));
      break;
    }
  }
  if (found.length === 0) return undefined;
  const extra = process.env["NODE_EXTRA_CA_CERTS"];
  if (extra && existsSync(extra)) found.push(readFileSync(extra, "utf8"));
  return found;
}

export function settings(options: ClientOptions, interceptors: Interceptor[]): Settings {
  const target = parseTarget(options.target ?? "localhost:50051");
  const tlsOption = options.tls;
  const secure = tlsOption === undefined ? target.tls === true : tlsOption !== false;
  if (tlsOption === false && target.tls === true) {
    throw new TypeError("an https:// target needs TLS (tls: false was given)");
  }
  const authority = `${target.host}:${target.port}`;
  const baseUrl = `${secure ? "https" : "http"}://${authority}`;

  let nodeOptions: SecureClientSessionOptions = {};
  if (secure) {
    const tls: TlsOptions = typeof tlsOption === "object" ? tlsOption : {};
    const ca = tls.ca ?? (tls.caFile !== undefined ? readFileSync(tls.caFile) : systemRoots());
    // Half a client certificate would only show up as a handshake the
    // server refuses, without saying why: refuse it here, naming both.
    const hasCert = tls.cert !== undefined || tls.certFile !== undefined;
    const hasKey = tls.key !== undefined || tls.keyFile !== undefined;
    if (hasCert !== hasKey) {
      throw new TypeError("a client certificate needs both cert (or certFile) and key (or keyFile)");
    }
    const cert = tls.cert ?? (tls.certFile !== undefined ? readFileSync(tls.certFile) : undefined);
    const key = tls.key ?? (tls.keyFile !== undefined ? readFileSync(tls.keyFile) : undefined);
    nodeOptions = {
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
    };
  } else if (typeof tlsOption === "object") {
    throw new TypeError("TLS settings were given for a plaintext target");
  }

  if (options.apiKey && !secure && options.warnInsecure !== false) {
    process.emitWarning(
      `memorid: sending an API key to ${authority} without TLS; anyone on the path can read it ` +
        "(use an https:// target or tls: true outside a trusted network, or warnInsecure: false)",
      { type: "MemoridInsecureApiKeyWarning", code: "MEMORID_INSECURE_API_KEY" },
    );
  }

  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const keepalive = options.keepalive;
  const transport: GrpcTransportOptions = {
    baseUrl,
    interceptors,
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    nodeOptions,
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(keepalive !== undefined
      ? {
          pingIntervalMs: keepalive.intervalMs,
          pingTimeoutMs: keepalive.timeoutMs ?? 20_000,
          pingIdleConnection: keepalive.whenIdle ?? false,
        }
      : {}),
  };

  const retry =
    options.retry === undefined || options.retry === false
      ? undefined
      : options.retry === true
        ? new RetryPolicy()
        : options.retry instanceof RetryPolicy
          ? options.retry
          : new RetryPolicy(options.retry);

  return {
    baseUrl,
    authority,
    secure,
    transport,
    timeoutMs: options.timeoutMs === null ? undefined : (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    chatTimeoutMs: options.chatTimeoutMs ?? undefined,
    retry,
  };
}

/** The request headers every call carries: the key, the user agent, extras. */
export function headerInterceptor(options: ClientOptions): Interceptor {
  const userAgent = `${options.userAgent ? `${options.userAgent} ` : ""}memorid-typescript/${VERSION}`;
  const extra = Object.entries(options.headers ?? {});
  const authorization = options.apiKey ? `Bearer ${options.apiKey}` : undefined;
  return (next) => (request) => {
    for (const [name, value] of extra) request.header.set(name, value);
    if (authorization !== undefined) request.header.set("authorization", authorization);
    request.header.set("user-agent", userAgent);
    return next(request);
  };
}
