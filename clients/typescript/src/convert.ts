/**
 * Conversions between the plain types of `types.ts` and the generated
 * protobuf messages: the only module besides the client's call sites that
 * touches generated code. Requests are built as the generated init shapes
 * (type-checked against the generated code, so a renamed field breaks the
 * build); responses are read field by field into plain objects.
 */

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import {
  type ChatRequestSchema,
  type ChatResponse,
  ResponseFormatType,
  ToolChoiceMode,
} from "./gen/memori/v1/chat_service_pb.js";
import {
  type Attribution as PbAttribution,
  AttributionSchema,
  FinishReason as PbFinishReason,
  type Message as PbMessage,
  type MessageSchema,
  Role as PbRole,
  type ToolSchema,
  type Usage as PbUsage,
} from "./gen/memori/v1/common_pb.js";
import {
  type AttributeRequestSchema,
  type AttributeResponse,
  type Fact as PbFact,
  FactCategory as PbFactCategory,
  type ForgetEntityResponse,
  Fusion as PbFusion,
  type GetSessionResponse,
  type ListFactsResponse,
  MemoryKind as PbMemoryKind,
  type RankingSchema,
  type RecallRequestSchema,
  type RecallResponse,
  TurnStatus as PbTurnStatus,
  type WaitForAugmentationResponse,
} from "./gen/memori/v1/memory_service_pb.js";
import type * as t from "./types.js";

const ROLES: Readonly<Record<string, PbRole>> = {
  system: PbRole.SYSTEM,
  user: PbRole.USER,
  assistant: PbRole.ASSISTANT,
  tool: PbRole.TOOL,
  // Names other SDKs use for the same roles.
  developer: PbRole.SYSTEM,
  function: PbRole.TOOL,
};
const ROLE_NAMES: Readonly<Record<number, t.Role>> = {
  [PbRole.SYSTEM]: "system",
  [PbRole.USER]: "user",
  [PbRole.ASSISTANT]: "assistant",
  [PbRole.TOOL]: "tool",
};
const FINISH: Readonly<Record<number, t.FinishReason>> = {
  [PbFinishReason.STOP]: "stop",
  [PbFinishReason.LENGTH]: "length",
  [PbFinishReason.TOOL_CALLS]: "tool_calls",
  [PbFinishReason.CONTENT_FILTER]: "content_filter",
  [PbFinishReason.OTHER]: "other",
};
const CATEGORIES: Readonly<Record<number, t.FactCategory>> = {
  [PbFactCategory.PREFERENCE]: "preference",
  [PbFactCategory.ATTRIBUTE]: "attribute",
  [PbFactCategory.SKILL]: "skill",
  [PbFactCategory.EVENT]: "event",
  [PbFactCategory.RELATIONSHIP]: "relationship",
  [PbFactCategory.RULE]: "rule",
  [PbFactCategory.OTHER]: "other",
};
const TURN_STATUS: Readonly<Record<number, t.TurnStatus>> = {
  [PbTurnStatus.STREAMING]: "streaming",
  [PbTurnStatus.COMPLETED]: "completed",
  [PbTurnStatus.INTERRUPTED]: "interrupted",
  [PbTurnStatus.FAILED]: "failed",
};
const KINDS: Readonly<Record<t.MemoryKind, PbMemoryKind>> = {
  fact: PbMemoryKind.FACT,
  message: PbMemoryKind.MESSAGE,
};
const TOOL_CHOICE_MODES: Readonly<Record<string, ToolChoiceMode>> = {
  auto: ToolChoiceMode.AUTO,
  none: ToolChoiceMode.NONE,
  required: ToolChoiceMode.REQUIRED,
};
const FORMATS: Readonly<Record<string, ResponseFormatType>> = {
  text: ResponseFormatType.TEXT,
  json_object: ResponseFormatType.JSON_OBJECT,
  json_schema: ResponseFormatType.JSON_SCHEMA,
};

// --- to proto ---------------------------------------------------------------

export function attribution(who: t.Attribution): PbAttribution {
  return create(AttributionSchema, {
    entityId: who.entityId,
    processId: who.processId ?? "",
    sessionId: who.sessionId ?? "",
  });
}

