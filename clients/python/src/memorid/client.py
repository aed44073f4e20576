"""The synchronous client.

One `Client` holds one gRPC channel; it is thread-safe and meant to be
created once per process and shared. `client.attribution(...)` gives a
scope bound to an entity (and optionally a process and session), which is
what most code uses.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Callable, TypeVar

import grpc

from . import _convert as conv
from . import types as t
from ._gen.memori.v1 import chat_service_pb2 as chat_pb
from ._gen.memori.v1 import chat_service_pb2_grpc as chat_grpc
from ._gen.memori.v1 import memory_service_pb2 as memory_pb
from ._gen.memori.v1 import memory_service_pb2_grpc as memory_grpc
from ._options import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_TIMEOUT,
    WAIT_MARGIN,
    RetryPolicy,
    Settings,
    health_status,
    settings,
)
from .errors import MemoridError, from_rpc_error

_R = TypeVar("_R")
_UNSET: Any = object()


class ChatStream(Iterator[t.ChatEvent]):
    """The events of one chat, as memorid mirrors them: `ChatStarted`, then
    `ChatDelta`s, then `ChatCompleted`.

    Iterate it (`for event in stream`), or call `collect()` for the whole
    turn. An error before the first event raises from the first iteration
    (or `start()`); an error mid-stream raises after the deltas already
    yielded. Leaving a `with` block, `cancel()`, or dropping the stream
    before its end cancels the call, and memorid stops the upstream
    request."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._acc = conv.ChatAccumulator()
        self._buffered: list[t.ChatEvent] = []
        self._finished = False

    def _read(self) -> t.ChatEvent:
        while True:
            try:
                response: chat_pb.ChatResponse = next(self._call)
            except StopIteration:
                self._finished = True
                if self._acc.completed is None:
                    raise MemoridError(
                        "the chat stream ended without a completed event", code=grpc.StatusCode.INTERNAL
                    ) from None
                raise
            except grpc.RpcError as error:
                self._finished = True
                raise from_rpc_error(error) from None
            event = conv.chat_event(response)
            if event is not None:
                self._acc.add(event)
                return event

    def start(self) -> t.ChatStarted:
        """Waits for the `started` event (the turn is stored and the upstream
        answered) and returns it; iteration still yields it first."""
        if self._acc.started is None:
            self._buffered.append(self._read())
        assert self._acc.started is not None
        return self._acc.started

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> t.ChatEvent:
        if self._buffered:
            return self._buffered.pop(0)
        if self._finished:
            raise StopIteration
        return self._read()

    def text_deltas(self) -> Iterator[str]:
        """Only the answer's text, piece by piece."""
        for event in self:
            if isinstance(event, t.ChatDelta) and event.text:
                yield event.text

    def collect(self) -> t.ChatResult:
        """Reads the stream to its end and returns the whole turn."""
        for _ in self:
            pass
        return self._acc.result()

    @property
    def started(self) -> t.ChatStarted | None:
        return self._acc.started

    @property
    def completed(self) -> t.ChatCompleted | None:
        """The final turn (ids, finish reason, usage), once the stream ended."""
        return self._acc.completed

    @property
    def text(self) -> str:
        """The answer's text received so far."""
        return self._acc.text

    def cancel(self) -> None:
        if not self._finished:
            self._finished = True
            self._call.cancel()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()

    def __del__(self) -> None:
        # A stream dropped before its end (e.g. `break` out of a for loop)
        # cancels its call, so memorid stops the upstream request.
        call = getattr(self, "_call", None)
        if call is not None and not getattr(self, "_finished", True):
            try:
                call.cancel()
            except Exception:  # noqa: S110 (at interpreter exit, or its loop is gone)
                pass


class Augmentation:
    """`scope.augmentation.wait()`: the background memory work of an entity."""

    def __init__(self, client: Client, who: t.Attribution) -> None:
        self._client = client
        self._who = who

    def wait(self, turn_ids: Sequence[str] = (), *, timeout: float = 30.0) -> t.AugmentationStatus:
        """Blocks until the entity's pending memory work (or that of
        `turn_ids`) is done, or `timeout` seconds passed; check `.completed`."""
        return self._client.wait_for_augmentation(entity_id=self._who.entity_id, turn_ids=turn_ids, timeout=timeout)


