"""Conversions between the plain types in `memorid.types` and the generated
protobuf messages. The only module besides the clients' call sites that
touches generated code; shared by the sync and the asyncio client."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from . import types as t
from ._gen.memori.v1 import chat_service_pb2 as chat_pb
from ._gen.memori.v1 import common_pb2 as common_pb
from ._gen.memori.v1 import memory_service_pb2 as memory_pb

_ROLES: dict[str, common_pb.Role.ValueType] = {
    "system": common_pb.ROLE_SYSTEM,
    "user": common_pb.ROLE_USER,
    "assistant": common_pb.ROLE_ASSISTANT,
    "tool": common_pb.ROLE_TOOL,
    # Names other SDKs use for the same roles.
    "developer": common_pb.ROLE_SYSTEM,
    "function": common_pb.ROLE_TOOL,
}
_ROLE_NAMES: dict[int, str] = {
    common_pb.ROLE_SYSTEM: "system",
    common_pb.ROLE_USER: "user",
    common_pb.ROLE_ASSISTANT: "assistant",
    common_pb.ROLE_TOOL: "tool",
}
_FINISH: dict[int, t.FinishReason] = {
    common_pb.FINISH_REASON_STOP: "stop",
    common_pb.FINISH_REASON_LENGTH: "length",
    common_pb.FINISH_REASON_TOOL_CALLS: "tool_calls",
    common_pb.FINISH_REASON_CONTENT_FILTER: "content_filter",
    common_pb.FINISH_REASON_OTHER: "other",
}
_CATEGORIES: dict[int, t.FactCategory] = {
    memory_pb.FACT_CATEGORY_PREFERENCE: "preference",
    memory_pb.FACT_CATEGORY_ATTRIBUTE: "attribute",
    memory_pb.FACT_CATEGORY_SKILL: "skill",
    memory_pb.FACT_CATEGORY_EVENT: "event",
    memory_pb.FACT_CATEGORY_RELATIONSHIP: "relationship",
    memory_pb.FACT_CATEGORY_RULE: "rule",
    memory_pb.FACT_CATEGORY_OTHER: "other",
}
_TURN_STATUS: dict[int, t.TurnStatus] = {
    memory_pb.TURN_STATUS_STREAMING: "streaming",
    memory_pb.TURN_STATUS_COMPLETED: "completed",
    memory_pb.TURN_STATUS_INTERRUPTED: "interrupted",
    memory_pb.TURN_STATUS_FAILED: "failed",
}
_KINDS: dict[str, memory_pb.MemoryKind.ValueType] = {
    "fact": memory_pb.MEMORY_KIND_FACT,
    "message": memory_pb.MEMORY_KIND_MESSAGE,
}
_TOOL_CHOICE_MODES: dict[str, chat_pb.ToolChoiceMode.ValueType] = {
    "auto": chat_pb.TOOL_CHOICE_MODE_AUTO,
    "none": chat_pb.TOOL_CHOICE_MODE_NONE,
    "required": chat_pb.TOOL_CHOICE_MODE_REQUIRED,
}
_FORMATS: dict[str, chat_pb.ResponseFormatType.ValueType] = {
    "text": chat_pb.RESPONSE_FORMAT_TYPE_TEXT,
    "json_object": chat_pb.RESPONSE_FORMAT_TYPE_JSON_OBJECT,
    "json_schema": chat_pb.RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
}


# --- to proto --------------------------------------------------------------


def attribution(value: t.Attribution) -> common_pb.Attribution:
    return common_pb.Attribution(
        entity_id=value.entity_id, process_id=value.process_id, session_id=value.session_id
    )


def entity_only(value: t.Attribution) -> common_pb.Attribution:
    """For the entity-wide RPCs, which refuse a process or session."""
    return common_pb.Attribution(entity_id=value.entity_id)


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(dict(value))
    return result


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of
    content parts (OpenAI `{"type": "text", "text": ...}` and Anthropic
    text blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type") in ("text", "input_text", "output_text"):
                parts.append(str(part.get("text", "")))
        return "".join(parts)
    return str(content)


def _tool_call_from_mapping(call: Mapping[str, Any]) -> common_pb.ToolCall:
    function = call.get("function")
    if isinstance(function, Mapping):
        return common_pb.ToolCall(
            id=str(call.get("id", "")),
            name=str(function.get("name", "")),
            arguments=str(function.get("arguments", "")),
        )
    return common_pb.ToolCall(
        id=str(call.get("id", "")), name=str(call.get("name", "")), arguments=str(call.get("arguments", ""))
    )


def message(value: t.MessageLike) -> common_pb.Message:
    if isinstance(value, t.Message):
        return common_pb.Message(
            role=_ROLES.get(value.role, common_pb.ROLE_UNSPECIFIED),
            content=value.content,
            name=value.name,
            tool_calls=[common_pb.ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in value.tool_calls],
            tool_call_id=value.tool_call_id,
        )
    role = str(value.get("role", ""))
    calls = value.get("tool_calls") or ()
    return common_pb.Message(
        # An unknown role is sent as unspecified, so the server names the
        # offending message (`messages[i].role`).
        role=_ROLES.get(role, common_pb.ROLE_UNSPECIFIED),
        content=_text(value.get("content")),
        name=str(value.get("name") or ""),
        tool_calls=[_tool_call_from_mapping(c) for c in calls if isinstance(c, Mapping)],
        tool_call_id=str(value.get("tool_call_id") or ""),
    )


def messages(values: Iterable[t.MessageLike]) -> list[common_pb.Message]:
    if isinstance(values, (str, bytes)):
        raise TypeError("messages must be a list of messages, not a string")
    return [message(m) for m in values]


def timestamp(value: _dt.datetime) -> timestamp_pb2.Timestamp:
    if value.tzinfo is None:
        raise ValueError("datetimes sent to memorid must be timezone-aware")
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value.astimezone(_dt.timezone.utc))
    return result


def duration(seconds: float) -> duration_pb2.Duration:
    result = duration_pb2.Duration()
    result.FromTimedelta(_dt.timedelta(seconds=seconds))
    return result


def _tool(value: t.Tool | Mapping[str, Any]) -> common_pb.Tool:
    if isinstance(value, t.Tool):
        return common_pb.Tool(
            name=value.name,
            description=value.description,
            parameters=_struct(value.parameters) if value.parameters is not None else None,
            strict=value.strict,
        )
    # The OpenAI shape: {"type": "function", "function": {...}}.
    spec = value.get("function", value)
    if not isinstance(spec, Mapping):
        raise TypeError(f"a tool must be a memorid.Tool or a mapping, got {value!r}")
    parameters = spec.get("parameters")
    return common_pb.Tool(
        name=str(spec.get("name", "")),
        description=str(spec.get("description") or ""),
        parameters=_struct(parameters) if isinstance(parameters, Mapping) else None,
        strict=bool(spec.get("strict", False)),
    )


def _response_format(value: t.ResponseFormat | Mapping[str, Any]) -> chat_pb.ResponseFormat:
    if isinstance(value, t.ResponseFormat):
        kind, name, schema, strict = value.type, value.schema_name, value.schema, value.strict
    else:
        kind = cast(Any, str(value.get("type", "")))
        spec = value.get("json_schema")
        spec = spec if isinstance(spec, Mapping) else {}
        name = str(spec.get("name", ""))
        schema = spec.get("schema")
        strict = bool(spec.get("strict", False))
    return chat_pb.ResponseFormat(
        type=_FORMATS.get(kind, chat_pb.RESPONSE_FORMAT_TYPE_UNSPECIFIED),
        schema_name=name,
        schema=_struct(schema) if isinstance(schema, Mapping) else None,
        strict=strict,
    )


def chat_request(
    who: t.Attribution,
    model: str,
    messages_: Sequence[t.MessageLike],
    *,
    temperature: float | None,
    max_tokens: int | None,
    top_p: float | None,
    stop: Sequence[str],
    tools: Sequence[t.Tool | Mapping[str, Any]],
    tool_choice: t.ToolChoice | None,
    response_format: t.ResponseFormat | Mapping[str, Any] | None,
    memory: t.MemoryOptions | None,
    metadata: Mapping[str, str] | None,
) -> chat_pb.ChatRequest:
    request = chat_pb.ChatRequest(
        attribution=attribution(who),
        model=model,
        messages=messages(messages_),
        stop=list(stop),
        tools=[_tool(x) for x in tools],
        metadata=dict(metadata or {}),
    )
    if temperature is not None:
        request.temperature = temperature
    if max_tokens is not None:
        request.max_tokens = max_tokens
    if top_p is not None:
        request.top_p = top_p
    if tool_choice is not None:
        mode = _TOOL_CHOICE_MODES.get(tool_choice)
        if mode is not None:
            request.tool_choice.mode = mode
        else:
            request.tool_choice.function_name = tool_choice
    if response_format is not None:
        request.response_format.CopyFrom(_response_format(response_format))
    if memory is not None:
        options = request.memory
        if memory.recall is not None:
            options.recall = memory.recall
        options.recall_limit = memory.recall_limit
        if memory.history is not None:
            options.history = memory.history
        options.history_token_budget = memory.history_token_budget
        if memory.augment is not None:
            options.augment = memory.augment
    return request


def recall_request(
    who: t.Attribution,
    query: str,
    *,
    limit: int,
    kinds: Sequence[t.MemoryKind],
    occurred_after: _dt.datetime | None,
    occurred_before: _dt.datetime | None,
    min_score: float,
    include_score_parts: bool,
    include_superseded: bool,
    ranking: t.Ranking | None = None,
) -> memory_pb.RecallRequest:
    if isinstance(kinds, str):
        kinds = (cast(t.MemoryKind, kinds),)
    unknown = [k for k in kinds if k not in _KINDS]
    if unknown:
        raise ValueError(f"unknown memory kinds {unknown!r}; use 'fact' and/or 'message'")
    request = memory_pb.RecallRequest(
        # Recall narrows by process; a session means nothing to it.
        attribution=common_pb.Attribution(entity_id=who.entity_id, process_id=who.process_id),
        query=query,
        limit=limit,
        kinds=[_KINDS[k] for k in kinds],
        min_score=min_score,
        include_score_parts=include_score_parts,
        include_superseded=include_superseded,
    )
    if occurred_after is not None:
        request.occurred_after.CopyFrom(timestamp(occurred_after))
    if occurred_before is not None:
        request.occurred_before.CopyFrom(timestamp(occurred_before))
    if ranking is not None:
        request.ranking.CopyFrom(ranking_message(ranking))
    return request


_FUSIONS = {"absolute": memory_pb.FUSION_ABSOLUTE, "min_max": memory_pb.FUSION_MIN_MAX}


def ranking_message(ranking: t.Ranking) -> memory_pb.Ranking:
    message = memory_pb.Ranking()
    for name in (
        "dense_weight",
        "lexical_weight",
        "recency_weight",
        "mentions_weight",
        "context_weight",
        "neighbour_weight",
    ):
        value = getattr(ranking, name)
        if value is not None:
            setattr(message, name, value)
    if ranking.fusion is not None:
        if ranking.fusion not in _FUSIONS:
            raise ValueError(f"unknown fusion {ranking.fusion!r}; use 'absolute' or 'min_max'")
        message.fusion = _FUSIONS[ranking.fusion]
    return message


def attribute_request(turn: t.AttributeTurn) -> memory_pb.AttributeRequest:
    request = memory_pb.AttributeRequest(
        attribution=attribution(turn.attribution),
        messages=messages(turn.messages),
        idempotency_key=turn.idempotency_key or f"memorid-py-{uuid.uuid4()}",
        metadata=dict(turn.metadata),
        model=turn.model,
    )
    if turn.occurred_at is not None:
        request.occurred_at.CopyFrom(timestamp(turn.occurred_at))
    return request


def wait_request(
    who: t.Attribution, turn_ids: Sequence[str], timeout: float | None
) -> memory_pb.WaitForAugmentationRequest:
    request = memory_pb.WaitForAugmentationRequest(attribution=entity_only(who), turn_ids=list(turn_ids))
    if timeout is not None:
        request.timeout.CopyFrom(duration(timeout))
    return request


def list_facts_request(
    who: t.Attribution, page_size: int, page_token: str, include_superseded: bool
) -> memory_pb.ListFactsRequest:
    return memory_pb.ListFactsRequest(
        attribution=entity_only(who),
        page_size=page_size,
        page_token=page_token,
        include_superseded=include_superseded,
    )


def delete_fact_request(who: t.Attribution, fact_id: str) -> memory_pb.DeleteFactRequest:
    return memory_pb.DeleteFactRequest(attribution=entity_only(who), fact_id=fact_id)


def forget_request(who: t.Attribution) -> memory_pb.ForgetEntityRequest:
    return memory_pb.ForgetEntityRequest(attribution=entity_only(who))


def get_session_request(who: t.Attribution, session_id: str) -> memory_pb.GetSessionRequest:
    return memory_pb.GetSessionRequest(
        attribution=common_pb.Attribution(entity_id=who.entity_id, session_id=session_id)
    )


# --- from proto ------------------------------------------------------------


def _time(message_: Any, field: str) -> _dt.datetime | None:
    if not message_.HasField(field):
        return None
    value: timestamp_pb2.Timestamp = getattr(message_, field)
    return value.ToDatetime(tzinfo=_dt.timezone.utc)


def _role(value: int) -> Any:
    return _ROLE_NAMES.get(value, "unspecified")


def usage(value: common_pb.Usage) -> t.Usage:
    return t.Usage(
        input_tokens=value.input_tokens,
        output_tokens=value.output_tokens,
        cached_input_tokens=value.cached_input_tokens,
        reasoning_tokens=value.reasoning_tokens,
    )


def finish_reason(value: int) -> t.FinishReason:
    return _FINISH.get(value, "unspecified")


def chat_event(response: chat_pb.ChatResponse) -> t.ChatEvent | None:
    """The event of one Chat response; None for an event this client does
    not know yet (a newer server), which is skipped."""
    which = response.WhichOneof("event")
    if which == "started":
        s = response.started
        return t.ChatStarted(
            turn_id=s.turn_id,
            session_id=s.session_id,
            model=s.model,
            recalled_memory_ids=tuple(s.recalled_memory_ids),
        )
    if which == "delta":
        d = response.delta
        return t.ChatDelta(
            text=d.text,
            tool_calls=tuple(
                t.ToolCallDelta(index=c.index, id=c.id, name=c.name, arguments=c.arguments) for c in d.tool_calls
            ),
            reasoning=d.reasoning,
        )
    if which == "completed":
        c = response.completed
        return t.ChatCompleted(
            turn_id=c.turn_id,
            finish_reason=finish_reason(c.finish_reason),
            usage=usage(c.usage) if c.HasField("usage") else None,
        )
    return None


def fact(value: memory_pb.Fact) -> t.Fact:
    return t.Fact(
        id=value.id,
        content=value.content,
        category=_CATEGORIES.get(value.category, "unspecified"),
        first_seen_at=_time(value, "first_seen_at"),
        last_seen_at=_time(value, "last_seen_at"),
        mention_count=value.mention_count,
        valid_until=_time(value, "valid_until"),
        superseded_by=value.superseded_by,
        source_turn_ids=tuple(value.source_turn_ids),
    )


def recall_hit(value: memory_pb.RecallResponse) -> t.RecallHit:
    parts = (
        t.ScoreParts(
            dense=value.score_parts.dense,
            lexical=value.score_parts.lexical,
            recency=value.score_parts.recency,
            mentions=value.score_parts.mentions,
        )
        if value.HasField("score_parts")
        else None
    )
    which = value.WhichOneof("hit")
    if which == "fact":
        return t.RecallHit(score=value.score, fact=fact(value.fact), score_parts=parts)
    m = value.message
    return t.RecallHit(
        score=value.score,
        message=t.MessageHit(
            turn_id=m.turn_id,
            session_id=m.session_id,
            role=_role(m.role),
            content=m.content,
            occurred_at=_time(m, "occurred_at"),
        ),
        score_parts=parts,
    )


def attribute_result(value: memory_pb.AttributeResponse) -> t.AttributeResult:
    return t.AttributeResult(
        idempotency_key=value.idempotency_key,
        turn_id=value.turn_id,
        session_id=value.session_id,
        duplicate=value.duplicate,
    )


def augmentation_status(value: memory_pb.WaitForAugmentationResponse) -> t.AugmentationStatus:
    return t.AugmentationStatus(
        completed=value.completed, pending_jobs=value.pending_jobs, dead_jobs=value.dead_jobs
    )


def fact_page(value: memory_pb.ListFactsResponse) -> t.FactPage:
    return t.FactPage(facts=tuple(fact(f) for f in value.facts), next_page_token=value.next_page_token)


def forget_result(value: memory_pb.ForgetEntityResponse) -> t.ForgetResult:
    return t.ForgetResult(
        sessions_deleted=value.sessions_deleted,
        turns_deleted=value.turns_deleted,
        messages_deleted=value.messages_deleted,
        facts_deleted=value.facts_deleted,
        jobs_deleted=value.jobs_deleted,
    )


def _stored_message(value: common_pb.Message) -> t.Message:
    return t.Message(
        role=cast(t.Role, _role(value.role)),
        content=value.content,
        name=value.name,
        tool_calls=tuple(t.ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in value.tool_calls),
        tool_call_id=value.tool_call_id,
    )


def session(value: memory_pb.GetSessionResponse) -> t.Session:
    s = value.session
    return t.Session(
        session_id=s.session_id,
        entity_id=s.entity_id,
        process_id=s.process_id,
        created_at=_time(s, "created_at"),
        updated_at=_time(s, "updated_at"),
        turns=tuple(
            t.StoredTurn(
                turn_id=turn.turn_id,
                status=_TURN_STATUS.get(turn.status, "unspecified"),
                model=turn.model,
                finish_reason=finish_reason(turn.finish_reason),
                usage=usage(turn.usage) if turn.HasField("usage") else None,
                messages=tuple(_stored_message(m) for m in turn.messages),
                occurred_at=_time(turn, "occurred_at"),
                error=turn.error,
                process_id=turn.process_id,
                metadata=dict(turn.metadata),
            )
            for turn in value.turns
        ),
    )


class ChatAccumulator:
    """Gathers a chat stream's events into a `ChatResult`."""

    def __init__(self) -> None:
        self.started: t.ChatStarted | None = None
        self.completed: t.ChatCompleted | None = None
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self._calls: dict[int, list[str]] = {}
        self._call_ids: dict[int, str] = {}
        self._call_names: dict[int, str] = {}

    def add(self, event: t.ChatEvent) -> None:
        if isinstance(event, t.ChatStarted):
            self.started = event
        elif isinstance(event, t.ChatDelta):
            if event.text:
                self.text_parts.append(event.text)
            if event.reasoning:
                self.reasoning_parts.append(event.reasoning)
            for piece in event.tool_calls:
                self._calls.setdefault(piece.index, []).append(piece.arguments)
                if piece.id:
                    self._call_ids[piece.index] = piece.id
                if piece.name:
                    self._call_names[piece.index] = piece.name
        else:
            self.completed = event

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def result(self) -> t.ChatResult:
        if self.started is None or self.completed is None:
            raise RuntimeError("the chat stream has not completed")
        return t.ChatResult(
            turn_id=self.completed.turn_id,
            session_id=self.started.session_id,
            model=self.started.model,
            text=self.text,
            finish_reason=self.completed.finish_reason,
            usage=self.completed.usage,
            tool_calls=tuple(
                t.ToolCall(
                    id=self._call_ids.get(i, ""), name=self._call_names.get(i, ""), arguments="".join(pieces)
                )
                for i, pieces in sorted(self._calls.items())
            ),
            reasoning="".join(self.reasoning_parts),
            recalled_memory_ids=self.started.recalled_memory_ids,
        )
