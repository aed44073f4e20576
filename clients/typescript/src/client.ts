/**
 * `MemoridClient`: one connection to memorid (one HTTP/2 connection through
 * a Connect gRPC transport, shared by every call; safe for any number of
 * concurrent calls), the memory service's calls in plain types, and
 * `attribution()` for a handle bound to one entity / process / session.
 */

import { create, type DescMethodUnary } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { setTimeout as sleep } from "node:timers/promises";
import { ChatStream } from "./chat-stream.js";
import * as conv from "./convert.js";
import {
  CancelledError,
  cancelledBy,
  DeadlineExceededError,
  InternalError,
  type MemoridError,
  toMemoridError,
} from "./errors.js";
import { ChatService } from "./gen/memori/v1/chat_service_pb.js";
import { MemoryService } from "./gen/memori/v1/memory_service_pb.js";
import { HealthService, SERVING } from "./health.js";
import {
  type ClientOptions,
  headerInterceptor,
  type RetryPolicy,
  type Settings,
  settings,
  WAIT_MARGIN_MS,
} from "./options.js";
import { AttributionScope } from "./scope.js";
import type * as t from "./types.js";

/** Per-call options. */
export interface CallOptions {
  /** Cancels the call (and, for chat, the upstream request). */
  readonly signal?: AbortSignal | undefined;
  /** This call's deadline in ms, instead of the client's default; `null` for none. */
  readonly timeoutMs?: number | null | undefined;
  /** Extra request headers for this call. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** Who, for calls made on the client itself rather than on a scope. */
export interface Who {
  readonly entityId: string;
  readonly processId?: string | undefined;
  readonly sessionId?: string | undefined;
}

export interface WaitOptions {
  /** Only these turns; absent means all of the entity's pending work. */
  readonly turnIds?: readonly string[] | undefined;
  /** How long the server waits at most (default 30 s). */
  readonly timeoutMs?: number | undefined;
}

/** Thrown inside a retry loop to stop it (a stream already yielded). */
class NoRetry extends Error {
  constructor(readonly error: MemoridError) {
    super(error.message);
  }
}

export class MemoridClient {
  /** `host:port` of the server. */
  readonly target: string;
  private readonly settings: Settings;
  private readonly session: Http2SessionManager;
  private readonly transport: Transport;
  private readonly chatStub: Client<typeof ChatService>;
  private readonly memory: Client<typeof MemoryService>;
  private closed = false;
  /** Fires on close(), so that no retry waits on a closed client. */
  private readonly closing = new AbortController();

  constructor(options: ClientOptions = {}) {
    this.settings = settings(options, [headerInterceptor(options)]);
    this.target = this.settings.authority;
    const t = this.settings.transport;
    // Our own session manager, so that close() can end the connection.
    this.session = new Http2SessionManager(
      t.baseUrl,
      {
        ...(t.pingIntervalMs !== undefined ? { pingIntervalMs: t.pingIntervalMs } : {}),
        ...(t.pingTimeoutMs !== undefined ? { pingTimeoutMs: t.pingTimeoutMs } : {}),
        ...(t.pingIdleConnection !== undefined ? { pingIdleConnection: t.pingIdleConnection } : {}),
        ...(t.connectTimeoutMs !== undefined ? { connectTimeoutMs: t.connectTimeoutMs } : {}),
      },
      t.nodeOptions,
    );
    this.transport = createGrpcTransport({ ...t, sessionManager: this.session });
    this.chatStub = createClient(ChatService, this.transport);
    this.memory = createClient(MemoryService, this.transport);
  }

  /**
   * A handle bound to one attribution: every call made on it is about that
   * entity (and process and session, where the call takes them). Cheap and
   * immutable: make one per request, or keep one per user.
   */
  attribution(who: t.Attribution): AttributionScope {
    if (!who.entityId) throw new TypeError("entityId is required");
    return new AttributionScope(this, {
      entityId: who.entityId,
      processId: who.processId ?? "",
      sessionId: who.sessionId ?? "",
    });
  }

  // --- plumbing ---------------------------------------------------------------

  private timeout(call: CallOptions | undefined, fallback: number | undefined): number | undefined {
    if (call?.timeoutMs === null) return undefined;
    return call?.timeoutMs ?? fallback;
  }

  private callOptions(call: CallOptions | undefined, timeoutMs: number | undefined, signal?: AbortSignal) {
    this.ensureOpen();
    const s = signal ?? call?.signal;
    return {
      ...(s !== undefined ? { signal: s } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs: Math.max(1, Math.ceil(timeoutMs)) } : {}),
      ...(call?.headers !== undefined ? { headers: { ...call.headers } } : {}),
    };
  }

  private ensureOpen(): void {
    if (this.closed) throw new CancelledError("the client is closed", { code: "CANCELLED" });
  }