/** For the entity-wide RPCs, which refuse a process or session. */
export function entityOnly(entityId: string): PbAttribution {
  return create(AttributionSchema, { entityId });
}

function text(content: t.OpenAIMessage["content"]): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  let out = "";
  for (const part of content) {
    if (typeof part === "string") out += part;
    else if (["text", "input_text", "output_text"].includes(part.type)) out += part.text ?? "";
  }
  return out;
}

function isOpenAI(message: t.MessageInput): message is t.OpenAIMessage {
  return (
    "tool_calls" in message || "tool_call_id" in message || message.content === null || Array.isArray(message.content)
  );
}

export function message(value: t.MessageInput): MessageInitShape<typeof MessageSchema> {
  // An unknown role is sent as unspecified, so the server names the
  // offending message (`messages[i].role`).
  const role = ROLES[value.role] ?? PbRole.UNSPECIFIED;
  if (isOpenAI(value)) {
    return {
      role,
      content: text(value.content),
      name: value.name ?? "",
      toolCalls: (value.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      })),
      toolCallId: value.tool_call_id ?? "",
    };
  }
  const plain = value as t.Message;
  return {
    role,
    content: plain.content ?? "",
    name: plain.name ?? "",
    toolCalls: (plain.toolCalls ?? []).map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })),
    toolCallId: plain.toolCallId ?? "",
  };
}

export function messages(values: readonly t.MessageInput[]): MessageInitShape<typeof MessageSchema>[] {
  if (!Array.isArray(values)) throw new TypeError("messages must be an array of messages");
  return values.map(message);
}

function tool(value: t.Tool | t.OpenAITool): MessageInitShape<typeof ToolSchema> {
  const spec: t.Tool = "function" in value && typeof value.function === "object" ? value.function : (value as t.Tool);
  return {
    name: spec.name,
    description: spec.description ?? "",
    ...(spec.parameters !== undefined ? { parameters: spec.parameters } : {}),
    strict: spec.strict ?? false,
  };
}

export function chatRequest(who: t.Attribution, options: t.ChatOptions): MessageInitShape<typeof ChatRequestSchema> {
  const choice = options.toolChoice;
  const format = options.responseFormat;
  const memory = options.memory;
  return {
    attribution: attribution(who),
    model: options.model,
    messages: messages(options.messages),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    ...(options.topP !== undefined ? { topP: options.topP } : {}),
    stop: [...(options.stop ?? [])],
    tools: (options.tools ?? []).map(tool),
    ...(choice !== undefined
      ? {
          toolChoice: {
            choice:
              typeof choice === "string"
                ? { case: "mode" as const, value: TOOL_CHOICE_MODES[choice] ?? ToolChoiceMode.UNSPECIFIED }
                : { case: "functionName" as const, value: choice.function },
          },
        }
      : {}),
    ...(format !== undefined
      ? {
          responseFormat:
            format.type === "json_schema"
              ? {
                  type: ResponseFormatType.JSON_SCHEMA,
                  schemaName: format.name,
                  schema: format.schema,
                  strict: format.strict ?? false,
                }
              : { type: FORMATS[format.type] ?? ResponseFormatType.UNSPECIFIED },
        }
      : {}),
    ...(memory !== undefined
      ? {
          memory: {
            ...(memory.recall !== undefined ? { recall: memory.recall } : {}),
            recallLimit: memory.recallLimit ?? 0,
            ...(memory.history !== undefined ? { history: memory.history } : {}),
            historyTokenBudget: memory.historyTokenBudget ?? 0,
            ...(memory.augment !== undefined ? { augment: memory.augment } : {}),
          },
        }
      : {}),
    metadata: { ...(options.metadata ?? {}) },
  };
}

