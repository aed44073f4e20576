/**
 * `AttributionScope`: the client's calls bound to one entity, process and
 * session — what `client.attribution({ entityId, processId })` returns.
 * Immutable and cheap; `withSession()` / `newSession()` give the same entity
 * in another session.
 *
 * Facts belong to the entity: `recall` searches all of them, whichever
 * process they came from (as memorid's own Chat does; `processId` narrows
 * recalled messages), and the entity-wide calls (wait, list, delete,
 * forget) send only the entity id, since memorid refuses a narrower-looking
 * request rather than widening it.
 */

import { randomUUID } from "node:crypto";
import type { ChatStream } from "./chat-stream.js";
import type { CallOptions, MemoridClient, WaitOptions } from "./client.js";
import type * as t from "./types.js";

export interface ScopeAttributeOptions {
  readonly occurredAt?: Date | undefined;
  readonly idempotencyKey?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  readonly model?: string | undefined;
}

/** A scope's attribution, every part set (empty when none). */
export interface ScopeAttribution {
  readonly entityId: string;
  readonly processId: string;
  readonly sessionId: string;
}

export class AttributionScope {
  /** @internal Made by `MemoridClient.attribution`. */
  constructor(
    private readonly client: MemoridClient,
    /** Whom this scope's calls are about. */
    readonly attribution: ScopeAttribution,
  ) {}

  get entityId(): string {
    return this.attribution.entityId;
  }

  /** The same entity and process in session `sessionId`. */
  withSession(sessionId: string): AttributionScope {
    return new AttributionScope(this.client, { ...this.attribution, sessionId });
  }

  /** The same entity and process in a new session with a fresh id. */
  newSession(): AttributionScope {
    return this.withSession(randomUUID());
  }

  /** See `MemoridClient.chat`; this scope's entity, process and session. */
  chat(options: t.ChatOptions, call?: CallOptions): ChatStream {
    return this.client.chat({ ...options, ...this.attribution }, call);
  }

  /** See `MemoridClient.recall`. */
  recall(query: string, options: t.RecallOptions & { processId?: string } = {}, call?: CallOptions) {
    return this.client.recall({ ...options, entityId: this.entityId, query }, call);
  }

  /** See `MemoridClient.recallStream`. */
  recallStream(query: string, options: t.RecallOptions & { processId?: string } = {}, call?: CallOptions) {
    return this.client.recallStream({ ...options, entityId: this.entityId, query }, call);
  }

  /** Stores one turn this scope's caller ran against a model itself. */
  async attribute(
    messages: readonly t.MessageInput[],
    options: ScopeAttributeOptions = {},
    call?: CallOptions,
  ): Promise<t.AttributeResult> {
    const [result] = await this.client.attribute([{ ...options, attribution: this.attribution, messages }], call);
    if (result === undefined) throw new Error("unreachable: attribute answers every turn or throws");
    return result;
  }

  /** See `MemoridClient.waitForAugmentation`; the whole entity's pending work. */
  waitForAugmentation(options: WaitOptions = {}, call?: CallOptions): Promise<t.AugmentationStatus> {
    return this.client.waitForAugmentation({ ...options, entityId: this.entityId }, call);
  }

  listFacts(options: t.ListFactsOptions = {}, call?: CallOptions): Promise<t.FactPage> {
    return this.client.listFacts({ ...options, entityId: this.entityId }, call);
  }

  /** Every fact of the entity, newest first, page after page. */
  facts(options: Omit<t.ListFactsOptions, "pageToken"> = {}, call?: CallOptions): AsyncGenerator<t.Fact, void, undefined> {
    return this.client.facts({ ...options, entityId: this.entityId }, call);
  }

  deleteFact(factId: string, call?: CallOptions): Promise<void> {
    return this.client.deleteFact({ entityId: this.entityId, factId }, call);
  }

  /** Deletes everything stored about the entity (not only this process's or session's). */
  forgetEntity(call?: CallOptions): Promise<t.ForgetResult> {
    return this.client.forgetEntity({ entityId: this.entityId }, call);
  }

  /** A session of the entity; by default this scope's. */
  getSession(sessionId: string = this.attribution.sessionId, call?: CallOptions): Promise<t.Session> {
    if (!sessionId) throw new TypeError("getSession needs a sessionId (this scope has none)");
    return this.client.getSession({ entityId: this.entityId, sessionId }, call);
  }
}
