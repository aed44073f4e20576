"""The plain Python types the client takes and returns.

Nothing here is a protobuf message: the client converts at its edge
(`memorid._convert`), so user code never imports generated code and a new
proto field never changes these types' behaviour by accident.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "other", "unspecified"]
FactCategory = Literal[
    "preference", "attribute", "skill", "event", "relationship", "rule", "other", "unspecified"
]
MemoryKind = Literal["fact", "message"]
TurnStatus = Literal["streaming", "completed", "interrupted", "failed", "unspecified"]
ToolChoice = Union[Literal["auto", "none", "required"], str]
"""`"auto"`, `"none"`, `"required"`, or the name of the one function to call."""


@dataclass(frozen=True)
class Attribution:
    """Whom a turn or memory belongs to: the entity (usually an end user), the
    process (agent or app) talking, and the session (conversation thread)."""

    entity_id: str
    process_id: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class ToolCall:
    """A tool (function) call the model asked for."""

    id: str
    name: str
    arguments: str
    """The arguments as JSON text, exactly as the model produced them."""


@dataclass(frozen=True)
class Message:
    """One chat message. Plain dicts in the OpenAI shape
    (`{"role": "user", "content": "..."}`) are accepted wherever a Message is."""

    role: Role
    content: str = ""
    name: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


MessageLike = Union[Message, Mapping[str, Any]]


@dataclass(frozen=True)
class Tool:
    """A function the model may call."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] | None = None
    """The JSON Schema of the arguments."""
    strict: bool = False


@dataclass(frozen=True)
class ResponseFormat:
    """The shape of the answer: `text`, `json_object`, or `json_schema` with a
    schema."""

    type: Literal["text", "json_object", "json_schema"]
    schema_name: str = ""
    schema: Mapping[str, Any] | None = None
    strict: bool = False


@dataclass(frozen=True)
class MemoryOptions:
    """Per-chat memory switches; None leaves the server's default."""

    recall: bool | None = None
    recall_limit: int = 0
    history: bool | None = None
    history_token_budget: int = 0
    augment: bool | None = None


@dataclass(frozen=True)
class Usage:
    """Token usage exactly as the upstream provider reported it."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


# --- Chat events -----------------------------------------------------------


@dataclass(frozen=True)
class ChatStarted:
    """Always the first event: the turn is stored and the upstream answered."""

    turn_id: str
    session_id: str
    model: str
    recalled_memory_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call; join pieces by `index`."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True)
class ChatDelta:
    """A piece of the answer, as soon as the upstream sent it."""

    text: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    reasoning: str = ""


@dataclass(frozen=True)
class ChatCompleted:
    """Always the last event of a successful stream; the turn is durably
    stored."""

    turn_id: str
    finish_reason: FinishReason
    usage: Usage | None = None


ChatEvent = Union[ChatStarted, ChatDelta, ChatCompleted]


@dataclass(frozen=True)
class ChatResult:
    """A whole chat turn, as `ChatStream.collect()` returns it."""

    turn_id: str
    session_id: str
    model: str
    text: str
    finish_reason: FinishReason
    usage: Usage | None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""
    recalled_memory_ids: tuple[str, ...] = ()


# --- Memory ----------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """A short statement about an entity, extracted from its turns."""

    id: str
    content: str
    category: FactCategory
    first_seen_at: _dt.datetime | None
    last_seen_at: _dt.datetime | None
    mention_count: int
    valid_until: _dt.datetime | None = None
    """Set when a newer fact superseded this one."""
    superseded_by: str = ""
    source_turn_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageHit:
    """A stored message of a past turn, as Recall returns it."""

    turn_id: str
    session_id: str
    role: Role | Literal["unspecified"]
    content: str
    occurred_at: _dt.datetime | None


@dataclass(frozen=True)
class Ranking:
    """One recall's own ranking, where it differs from the server's
    (`[recall]` weights and fusion); None keeps the server's value.
    `fusion` is "absolute" (the parts as they are) or "min_max" (each list
    scaled per query). `context_weight` (0 to 1) is a message's session
    window's share of its dense similarity (the window: it and up to two
    earlier messages of its session); `neighbour_weight` (at least 0) is
    the share of the stronger neighbouring message's relevance added to a
    message's own."""

    dense_weight: float | None = None
    lexical_weight: float | None = None
    recency_weight: float | None = None
    mentions_weight: float | None = None
    fusion: Literal["absolute", "min_max"] | None = None
    context_weight: float | None = None
    neighbour_weight: float | None = None


@dataclass(frozen=True)
class ScoreParts:
    dense: float
    lexical: float
    recency: float
    mentions: float


@dataclass(frozen=True)
class RecallHit:
    """One recall hit (best first): a fact or a past message, with its score."""

    score: float
    fact: Fact | None = None
    message: MessageHit | None = None
    score_parts: ScoreParts | None = None

    @property
    def kind(self) -> MemoryKind:
        return "fact" if self.fact is not None else "message"

    @property
    def content(self) -> str:
        """The fact's statement or the message's text."""
        if self.fact is not None:
            return self.fact.content
        return self.message.content if self.message is not None else ""

    @property
    def id(self) -> str:
        """The fact's id, or the turn id of a message hit."""
        if self.fact is not None:
            return self.fact.id
        return self.message.turn_id if self.message is not None else ""


@dataclass(frozen=True)
class AttributeTurn:
    """A finished turn that the caller ran against a model itself."""

    attribution: Attribution
    messages: Sequence[MessageLike]
    occurred_at: _dt.datetime | None = None
    idempotency_key: str = ""
    """Makes the turn safe to resend; the client fills in a random one when
    empty, so that its own retries never store a turn twice."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    model: str = ""


@dataclass(frozen=True)
class AttributeResult:
    idempotency_key: str
    turn_id: str
    session_id: str
    duplicate: bool
    """True when the key had been stored before and nothing was written."""


@dataclass(frozen=True)
class AugmentationStatus:
    completed: bool
    """True when no awaited work is pending any more."""
    pending_jobs: int
    dead_jobs: int


@dataclass(frozen=True)
class FactPage:
    facts: tuple[Fact, ...]
    next_page_token: str
    """Pass it as `page_token` for the next page; empty on the last page."""


@dataclass(frozen=True)
class ForgetResult:
    sessions_deleted: int
    turns_deleted: int
    messages_deleted: int
    facts_deleted: int
    jobs_deleted: int


@dataclass(frozen=True)
class StoredTurn:
    """One stored turn of a session."""

    turn_id: str
    status: TurnStatus
    model: str
    finish_reason: FinishReason
    usage: Usage | None
    messages: tuple[Message, ...]
    occurred_at: _dt.datetime | None
    error: str = ""
    process_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Session:
    """A session with its turns, oldest first."""

    session_id: str
    entity_id: str
    process_id: str
    created_at: _dt.datetime | None
    updated_at: _dt.datetime | None
    turns: tuple[StoredTurn, ...] = ()
