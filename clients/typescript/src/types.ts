/**
 * The plain types the client takes and returns.
 *
 * Nothing here is a generated protobuf type: the client converts at its edge
 * (`convert.ts`), so user code never imports generated code, and a new proto
 * field changes nothing here by accident. Times are `Date`s, durations are
 * milliseconds, enums are lower-case string literals.
 */

export type Role = "system" | "user" | "assistant" | "tool";
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "other" | "unspecified";
export type FactCategory =
  | "preference"
  | "attribute"
  | "skill"
  | "event"
  | "relationship"
  | "rule"
  | "other"
  | "unspecified";
export type MemoryKind = "fact" | "message";
export type TurnStatus = "streaming" | "completed" | "interrupted" | "failed" | "unspecified";
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Whom a turn or memory belongs to: the entity (usually an end user), the
 * process (agent or app) talking, and the session (conversation thread).
 */
export interface Attribution {
  readonly entityId: string;
  readonly processId?: string | undefined;
  readonly sessionId?: string | undefined;
}

/** A tool (function) call the model asked for. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments as JSON text, exactly as the model produced them. */
  readonly arguments: string;
}

/** One chat message. */
export interface Message {
  readonly role: Role;
  readonly content?: string | undefined;
  /** Optional author name (OpenAI `name`). */
  readonly name?: string | undefined;
  /** Tool calls made by an assistant message. */
  readonly toolCalls?: readonly ToolCall[] | undefined;
  /** On a `tool` message: the id of the call this message answers. */
  readonly toolCallId?: string | undefined;
}

/**
 * A message in the OpenAI SDK's shape (`ChatCompletionMessageParam`), so
 * messages built for OpenAI can be passed as they are. `developer` is read as
 * `system`; content parts contribute their text.
 */
export interface OpenAIMessage {
  readonly role: Role | "developer" | "function";
  readonly content?: string | null | readonly ({ readonly type: string; readonly text?: string } | string)[] | undefined;
  readonly name?: string | undefined;
  readonly tool_calls?: readonly {
    readonly id: string;
    readonly type?: "function" | undefined;
    readonly function: { readonly name: string; readonly arguments: string };
  }[];
  readonly tool_call_id?: string | undefined;
}

export type MessageInput = Message | OpenAIMessage;

/** A function the model may call. */
export interface Tool {
  readonly name: string;
  readonly description?: string | undefined;
  /** The JSON Schema of the arguments. */
  readonly parameters?: JsonObject | undefined;
  readonly strict?: boolean | undefined;
}

/** A tool in the OpenAI SDK's shape (`{ type: "function", function: {...} }`). */
export interface OpenAITool {
  readonly type: "function";
  readonly function: Tool;
}

/** `"auto"`, `"none"`, `"required"`, or `{ function: name }` to force one call. */
export type ToolChoice = "auto" | "none" | "required" | { readonly function: string };

/** The shape of the answer. */
export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | { readonly type: "json_schema"; readonly name: string; readonly schema: JsonObject; readonly strict?: boolean };

/** Per-chat memory switches; anything left out takes the server's default. */
export interface MemoryOptions {
  /** Recall memories for the last user message and inject them. */
  readonly recall?: boolean | undefined;
  /** How many memories to inject at most. */
  readonly recallLimit?: number | undefined;
  /** Prepend the session's stored history. */
  readonly history?: boolean | undefined;
  /** Token budget of the prepended history. */
  readonly historyTokenBudget?: number | undefined;
  /** Turn this turn into memories in the background. */
  readonly augment?: boolean | undefined;
}

