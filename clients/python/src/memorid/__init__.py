"""memorid: long-term memory for LLM applications, as a gRPC service.

- `Client` / `AsyncClient`: the sync and asyncio clients (same method names);
  `client.attribution(entity_id, process_id=...)` binds them to an entity.
- `Memori`: a drop-in for the Memori SDK — `Memori(...).llm.register(openai_or_anthropic_client)`
  keeps your own LLM calls and adds memorid's memory to them.
- `memorid.errors`: typed errors carrying what the server sent.
"""

from . import errors, types
from ._options import RetryPolicy
from .aio import AsyncAttributionScope, AsyncChatStream, AsyncClient
from .client import AttributionScope, ChatStream, Client
from .errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InsecureCredentialsWarning,
    InternalError,
    InvalidArgumentError,
    MemoridError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RequestCancelledError,
    StorageUnavailableError,
    UnauthenticatedError,
    UnavailableError,
    UpstreamRejectedError,
    UpstreamUnauthenticatedError,
    UpstreamUnavailableError,
)
from .memori import Memori
from .types import (
    AttributeResult,
    AttributeTurn,
    Attribution,
    AugmentationStatus,
    ChatCompleted,
    ChatDelta,
    ChatEvent,
    ChatResult,
    ChatStarted,
    Fact,
    FactPage,
    ForgetResult,
    MemoryOptions,
    Message,
    MessageHit,
    Ranking,
    RecallHit,
    ResponseFormat,
    ScoreParts,
    Session,
    StoredTurn,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncAttributionScope",
    "AsyncChatStream",
    "AsyncClient",
    "AttributeResult",
    "AttributeTurn",
    "Attribution",
    "AttributionScope",
    "AugmentationStatus",
    "ChatCompleted",
    "ChatDelta",
    "ChatEvent",
    "ChatResult",
    "ChatStarted",
    "ChatStream",
    "Client",
    "DeadlineExceededError",
    "Fact",
    "FactPage",
    "FailedPreconditionError",
    "FieldViolation",
    "ForgetResult",
    "InsecureCredentialsWarning",
    "InternalError",
    "InvalidArgumentError",
    "Memori",
    "MemoridError",
    "MemoryOptions",
    "Message",
    "MessageHit",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "Ranking",
    "RecallHit",
    "RequestCancelledError",
    "ResponseFormat",
    "RetryPolicy",
    "ScoreParts",
    "Session",
    "StorageUnavailableError",
    "StoredTurn",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "UnauthenticatedError",
    "UnavailableError",
    "UpstreamRejectedError",
    "UpstreamUnauthenticatedError",
    "UpstreamUnavailableError",
    "Usage",
    "errors",
    "types",
]