export function recallRequest(
  entityId: string,
  processId: string,
  query: string,
  options: t.RecallOptions,
): MessageInitShape<typeof RecallRequestSchema> {
  return {
    attribution: attribution({ entityId, processId }),
    query,
    limit: options.limit ?? 0,
    kinds: (options.kinds ?? []).map((k) => KINDS[k]),
    ...(options.occurredAfter !== undefined ? { occurredAfter: timestampFromDate(options.occurredAfter) } : {}),
    ...(options.occurredBefore !== undefined ? { occurredBefore: timestampFromDate(options.occurredBefore) } : {}),
    minScore: options.minScore ?? 0,
    includeScoreParts: options.includeScoreParts ?? false,
    includeSuperseded: options.includeSuperseded ?? false,
    ...(options.ranking !== undefined ? { ranking: ranking(options.ranking) } : {}),
  };
}

const FUSIONS: Readonly<Record<t.Fusion, PbFusion>> = {
  absolute: PbFusion.ABSOLUTE,
  min_max: PbFusion.MIN_MAX,
};

function ranking(value: t.Ranking): MessageInitShape<typeof RankingSchema> {
  let fusion = PbFusion.UNSPECIFIED;
  if (value.fusion !== undefined) {
    if (!Object.hasOwn(FUSIONS, value.fusion)) {
      throw new TypeError(`unknown fusion ${JSON.stringify(value.fusion)}: use "absolute" or "min_max"`);
    }
    fusion = FUSIONS[value.fusion];
  }
  return {
    ...(value.denseWeight !== undefined ? { denseWeight: value.denseWeight } : {}),
    ...(value.lexicalWeight !== undefined ? { lexicalWeight: value.lexicalWeight } : {}),
    ...(value.recencyWeight !== undefined ? { recencyWeight: value.recencyWeight } : {}),
    ...(value.mentionsWeight !== undefined ? { mentionsWeight: value.mentionsWeight } : {}),
    ...(value.contextWeight !== undefined ? { contextWeight: value.contextWeight } : {}),
    ...(value.neighbourWeight !== undefined ? { neighbourWeight: value.neighbourWeight } : {}),
    fusion,
  };
}

/** The request of one turn, with an idempotency key made up when none was given. */
export function attributeRequest(turn: t.AttributeTurn): MessageInitShape<typeof AttributeRequestSchema> & {
  idempotencyKey: string;
} {
  return {
    attribution: attribution(turn.attribution),
    messages: messages(turn.messages),
    ...(turn.occurredAt !== undefined ? { occurredAt: timestampFromDate(turn.occurredAt) } : {}),
    idempotencyKey: turn.idempotencyKey || randomUUID(),
    metadata: { ...(turn.metadata ?? {}) },
    model: turn.model ?? "",
  };
}

export function waitTimeout(timeoutMs: number): ReturnType<typeof durationFromMs> {
  return durationFromMs(timeoutMs);
}

// --- from proto -------------------------------------------------------------

function date(value: Timestamp | undefined): Date | undefined {
  return value === undefined ? undefined : timestampDate(value);
}

function usage(value: PbUsage | undefined): t.Usage | undefined {
  if (value === undefined) return undefined;
  return {
    inputTokens: value.inputTokens,
    outputTokens: value.outputTokens,
    cachedInputTokens: value.cachedInputTokens,
    reasoningTokens: value.reasoningTokens,
  };
}

function finish(value: PbFinishReason): t.FinishReason {
  return FINISH[value] ?? "unspecified";
}

/** `base` plus the entries of `extra` that are not undefined (for optional fields). */
function withOptional<T>(base: T, extra: Record<string, unknown>): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/** A chat event, or undefined for an empty response (none is ever sent). */
export function chatEvent(response: ChatResponse): t.ChatEvent | undefined {
  const event = response.event;
  switch (event.case) {
    case "started":
      return {
        type: "started",
        turnId: event.value.turnId,
        sessionId: event.value.sessionId,
        model: event.value.model,
        recalledMemoryIds: [...event.value.recalledMemoryIds],
      };
    case "delta":
      return {
        type: "delta",
        text: event.value.text,
        toolCalls: event.value.toolCalls.map((c) => ({
          index: c.index,
          id: c.id,
          name: c.name,
          arguments: c.arguments,
        })),
        reasoning: event.value.reasoning,
      };
    case "completed":
      return withOptional<t.ChatCompleted>(
        { type: "completed", turnId: event.value.turnId, finishReason: finish(event.value.finishReason) },
        { usage: usage(event.value.usage) },
      );
    default:
      return undefined;
  }
}

