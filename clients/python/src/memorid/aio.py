"""The asyncio client (`grpc.aio`): the sync client's methods, name for name,
as coroutines and async iterators.

One `AsyncClient` holds one channel shared by every task (safe with many
concurrent calls). The channel is opened on first use inside the running
event loop, so the client may be created anywhere (module level, a FastAPI
lifespan); used from a second event loop it opens a channel there too.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio

from . import _convert as conv
from . import types as t
from ._gen.memori.v1 import chat_service_pb2 as chat_pb
from ._gen.memori.v1 import chat_service_pb2_grpc as chat_grpc
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


class AsyncChatStream(AsyncIterator[t.ChatEvent]):
    """The events of one chat (`async for event in stream`); see
    `memorid.ChatStream`. Leaving an `async with` block, `cancel()`, or
    dropping the stream before its end cancels the call."""

    def __init__(self, open_call: Callable[[], Awaitable[Any]]) -> None:
        self._open_call = open_call
        self._call: Any = None
        self._acc = conv.ChatAccumulator()
        self._buffered: list[t.ChatEvent] = []
        self._finished = False

    async def _read(self) -> t.ChatEvent:
        if self._call is None:
            self._call = await self._open_call()
        while True:
            try:
                response = await self._call.read()
            except grpc.RpcError as error:
                self._finished = True
                raise from_rpc_error(error) from None
            if response is grpc.aio.EOF:
                self._finished = True
                if self._acc.completed is None:
                    raise MemoridError(
                        "the chat stream ended without a completed event", code=grpc.StatusCode.INTERNAL
                    )
                raise StopAsyncIteration
            assert isinstance(response, chat_pb.ChatResponse)
            event = conv.chat_event(response)
            if event is not None:
                self._acc.add(event)
                return event

    async def start(self) -> t.ChatStarted:
        """Waits for the `started` event and returns it; iteration still
        yields it first. Lets a web handler fail cleanly (say, with HTTP 429)
        before it starts streaming."""
        if self._acc.started is None:
            self._buffered.append(await self._read())
        assert self._acc.started is not None
        return self._acc.started

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> t.ChatEvent:
        if self._buffered:
            return self._buffered.pop(0)
        if self._finished:
            raise StopAsyncIteration
        return await self._read()

    async def text_deltas(self) -> AsyncIterator[str]:
        """Only the answer's text, piece by piece."""
        async for event in self:
            if isinstance(event, t.ChatDelta) and event.text:
                yield event.text

    async def collect(self) -> t.ChatResult:
        async for _ in self:
            pass
        return self._acc.result()

    @property
    def started(self) -> t.ChatStarted | None:
        return self._acc.started

    @property
    def completed(self) -> t.ChatCompleted | None:
        return self._acc.completed

    @property
    def text(self) -> str:
        return self._acc.text

    def cancel(self) -> None:
        if not self._finished:
            self._finished = True
            if self._call is not None:
                self._call.cancel()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
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


class AsyncAugmentation:
    def __init__(self, client: AsyncClient, who: t.Attribution) -> None:
        self._client = client
        self._who = who

    async def wait(self, turn_ids: Sequence[str] = (), *, timeout: float = 30.0) -> t.AugmentationStatus:
        return await self._client.wait_for_augmentation(
            entity_id=self._who.entity_id, turn_ids=turn_ids, timeout=timeout
        )