/** Token usage exactly as the upstream provider reported it. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  readonly reasoningTokens: number;
}

// --- Chat -------------------------------------------------------------------

/** What to send in one chat turn. */
export interface ChatOptions {
  /** `provider/model` (e.g. `openai/gpt-4o-mini`) or a configured alias. */
  readonly model: string;
  /** The new messages of this turn, oldest first. */
  readonly messages: readonly MessageInput[];
  readonly temperature?: number | undefined;
  readonly maxTokens?: number | undefined;
  readonly topP?: number | undefined;
  readonly stop?: readonly string[] | undefined;
  readonly tools?: readonly (Tool | OpenAITool)[] | undefined;
  readonly toolChoice?: ToolChoice | undefined;
  readonly responseFormat?: ResponseFormat | undefined;
  readonly memory?: MemoryOptions | undefined;
  /** Free-form labels stored with the turn. */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** Always the first event: the turn is stored and the upstream answered. */
export interface ChatStarted {
  readonly type: "started";
  readonly turnId: string;
  readonly sessionId: string;
  /** The resolved `provider/model`. */
  readonly model: string;
  /** Ids of the memories recalled and injected into the prompt. */
  readonly recalledMemoryIds: readonly string[];
}

/** A piece of a tool call; join pieces by `index`. */
export interface ToolCallDelta {
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** A piece of the answer, as soon as the upstream sent it. */
export interface ChatDelta {
  readonly type: "delta";
  readonly text: string;
  readonly toolCalls: readonly ToolCallDelta[];
  readonly reasoning: string;
}

/** Always the last event of a successful stream; the turn is durably stored. */
export interface ChatCompleted {
  readonly type: "completed";
  readonly turnId: string;
  readonly finishReason: FinishReason;
  /** Absent when the provider reported none. */
  readonly usage?: Usage | undefined;
}

export type ChatEvent = ChatStarted | ChatDelta | ChatCompleted;

/** A whole chat turn, as `ChatStream.collect()` returns it. */
export interface ChatResult {
  readonly turnId: string;
  readonly sessionId: string;
  readonly model: string;
  readonly text: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage?: Usage | undefined;
  readonly recalledMemoryIds: readonly string[];
}

// --- Memory -----------------------------------------------------------------

/** A short statement about an entity, extracted from its turns. */
export interface Fact {
  readonly id: string;
  readonly content: string;
  readonly category: FactCategory;
  readonly firstSeenAt?: Date | undefined;
  readonly lastSeenAt?: Date | undefined;
  readonly mentionCount: number;
  /** Set when a newer fact superseded this one. */
  readonly validUntil?: Date | undefined;
  /** Set when a newer fact superseded this one: that fact's id. */
  readonly supersededBy: string;
  /** The turns that mentioned the fact, oldest first. */
  readonly sourceTurnIds: readonly string[];
}

/** A stored message of a past turn, as Recall returns it. */
export interface MessageHit {
  readonly turnId: string;
  readonly sessionId: string;
  readonly role: Role | "unspecified";
  readonly content: string;
  readonly occurredAt?: Date | undefined;
}

export interface ScoreParts {
  readonly dense: number;
  readonly lexical: number;
  readonly recency: number;
  readonly mentions: number;
}

/** One recall hit (best first): a fact or a past message, with its score. */
export type RecallHit =
  | {
      readonly kind: "fact";
      readonly score: number;
      /** The fact's id. */
      readonly id: string;
      /** The fact's statement. */
      readonly content: string;
      readonly fact: Fact;
      readonly scoreParts?: ScoreParts | undefined;
    }
  | {
      readonly kind: "message";
      readonly score: number;
      /** The turn id of the message. */
      readonly id: string;
      /** The message's text. */
      readonly content: string;
      readonly message: MessageHit;
      readonly scoreParts?: ScoreParts | undefined;
    };

export interface RecallOptions {
  /** At most this many hits; 0 or absent takes the server's default. */
  readonly limit?: number | undefined;
  /** Which kinds of memory; absent means facts. */
  readonly kinds?: readonly MemoryKind[] | undefined;
  readonly occurredAfter?: Date | undefined;
  readonly occurredBefore?: Date | undefined;
  readonly minScore?: number | undefined;
  readonly includeScoreParts?: boolean | undefined;
  readonly includeSuperseded?: boolean | undefined;
  /** Ranks this call its own way; absent keeps the server's ranking. */
  readonly ranking?: Ranking | undefined;
}

/**
 * How a recall fuses its score parts: `"absolute"` (the parts as they are)
 * or `"min_max"` (each part's list scaled per query).
 */
export type Fusion = "absolute" | "min_max";

/**
 * One recall's own ranking, where it differs from the server's (its
 * `[recall]` weights and fusion); an absent field keeps the server's value.
 * memorid refuses a negative or non-finite weight (`InvalidArgumentError`
 * naming `ranking.dense_weight`, ...), and a `contextWeight` outside 0 to 1
 * (naming `ranking.context_weight`).
 */
export interface Ranking {
  readonly denseWeight?: number | undefined;
  readonly lexicalWeight?: number | undefined;
  readonly recencyWeight?: number | undefined;
  readonly mentionsWeight?: number | undefined;
  readonly fusion?: Fusion | undefined;
  /**
   * A message's session window (itself and up to two earlier messages of its
   * session, scored by their mean similarity): its share of the dense similarity, 0 to 1
   * (the server's default is 0.15).
   */
  readonly contextWeight?: number | undefined;
  /**
   * The share of the stronger neighbouring message's relevance (the previous
   * or next message of its session) added to a message's own; at least 0
   * (the server's default is 0.25).
   */
  readonly neighbourWeight?: number | undefined;
}

/** A finished turn that the caller ran against a model itself. */
export interface AttributeTurn {
  readonly attribution: Attribution;
  readonly messages: readonly MessageInput[];
  readonly occurredAt?: Date | undefined;
  /**
   * Makes the turn safe to resend. The client makes one up when absent, so
   * that its own retries never store a turn twice.
   */
  readonly idempotencyKey?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** The model that produced the assistant messages, if known. */
  readonly model?: string | undefined;
}

export interface AttributeResult {
  readonly idempotencyKey: string;
  readonly turnId: string;
  readonly sessionId: string;
  /** True when the key had been stored before and nothing was written. */
  readonly duplicate: boolean;
}

export interface AugmentationStatus {
  /** True when no awaited work is pending any more. */
  readonly completed: boolean;
  readonly pendingJobs: number;
  /** Jobs that failed for good. */
  readonly deadJobs: number;
}

export interface FactPage {
  readonly facts: readonly Fact[];
  /** Pass it as `pageToken` for the next page; empty on the last page. */
  readonly nextPageToken: string;
}

export interface ListFactsOptions {
  readonly pageSize?: number | undefined;
  readonly pageToken?: string | undefined;
  readonly includeSuperseded?: boolean | undefined;
}

export interface ForgetResult {
  readonly sessionsDeleted: number;
  readonly turnsDeleted: number;
  readonly messagesDeleted: number;
  readonly factsDeleted: number;
  readonly jobsDeleted: number;
}

/** One stored turn of a session. */
export interface StoredTurn {
  readonly turnId: string;
  readonly status: TurnStatus;
  readonly model: string;
  readonly finishReason: FinishReason;
  readonly usage?: Usage | undefined;
  readonly messages: readonly Message[];
  readonly occurredAt?: Date | undefined;
  /** The error that ended an interrupted or failed turn. */
  readonly error: string;
  readonly processId: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A session with its turns, oldest first. */
export interface Session {
  readonly sessionId: string;
  readonly entityId: string;
  readonly processId: string;
  readonly createdAt?: Date | undefined;
  readonly updatedAt?: Date | undefined;
  readonly turns: readonly StoredTurn[];
}