function fact(value: PbFact): t.Fact {
  return withOptional<t.Fact>(
    {
      id: value.id,
      content: value.content,
      category: CATEGORIES[value.category] ?? "unspecified",
      mentionCount: value.mentionCount,
      supersededBy: value.supersededBy,
      sourceTurnIds: [...value.sourceTurnIds],
    },
    { firstSeenAt: date(value.firstSeenAt), lastSeenAt: date(value.lastSeenAt), validUntil: date(value.validUntil) },
  );
}

export function recallHit(value: RecallResponse): t.RecallHit {
  const parts = value.scoreParts;
  const scoreParts =
    parts === undefined
      ? undefined
      : { dense: parts.dense, lexical: parts.lexical, recency: parts.recency, mentions: parts.mentions };
  const hit = value.hit;
  if (hit.case === "message") {
    const m = hit.value;
    const message = withOptional<t.MessageHit>(
      { turnId: m.turnId, sessionId: m.sessionId, role: ROLE_NAMES[m.role] ?? "unspecified", content: m.content },
      { occurredAt: date(m.occurredAt) },
    );
    return withOptional<t.RecallHit>(
      { kind: "message", score: value.score, id: m.turnId, content: m.content, message },
      { scoreParts },
    );
  }
  if (hit.case === "fact") {
    const f = fact(hit.value);
    return withOptional<t.RecallHit>(
      { kind: "fact", score: value.score, id: f.id, content: f.content, fact: f },
      { scoreParts },
    );
  }
  throw new TypeError("memorid sent a recall hit that is neither a fact nor a message");
}

export function attributeResult(value: AttributeResponse): t.AttributeResult {
  return {
    idempotencyKey: value.idempotencyKey,
    turnId: value.turnId,
    sessionId: value.sessionId,
    duplicate: value.duplicate,
  };
}

export function augmentationStatus(value: WaitForAugmentationResponse): t.AugmentationStatus {
  return { completed: value.completed, pendingJobs: value.pendingJobs, deadJobs: value.deadJobs };
}

export function factPage(value: ListFactsResponse): t.FactPage {
  return { facts: value.facts.map(fact), nextPageToken: value.nextPageToken };
}

export function forgetResult(value: ForgetEntityResponse): t.ForgetResult {
  return {
    sessionsDeleted: Number(value.sessionsDeleted),
    turnsDeleted: Number(value.turnsDeleted),
    messagesDeleted: Number(value.messagesDeleted),
    factsDeleted: Number(value.factsDeleted),
    jobsDeleted: Number(value.jobsDeleted),
  };
}

function storedMessage(value: PbMessage): t.Message {
  const role = ROLE_NAMES[value.role];
  if (role === undefined) throw new TypeError(`memorid sent a message with role ${value.role}`);
  const out: { -readonly [K in keyof t.Message]: t.Message[K] } = { role, content: value.content };
  if (value.name) out.name = value.name;
  if (value.toolCalls.length > 0) {
    out.toolCalls = value.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
  }
  if (value.toolCallId) out.toolCallId = value.toolCallId;
  return out;
}

export function session(value: GetSessionResponse): t.Session {
  const s = value.session;
  if (s === undefined) throw new TypeError("memorid sent a GetSession response without a session");
  return withOptional<t.Session>(
    {
      sessionId: s.sessionId,
      entityId: s.entityId,
      processId: s.processId,
      turns: value.turns.map((turn) =>
        withOptional<t.StoredTurn>(
          {
            turnId: turn.turnId,
            status: TURN_STATUS[turn.status] ?? "unspecified",
            model: turn.model,
            finishReason: finish(turn.finishReason),
            messages: turn.messages.map(storedMessage),
            error: turn.error,
            processId: turn.processId,
            metadata: { ...turn.metadata },
          },
          { usage: usage(turn.usage), occurredAt: date(turn.occurredAt) },
        ),
      ),
    },
    { createdAt: date(s.createdAt), updatedAt: date(s.updatedAt) },
  );
}