class AsyncAttributionScope:
    """`memorid.AttributionScope` for the asyncio client."""

    def __init__(self, client: AsyncClient, who: t.Attribution) -> None:
        self._client = client
        self.attribution = who

    def with_session(self, session_id: str) -> AsyncAttributionScope:
        who = self.attribution
        return AsyncAttributionScope(self._client, t.Attribution(who.entity_id, who.process_id, session_id))

    def new_session(self) -> AsyncAttributionScope:
        return self.with_session(str(uuid.uuid4()))

    @property
    def augmentation(self) -> AsyncAugmentation:
        return AsyncAugmentation(self._client, self.attribution)

    def chat(self, model: str, messages: Sequence[t.MessageLike], **options: Any) -> AsyncChatStream:
        who = self.attribution
        return self._client.chat(
            model, messages, entity_id=who.entity_id, process_id=who.process_id, session_id=who.session_id, **options
        )

    async def recall(self, query: str, *, limit: int = 0, **options: Any) -> list[t.RecallHit]:
        return await self._client.recall(query, entity_id=self.attribution.entity_id, limit=limit, **options)

    async def attribute(
        self,
        messages: Sequence[t.MessageLike],
        *,
        occurred_at: _dt.datetime | None = None,
        idempotency_key: str = "",
        metadata: Mapping[str, str] | None = None,
        model: str = "",
        timeout: float | None = _UNSET,
    ) -> t.AttributeResult:
        turn = t.AttributeTurn(
            attribution=self.attribution,
            messages=messages,
            occurred_at=occurred_at,
            idempotency_key=idempotency_key,
            metadata=dict(metadata or {}),
            model=model,
        )
        return (await self._client.attribute([turn], timeout=timeout))[0]

    async def list_facts(self, **options: Any) -> t.FactPage:
        return await self._client.list_facts(entity_id=self.attribution.entity_id, **options)

    def iter_facts(self, **options: Any) -> AsyncIterator[t.Fact]:
        return self._client.iter_facts(entity_id=self.attribution.entity_id, **options)

    async def delete_fact(self, fact_id: str, **options: Any) -> None:
        await self._client.delete_fact(fact_id, entity_id=self.attribution.entity_id, **options)

    async def forget_entity(self, **options: Any) -> t.ForgetResult:
        return await self._client.forget_entity(entity_id=self.attribution.entity_id, **options)

    forget = forget_entity

    async def wait_for_augmentation(
        self, turn_ids: Sequence[str] = (), *, timeout: float = 30.0
    ) -> t.AugmentationStatus:
        return await self.augmentation.wait(turn_ids, timeout=timeout)

    async def get_session(self, session_id: str = "", **options: Any) -> t.Session:
        sid = session_id or self.attribution.session_id
        if not sid:
            raise ValueError("get_session needs a session_id (this scope has none)")
        return await self._client.get_session(sid, entity_id=self.attribution.entity_id, **options)


class _Channel:
    """One aio channel and its stubs, bound to the loop it was opened in."""

    def __init__(self, s: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        if s.credentials is not None:
            self.channel = grpc.aio.secure_channel(s.target, s.credentials, options=list(s.options))
        else:
            self.channel = grpc.aio.insecure_channel(s.target, options=list(s.options))
        self.chat = chat_grpc.ChatServiceStub(self.channel)
        self.memory = memory_grpc.MemoryServiceStub(self.channel)
        self.health = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda request: request,
            response_deserializer=lambda payload: payload,
        )