  /**
   * Runs `attempt` with the remaining time of the call's deadline, retrying
   * as the policy says: never past the deadline, never after the signal
   * fired, never once `attempt` threw NoRetry.
   */
  private async retrying<R>(
    call: CallOptions | undefined,
    timeoutMs: number | undefined,
    attempt: (left: number | undefined) => Promise<R>,
  ): Promise<R> {
    const policy: RetryPolicy | undefined = this.settings.retry;
    const signal = call?.signal;
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (let n = 1; ; n++) {
      const left = deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
      try {
        return await attempt(left);
      } catch (thrown) {
        if (thrown instanceof NoRetry) throw thrown.error;
        const error = toMemoridError(thrown, signal);
        const delay = policy?.delayMs(n, error);
        if (delay === undefined || (deadline !== undefined && Date.now() + delay >= deadline)) throw error;
        if (signal?.aborted) throw cancelledBy(signal);
        const wake = signal !== undefined ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
        try {
          await sleep(delay, undefined, { signal: wake });
        } catch {
          // The call's signal fired, or the client closed: then its last error.
          throw signal?.aborted ? cancelledBy(signal) : error;
        }
      }
    }
  }

  private unary<R>(call: CallOptions | undefined, timeoutMs: number | undefined, fn: (opts: object) => Promise<R>) {
    return this.retrying(call, timeoutMs, (left) => fn(this.callOptions(call, left)));
  }

  // --- calls ------------------------------------------------------------------

  /**
   * Sends one chat turn through memorid: it recalls and injects the entity's
   * memories, calls the upstream `provider/model`, mirrors each delta, and
   * stores the turn. Iterate the returned stream with `for await`. Never
   * retried (memorid retried the upstream before the first token already).
   */
  chat(options: t.ChatOptions & Who, call?: CallOptions): ChatStream {
    const request = conv.chatRequest(options, options);
    const timeoutMs = this.timeout(call, this.settings.chatTimeoutMs);
    return new ChatStream(
      (signal) => this.chatStub.chat(request, this.callOptions(call, timeoutMs, signal)),
      call?.signal,
    );
  }

  /**
   * The entity's memories best matching `query`, best first, as they stream
   * in; not retried. `recall()` collects them (and may retry).
   */
  async *recallStream(
    options: t.RecallOptions & { readonly entityId: string; readonly processId?: string; readonly query: string },
    call?: CallOptions,
  ): AsyncGenerator<t.RecallHit, void, undefined> {
    const request = conv.recallRequest(options.entityId, options.processId ?? "", options.query, options);
    const timeoutMs = this.timeout(call, this.settings.timeoutMs);
    try {
      for await (const response of this.memory.recall(request, this.callOptions(call, timeoutMs))) {
        yield conv.recallHit(response);
      }
    } catch (thrown) {
      throw toMemoridError(thrown, call?.signal);
    }
  }

  /**
   * The entity's memories best matching `query`, best first. Searches every
   * fact of the entity whichever process it came from (as memorid's Chat
   * does); `processId` narrows recalled messages to that process's turns.
   */
  async recall(
    options: t.RecallOptions & { readonly entityId: string; readonly processId?: string; readonly query: string },
    call?: CallOptions,
  ): Promise<t.RecallHit[]> {
    const request = conv.recallRequest(options.entityId, options.processId ?? "", options.query, options);
    return this.retrying(call, this.timeout(call, this.settings.timeoutMs), async (left) => {
      const hits: t.RecallHit[] = [];
      try {
        for await (const response of this.memory.recall(request, this.callOptions(call, left))) {
          hits.push(conv.recallHit(response));
        }
      } catch (thrown) {
        // Hits already arrived: a retry could give another ranking.
        if (hits.length > 0) throw new NoRetry(toMemoridError(thrown, call?.signal));
        throw thrown;
      }
      return hits;
    });
  }

  /**
   * Stores turns the caller ran against a model itself, in one Attribute
   * stream; results in the turns' order. Each turn carries an idempotency
   * key (made up when absent), so a retry resends only the turns not yet
   * answered and a turn is never stored twice.
   */
  async attribute(turns: readonly t.AttributeTurn[], call?: CallOptions): Promise<t.AttributeResult[]> {
    const requests = turns.map(conv.attributeRequest);
    const results = new Map<string, t.AttributeResult>();
    return this.retrying(call, this.timeout(call, this.settings.timeoutMs), async (left) => {
      const pending = requests.filter((r) => !results.has(r.idempotencyKey));
      if (pending.length > 0) {
        async function* send() {
          yield* pending;
        }
        for await (const response of this.memory.attribute(send(), this.callOptions(call, left))) {
          results.set(response.idempotencyKey, conv.attributeResult(response));
        }
      }
      const missing = requests.filter((r) => !results.has(r.idempotencyKey));
      if (missing.length > 0) {
        throw new InternalError(`memorid answered ${requests.length - missing.length} of ${requests.length} turns`, {
          code: "INTERNAL",
        });
      }
      return requests.map((r) => results.get(r.idempotencyKey) as t.AttributeResult);
    });
  }