class AttributionScope:
    """The client bound to one attribution: `client.attribution("user_123",
    process_id="my_agent")`. Immutable and cheap; make one per request or
    keep one per user."""

    def __init__(self, client: Client, who: t.Attribution) -> None:
        self._client = client
        self.attribution = who

    def with_session(self, session_id: str) -> AttributionScope:
        """The same entity and process in the session `session_id`."""
        who = self.attribution
        return AttributionScope(self._client, t.Attribution(who.entity_id, who.process_id, session_id))

    def new_session(self) -> AttributionScope:
        """The same entity and process in a new session with a fresh id."""
        import uuid

        return self.with_session(str(uuid.uuid4()))

    @property
    def augmentation(self) -> Augmentation:
        return Augmentation(self._client, self.attribution)

    def chat(self, model: str, messages: Sequence[t.MessageLike], **options: Any) -> ChatStream:
        """`Client.chat` with this scope's attribution; see there."""
        who = self.attribution
        return self._client.chat(
            model, messages, entity_id=who.entity_id, process_id=who.process_id, session_id=who.session_id, **options
        )

    def recall(self, query: str, *, limit: int = 0, **options: Any) -> list[t.RecallHit]:
        """`Client.recall` over this entity's memories, whichever process
        they came from, as memorid's own Chat recalls them (`process_id=`
        narrows past messages to one process)."""
        return self._client.recall(query, entity_id=self.attribution.entity_id, limit=limit, **options)

    def attribute(
        self,
        messages: Sequence[t.MessageLike],
        *,
        occurred_at: _dt.datetime | None = None,
        idempotency_key: str = "",
        metadata: Mapping[str, str] | None = None,
        model: str = "",
        timeout: float | None = _UNSET,
    ) -> t.AttributeResult:
        """Stores one finished turn that you ran against a model yourself."""
        turn = t.AttributeTurn(
            attribution=self.attribution,
            messages=messages,
            occurred_at=occurred_at,
            idempotency_key=idempotency_key,
            metadata=dict(metadata or {}),
            model=model,
        )
        return self._client.attribute([turn], timeout=timeout)[0]

    def list_facts(self, **options: Any) -> t.FactPage:
        return self._client.list_facts(entity_id=self.attribution.entity_id, **options)

    def iter_facts(self, **options: Any) -> Iterator[t.Fact]:
        return self._client.iter_facts(entity_id=self.attribution.entity_id, **options)

    def delete_fact(self, fact_id: str, **options: Any) -> None:
        self._client.delete_fact(fact_id, entity_id=self.attribution.entity_id, **options)

    def forget_entity(self, **options: Any) -> t.ForgetResult:
        """Deletes everything stored about this entity (every process and
        session)."""
        return self._client.forget_entity(entity_id=self.attribution.entity_id, **options)

    forget = forget_entity

    def wait_for_augmentation(self, turn_ids: Sequence[str] = (), *, timeout: float = 30.0) -> t.AugmentationStatus:
        """The same as `augmentation.wait()`."""
        return self.augmentation.wait(turn_ids, timeout=timeout)

    def get_session(self, session_id: str = "", **options: Any) -> t.Session:
        """This scope's session, or `session_id`."""
        sid = session_id or self.attribution.session_id
        if not sid:
            raise ValueError("get_session needs a session_id (this scope has none)")
        return self._client.get_session(sid, entity_id=self.attribution.entity_id, **options)