class AsyncClient:
    """A connection to memorid for asyncio code; the same options as
    `memorid.Client`."""

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
        self._settings = settings(
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
        self._channels: dict[int, _Channel] = {}

    @property
    def target(self) -> str:
        return self._settings.target

    def _open(self) -> _Channel:
        loop = asyncio.get_running_loop()
        channel = self._channels.get(id(loop))
        if channel is None or channel.loop is not loop:
            # Channels of loops that have since closed are dropped.
            self._channels = {k: c for k, c in self._channels.items() if not c.loop.is_closed()}
            channel = _Channel(self._settings, loop)
            self._channels[id(loop)] = channel
        return channel

    def _timeout(self, value: float | None) -> float | None:
        return self._settings.timeout if value is _UNSET else value

    async def _retrying(self, timeout: float | None, attempt_fn: Callable[[float | None], Awaitable[_R]]) -> _R:
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await attempt_fn(left)
            except MemoridError as error:
                policy = self._settings.retry
                delay = policy.delay(attempt, error) if policy is not None else None
                if delay is None or (deadline is not None and time.monotonic() + delay >= deadline):
                    raise
                await asyncio.sleep(delay)  # a cancelled task stops here

    async def _unary(self, pick: Callable[[_Channel], Any], request: Any, timeout: float | None) -> Any:
        async def once(left: float | None) -> Any:
            try:
                return await pick(self._open())(request, timeout=left, metadata=self._settings.metadata)
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return await self._retrying(timeout, once)

    def attribution(self, entity_id: str, process_id: str = "", session_id: str = "") -> AsyncAttributionScope:
        if not entity_id:
            raise ValueError("entity_id is required")
        return AsyncAttributionScope(self, t.Attribution(entity_id, process_id, session_id))

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
    ) -> AsyncChatStream:
        """See `memorid.Client.chat`; iterate the result with `async for`."""
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

        async def open_call() -> Any:
            return self._open().chat.Chat(request, timeout=deadline, metadata=self._settings.metadata)

        return AsyncChatStream(open_call)

    async def recall(
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

        async def once(left: float | None) -> list[t.RecallHit]:
            hits: list[t.RecallHit] = []
            try:
                call = self._open().memory.Recall(request, timeout=left, metadata=self._settings.metadata)
                async for response in call:
                    hits.append(conv.recall_hit(response))
            except grpc.RpcError as error:
                typed = from_rpc_error(error)
                if hits:
                    raise _NoRetry(typed) from None
                raise typed from None
            return hits

        try:
            return await self._retrying(self._timeout(timeout), once)
        except _NoRetry as stop:
            raise stop.error from None

    async def attribute(
        self, turns: Iterable[t.AttributeTurn], *, timeout: float | None = _UNSET
    ) -> list[t.AttributeResult]:
        """See `memorid.Client.attribute`."""
        requests = [conv.attribute_request(turn) for turn in turns]
        results: dict[str, t.AttributeResult] = {}

        async def once(left: float | None) -> list[t.AttributeResult]:
            pending = [r for r in requests if r.idempotency_key not in results]
            if pending:
                try:
                    call = self._open().memory.Attribute(iter(pending), timeout=left, metadata=self._settings.metadata)
                    async for response in call:
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

        return await self._retrying(self._timeout(timeout), once)

    async def wait_for_augmentation(
        self, *, entity_id: str, turn_ids: Sequence[str] = (), timeout: float = 30.0
    ) -> t.AugmentationStatus:
        request = conv.wait_request(t.Attribution(entity_id), turn_ids, timeout)
        response = await self._unary(lambda c: c.memory.WaitForAugmentation, request, timeout + WAIT_MARGIN)
        return conv.augmentation_status(response)

    async def list_facts(
        self,
        *,
        entity_id: str,
        page_size: int = 0,
        page_token: str = "",
        include_superseded: bool = False,
        timeout: float | None = _UNSET,
    ) -> t.FactPage:
        request = conv.list_facts_request(t.Attribution(entity_id), page_size, page_token, include_superseded)
        return conv.fact_page(await self._unary(lambda c: c.memory.ListFacts, request, self._timeout(timeout)))

    async def iter_facts(
        self, *, entity_id: str, page_size: int = 0, include_superseded: bool = False, timeout: float | None = _UNSET
    ) -> AsyncIterator[t.Fact]:
        token = ""
        while True:
            page = await self.list_facts(
                entity_id=entity_id,
                page_size=page_size,
                page_token=token,
                include_superseded=include_superseded,
                timeout=timeout,
            )
            for fact in page.facts:
                yield fact
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def delete_fact(self, fact_id: str, *, entity_id: str, timeout: float | None = _UNSET) -> None:
        request = conv.delete_fact_request(t.Attribution(entity_id), fact_id)
        await self._unary(lambda c: c.memory.DeleteFact, request, self._timeout(timeout))

    async def forget_entity(self, *, entity_id: str, timeout: float | None = _UNSET) -> t.ForgetResult:
        request = conv.forget_request(t.Attribution(entity_id))
        return conv.forget_result(await self._unary(lambda c: c.memory.ForgetEntity, request, self._timeout(timeout)))

    async def get_session(self, session_id: str, *, entity_id: str, timeout: float | None = _UNSET) -> t.Session:
        request = conv.get_session_request(t.Attribution(entity_id), session_id)
        return conv.session(await self._unary(lambda c: c.memory.GetSession, request, self._timeout(timeout)))

    async def health(self, *, timeout: float | None = 5.0) -> bool:
        try:
            payload = await self._open().health(b"", timeout=timeout)
        except grpc.RpcError:
            return False
        return health_status(payload) == 1

    async def wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not await self.health(timeout=min(5.0, max(0.1, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"memorid at {self.target} was not SERVING within {timeout} s")
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        """Closes the channel of the running loop (and forgets the others)."""
        channels, self._channels = self._channels, {}
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for channel in channels.values():
            if channel.loop is loop:
                await channel.channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _NoRetry(Exception):
    def __init__(self, error: MemoridError) -> None:
        super().__init__(str(error))
        self.error = error