  /**
   * Waits until the entity's pending memory work (or that of `turnIds`) is
   * done, or `timeoutMs` (default 30 s) passed: `completed` says which.
   */
  async waitForAugmentation(
    options: WaitOptions & { readonly entityId: string },
    call?: CallOptions,
  ): Promise<t.AugmentationStatus> {
    const waitMs = options.timeoutMs ?? 30_000;
    const request = {
      attribution: conv.entityOnly(options.entityId),
      turnIds: [...(options.turnIds ?? [])],
      timeout: conv.waitTimeout(waitMs),
    };
    const response = await this.unary(call, this.timeout(call, waitMs + WAIT_MARGIN_MS), (opts) =>
      this.memory.waitForAugmentation(request, opts),
    );
    return conv.augmentationStatus(response);
  }

  /** One page of the entity's facts, newest first. */
  async listFacts(options: t.ListFactsOptions & { readonly entityId: string }, call?: CallOptions): Promise<t.FactPage> {
    const request = {
      attribution: conv.entityOnly(options.entityId),
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
      includeSuperseded: options.includeSuperseded ?? false,
    };
    const response = await this.unary(call, this.timeout(call, this.settings.timeoutMs), (opts) =>
      this.memory.listFacts(request, opts),
    );
    return conv.factPage(response);
  }

  /** Every fact of the entity, newest first, page after page. */
  async *facts(
    options: Omit<t.ListFactsOptions, "pageToken"> & { readonly entityId: string },
    call?: CallOptions,
  ): AsyncGenerator<t.Fact, void, undefined> {
    let pageToken = "";
    do {
      const page = await this.listFacts({ ...options, pageToken }, call);
      yield* page.facts;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** Deletes one fact of the entity. */
  async deleteFact(options: { readonly entityId: string; readonly factId: string }, call?: CallOptions): Promise<void> {
    const request = { attribution: conv.entityOnly(options.entityId), factId: options.factId };
    await this.unary(call, this.timeout(call, this.settings.timeoutMs), (opts) =>
      this.memory.deleteFact(request, opts),
    );
  }

  /** Deletes everything stored about the entity: facts, turns, sessions, pending jobs. */
  async forgetEntity(options: { readonly entityId: string }, call?: CallOptions): Promise<t.ForgetResult> {
    const request = { attribution: conv.entityOnly(options.entityId) };
    const response = await this.unary(call, this.timeout(call, this.settings.timeoutMs), (opts) =>
      this.memory.forgetEntity(request, opts),
    );
    return conv.forgetResult(response);
  }

  /** A session of the entity with its turns and messages. */
  async getSession(options: { readonly entityId: string; readonly sessionId: string }, call?: CallOptions) {
    if (!options.sessionId) throw new TypeError("getSession needs a sessionId");
    const request = { attribution: conv.attribution(options) };
    const response = await this.unary(call, this.timeout(call, this.settings.timeoutMs), (opts) =>
      this.memory.getSession(request, opts),
    );
    return conv.session(response);
  }

  /** True when memorid answers SERVING (storage migrated, embedder loaded). */
  async health(call?: CallOptions): Promise<boolean> {
    const method = HealthService.methods[0] as DescMethodUnary | undefined;
    if (method === undefined) return false;
    const opts = this.callOptions(call, this.timeout(call, 5_000));
    try {
      const response = await this.transport.unary(
        method,
        opts.signal,
        opts.timeoutMs,
        opts.headers,
        create(method.input, {}),
      );
      return (response.message as { status?: number }).status === SERVING;
    } catch {
      return false;
    }
  }

  /** Waits until memorid is SERVING; throws after `timeoutMs` (default 30 s). */
  async waitUntilReady(timeoutMs = 30_000, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (await this.health({ timeoutMs: Math.max(100, Math.min(5_000, left)), ...(signal ? { signal } : {}) })) return;
      if (signal?.aborted) throw toMemoridError(signal.reason, signal);
      if (Date.now() >= deadline) {
        throw new DeadlineExceededError(`memorid at ${this.target} was not SERVING within ${timeoutMs} ms`, {
          code: "DEADLINE_EXCEEDED",
        });
      }
      await sleep(100);
    }
  }

  /**
   * Closes the connection; calls still open fail with UNAVAILABLE. An idle
   * client does not keep the process alive, so closing is optional for
   * scripts.
   */
  close(): void {
    this.closed = true;
    this.closing.abort();
    this.session.abort();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