class Client:
    """A connection to memorid.

    `target` is `host:port` (plaintext), `http://host:port`, or
    `https://host[:port]` (TLS). `api_key` is sent as `authorization: Bearer`
    (a warning is issued when that happens without TLS). TLS trusts the
    operating system's roots unless `ca_file` or `root_certificates` is given;
    `cert_file` and `key_file` (PEM) present a client certificate to a
    server that requires one (`server.tls.client_ca_file`).
    `timeout` is the default deadline of every call but Chat, whose default is
    `chat_timeout` (None: no deadline); each method takes `timeout=` too.
    `keepalive_time` (seconds) turns on HTTP/2 keepalive pings.
    `retry=RetryPolicy()` turns on retries (off by default).
    """

    def __init__(
        self,
        target: str = "localhost:50051",
        *,
        api_key: str | None = None,
        tls: bool | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        root_certificates: bytes | None = None,
        tls_server_name: str | None = None,
        cert_file: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        chat_timeout: float | None = None,
        keepalive_time: float | None = None,
        keepalive_timeout: float = 20.0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._settings: Settings = settings(
            target,
            api_key=api_key,
            tls=tls,
            ca_file=ca_file,
            root_certificates=root_certificates,
            tls_server_name=tls_server_name,
            cert_file=cert_file,
            key_file=key_file,
            timeout=timeout,
            chat_timeout=chat_timeout,
            keepalive_time=keepalive_time,
            keepalive_timeout=keepalive_timeout,
            max_message_size=max_message_size,
            retry=retry,
            user_agent=user_agent,
            channel_options=channel_options,
        )
        s = self._settings
        if s.credentials is not None:
            self._channel = grpc.secure_channel(s.target, s.credentials, options=list(s.options))
        else:
            self._channel = grpc.insecure_channel(s.target, options=list(s.options))
        self._chat = chat_grpc.ChatServiceStub(self._channel)
        self._memory = memory_grpc.MemoryServiceStub(self._channel)
        self._health = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda request: request,
            response_deserializer=lambda payload: payload,
        )
        self._closed = threading.Event()

    # --- plumbing -----------------------------------------------------------

    @property
    def target(self) -> str:
        return self._settings.target

    def _timeout(self, value: float | None) -> float | None:
        return self._settings.timeout if value is _UNSET else value

    def _retrying(self, timeout: float | None, attempt_fn: Callable[[float | None], _R]) -> _R:
        """Runs `attempt_fn(remaining_timeout)` under the retry policy."""
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return attempt_fn(left)
            except MemoridError as error:
                policy = self._settings.retry
                delay = policy.delay(attempt, error) if policy is not None else None
                if delay is None or (deadline is not None and time.monotonic() + delay >= deadline):
                    raise
                time.sleep(delay)

    def _unary(self, method: Any, request: Any, timeout: float | None) -> Any:
        def once(left: float | None) -> Any:
            try:
                return method(request, timeout=left, metadata=self._settings.metadata)
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return self._retrying(timeout, once)

    # --- scopes -------------------------------------------------------------

    def attribution(self, entity_id: str, process_id: str = "", session_id: str = "") -> AttributionScope:
        """A scope bound to this entity (and process and session)."""
        if not entity_id:
            raise ValueError("entity_id is required")
        return AttributionScope(self, t.Attribution(entity_id, process_id, session_id))

    # --- RPCs ---------------------------------------------------------------

    def chat(
        self,
        model: str,
        messages: Sequence[t.MessageLike],
        *,
        entity_id: str,
        process_id: str = "",
        session_id: str = "",
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        tools: Sequence[t.Tool | Mapping[str, Any]] = (),
        tool_choice: t.ToolChoice | None = None,
        response_format: t.ResponseFormat | Mapping[str, Any] | None = None,
        memory: t.MemoryOptions | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float | None = _UNSET,
    ) -> ChatStream:
        """Sends a chat through memorid (which recalls and injects memories,
        calls the upstream `provider/model` and stores the turn) and returns
        its event stream. Never retried."""
        request = conv.chat_request(
            t.Attribution(entity_id, process_id, session_id),
            model,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            memory=memory,
            metadata=metadata,
        )
        deadline = self._settings.chat_timeout if timeout is _UNSET else timeout
        call = self._chat.Chat(request, timeout=deadline, metadata=self._settings.metadata)
        return ChatStream(call)

    def recall(
        self,
        query: str,
        *,
        entity_id: str,
        process_id: str = "",
        limit: int = 0,
        kinds: Sequence[t.MemoryKind] = (),
        occurred_after: _dt.datetime | None = None,
        occurred_before: _dt.datetime | None = None,
        min_score: float = 0.0,
        include_score_parts: bool = False,
        include_superseded: bool = False,
        ranking: t.Ranking | None = None,
        timeout: float | None = _UNSET,
    ) -> list[t.RecallHit]:
        """The entity's memories best matching `query`, best first (facts by
        default; `kinds=("fact", "message")` adds past messages). Facts
        belong to the entity; `process_id` narrows the past messages to that
        process's turns. `ranking` changes the weights or fusion for this
        call only."""
        request = conv.recall_request(
            t.Attribution(entity_id, process_id),
            query,
            limit=limit,
            kinds=kinds,
            occurred_after=occurred_after,
            occurred_before=occurred_before,
            min_score=min_score,
            include_score_parts=include_score_parts,
            include_superseded=include_superseded,
            ranking=ranking,
        )

        def once(left: float | None) -> list[t.RecallHit]:
            hits: list[t.RecallHit] = []
            try:
                for response in self._memory.Recall(request, timeout=left, metadata=self._settings.metadata):
                    hits.append(conv.recall_hit(response))
            except grpc.RpcError as error:
                typed = from_rpc_error(error)
                if hits:  # a stream that yielded is never retried
                    raise _NoRetry(typed) from None
                raise typed from None
            return hits

        try:
            return self._retrying(self._timeout(timeout), once)
        except _NoRetry as stop:
            raise stop.error from None

    def attribute(
        self, turns: Iterable[t.AttributeTurn], *, timeout: float | None = _UNSET
    ) -> list[t.AttributeResult]:
        """Stores finished turns (one stream for all of them) and returns one
        result per turn, in order, each once its turn is durably stored. A
        turn without an idempotency key gets a random one, so a retry (with a
        `RetryPolicy`) resends only the turns not yet answered and never
        stores one twice."""
        requests = [conv.attribute_request(turn) for turn in turns]
        results: dict[str, t.AttributeResult] = {}

        def once(left: float | None) -> list[t.AttributeResult]:
            pending = [r for r in requests if r.idempotency_key not in results]
            if pending:
                try:
                    for response in self._memory.Attribute(
                        iter(pending), timeout=left, metadata=self._settings.metadata
                    ):
                        results[response.idempotency_key] = conv.attribute_result(response)
                except grpc.RpcError as error:
                    raise from_rpc_error(error) from None
            missing = [r.idempotency_key for r in requests if r.idempotency_key not in results]
            if missing:
                raise MemoridError(
                    f"memorid answered {len(requests) - len(missing)} of {len(requests)} turns",
                    code=grpc.StatusCode.INTERNAL,
                )
            return [results[r.idempotency_key] for r in requests]

        return self._retrying(self._timeout(timeout), once)

    def wait_for_augmentation(
        self, *, entity_id: str, turn_ids: Sequence[str] = (), timeout: float = 30.0
    ) -> t.AugmentationStatus:
        """Blocks until the entity's pending memory work (or only that of
        `turn_ids`) is done, or `timeout` seconds passed (the server caps it
        at 300); `completed` says which."""
        request = conv.wait_request(t.Attribution(entity_id), turn_ids, timeout)
        response = self._unary(self._memory.WaitForAugmentation, request, timeout + WAIT_MARGIN)
        return conv.augmentation_status(response)

    def list_facts(
        self,
        *,
        entity_id: str,
        page_size: int = 0,
        page_token: str = "",
        include_superseded: bool = False,
        timeout: float | None = _UNSET,
    ) -> t.FactPage:
        """One page of the entity's facts, newest first."""
        request = conv.list_facts_request(t.Attribution(entity_id), page_size, page_token, include_superseded)
        return conv.fact_page(self._unary(self._memory.ListFacts, request, self._timeout(timeout)))

    def iter_facts(
        self, *, entity_id: str, page_size: int = 0, include_superseded: bool = False, timeout: float | None = _UNSET
    ) -> Iterator[t.Fact]:
        """Every fact of the entity, newest first, page by page."""
        token = ""
        while True:
            page = self.list_facts(
                entity_id=entity_id,
                page_size=page_size,
                page_token=token,
                include_superseded=include_superseded,
                timeout=timeout,
            )
            yield from page.facts
            if not page.next_page_token:
                return
            token = page.next_page_token

    def delete_fact(self, fact_id: str, *, entity_id: str, timeout: float | None = _UNSET) -> None:
        """Deletes one fact; NotFoundError if the entity has no such fact."""
        self._unary(self._memory.DeleteFact, conv.delete_fact_request(t.Attribution(entity_id), fact_id), self._timeout(timeout))

    def forget_entity(self, *, entity_id: str, timeout: float | None = _UNSET) -> t.ForgetResult:
        """Deletes everything stored about the entity."""
        request = conv.forget_request(t.Attribution(entity_id))
        return conv.forget_result(self._unary(self._memory.ForgetEntity, request, self._timeout(timeout)))

    def get_session(self, session_id: str, *, entity_id: str, timeout: float | None = _UNSET) -> t.Session:
        """A session of the entity with its turns; NotFoundError if none."""
        request = conv.get_session_request(t.Attribution(entity_id), session_id)
        return conv.session(self._unary(self._memory.GetSession, request, self._timeout(timeout)))

    def health(self, *, timeout: float | None = 5.0) -> bool:
        """True when memorid reports SERVING (storage migrated, embedder loaded)."""
        try:
            payload = self._health(b"", timeout=timeout)
        except grpc.RpcError:
            return False
        return health_status(payload) == 1

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Blocks until `health()` is true; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.health(timeout=min(5.0, max(0.1, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"memorid at {self.target} was not SERVING within {timeout} s")
            time.sleep(0.1)

    # --- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _NoRetry(Exception):
    """Carries an error out of the retry loop without retrying it."""

    def __init__(self, error: MemoridError) -> None:
        super().__init__(str(error))
        self.error = error
