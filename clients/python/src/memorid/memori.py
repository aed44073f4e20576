"""A drop-in for the Memori SDK: your own LLM client, memorid as the memory.

```python
from memorid import Memori            # instead of: from memori import Memori
mem = Memori(target="localhost:50051").llm.register(client)   # OpenAI / Anthropic, sync or async
mem.attribution(entity_id="user_123", process_id="my_agent")
response = client.chat.completions.create(model="gpt-4o-mini", messages=[...])   # unchanged
mem.augmentation.wait()
```

Around every `create` call of a registered client:
1. before: the entity's facts relevant to the last user message are
   recalled and injected the way memorid's own Chat does (a dated
   `<memories>` system block before the caller's messages);
2. the SDK call runs unchanged and its own return value is returned (the
   same types; a stream yields the same chunks);
3. after (for a stream: once it was read to its end): the turn — the
   request's new messages (those after its last assistant message) and the
   reply — is sent through memorid's `Attribute`, to be stored and
   augmented.

A memorid outage never breaks the LLM call: recall is skipped with a
warning, and turns wait in a bounded in-memory buffer that a background
thread re-sends (each turn under its own idempotency key, so a turn is
never stored twice); when the buffer is full the oldest turn is dropped
and the count of dropped turns is logged.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import inspect
import json
import logging
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import types as t
from ._options import RetryPolicy
from .aio import AsyncChatStream, AsyncClient
from .client import ChatStream, Client
from .errors import InvalidArgumentError, MemoridError

log = logging.getLogger("memorid")

_MEMORY_HEADER = (
    "Things you remember about the user from earlier conversations (use them when they "
    "help; do not mention this list):\n<memories>\n"
)


def memory_block(hits: Sequence[t.RecallHit]) -> str | None:
    """The system text memorid's Chat injects for these recalled facts."""
    facts = [h.fact for h in hits if h.fact is not None]
    if not facts:
        return None
    lines = [
        f"- [{f.last_seen_at.strftime('%Y-%m-%d') if f.last_seen_at else '????-??-??'}] {f.content}\n" for f in facts
    ]
    return _MEMORY_HEADER + "".join(lines) + "</memories>"


# --- the buffer of turns on their way to memorid ------------------------------


class _Outbox:
    """Turns waiting for `Attribute`, re-sent by one background thread until
    memorid took them; bounded, dropping the oldest when full."""

    def __init__(self, client: Client, capacity: int, timeout: float) -> None:
        self._client = client
        self._capacity = capacity
        self._timeout = timeout
        self._queue: deque[t.AttributeTurn] = deque()
        self._inflight = 0
        self._cond = threading.Condition()
        self._wake = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.stored: dict[str, list[str]] = {}
        """Turn ids memorid stored, by entity, not yet waited for."""
        self._failing = False

    def put(self, turn: t.AttributeTurn) -> None:
        with self._cond:
            if self._closed:
                log.error("memorid: Memori is closed; the turn is dropped")
                return
            if len(self._queue) >= self._capacity:
                self._queue.popleft()
                self.dropped += 1
                log.error(
                    "memorid: the buffer of %d unsent turns is full; dropped the oldest (%d turns dropped so far)",
                    self._capacity,
                    self.dropped,
                )
            self._queue.append(turn)
            self._wake = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="memorid-outbox", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._inflight

    def _send(self, batch: list[t.AttributeTurn]) -> list[t.AttributeResult]:
        try:
            return self._client.attribute(batch, timeout=self._timeout)
        except InvalidArgumentError:
            if len(batch) == 1:
                raise
        # One turn of the batch is bad: send them one by one, dropping only it
        # (the ones before it were stored; resending them is answered as
        # duplicates).
        results = []
        for turn in batch:
            try:
                results.extend(self._client.attribute([turn], timeout=self._timeout))
            except InvalidArgumentError as error:
                log.error("memorid refused a turn, which is dropped: %s", error)
        return results

    def _run(self) -> None:
        backoff = 0.2
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(64, len(self._queue)))]
                self._inflight = len(batch)
            try:
                results = self._send(batch)
            except InvalidArgumentError as error:
                log.error("memorid refused a turn, which is dropped: %s", error)
                results = []
            except Exception as error:
                if not isinstance(error, MemoridError):
                    log.exception("memorid: could not send %d turn(s), which are dropped", len(batch))
                    with self._cond:
                        self._inflight = 0
                        self.dropped += len(batch)
                        self._cond.notify_all()
                    continue
                with self._cond:
                    self._inflight = 0
                    for turn in reversed(batch):  # back at the front, in order
                        self._queue.appendleft(turn)
                    while len(self._queue) > self._capacity:
                        self._queue.popleft()
                        self.dropped += 1
                    if not self._failing:
                        log.warning("memorid: could not store %d turn(s), will retry: %s", len(self._queue), error)
                    self._failing = True
                    self._wake = False
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: self._wake or self._closed, timeout=backoff)
                    if self._closed:
                        return
                backoff = min(backoff * 2, 10.0)
                continue
            with self._cond:
                self._inflight = 0
                entities = {turn.idempotency_key: turn.attribution.entity_id for turn in batch}
                for result in results:
                    self.stored.setdefault(entities[result.idempotency_key], []).append(result.turn_id)
                if self._failing:
                    log.warning("memorid: reachable again; buffered turns sent")
                self._failing = False
                self._cond.notify_all()
            backoff = 0.2

    def flush(self, timeout: float) -> bool:
        """Re-sends at once and waits until nothing is pending (True) or
        `timeout` passed (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._wake = True
            self._cond.notify_all()
            while self._queue or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
                self._wake = True
                self._cond.notify_all()
            return True

    def take_stored(self) -> dict[str, list[str]]:
        with self._cond:
            stored, self.stored = self.stored, {}
            return stored

    def give_back(self, stored: Mapping[str, Sequence[str]]) -> None:
        with self._cond:
            for entity, ids in stored.items():
                self.stored.setdefault(entity, [])[:0] = list(ids)

    def close(self, timeout: float) -> None:
        if self._thread is not None:
            self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()


# --- what the wrappers need from a request and a reply -------------------------


def _plain(value: Any) -> Any:
    """SDK objects (pydantic models) as plain dicts."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    return value


def _last_user_text(messages: Sequence[Any]) -> str:
    for message in reversed(messages):
        message = _plain(message)
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [str(p.get("text", "")) for p in map(_plain, content) if isinstance(p, Mapping) and p.get("type") == "text"]
                if texts:
                    return "\n".join(texts)
    return ""


def _new_messages(messages: Sequence[Any]) -> list[Any]:
    """The request's messages after its last assistant message (what this
    turn adds to the conversation), system messages left out."""
    plain = [_plain(m) for m in messages]
    start = 0
    for i, message in enumerate(plain):
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            start = i + 1
    return [m for m in plain[start:] if isinstance(m, Mapping) and m.get("role") not in ("system", "developer")]


def _anthropic_messages(messages: Sequence[Any]) -> list[t.Message]:
    """Anthropic messages as memorid messages: tool_result blocks become tool
    messages, tool_use blocks tool calls."""
    result: list[t.Message] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, str):
            result.append(t.Message(role="assistant" if role == "assistant" else "user", content=content))
            continue
        texts: list[str] = []
        calls: list[t.ToolCall] = []
        for block in map(_plain, content or ()):
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "tool_use":
                calls.append(t.ToolCall(str(block.get("id", "")), str(block.get("name", "")), json.dumps(block.get("input", {}))))
            elif kind == "tool_result":
                inner = block.get("content", "")
                text = inner if isinstance(inner, str) else "".join(
                    str(p.get("text", "")) for p in map(_plain, inner or ()) if isinstance(p, Mapping)
                )
                result.append(t.Message(role="tool", content=text, tool_call_id=str(block.get("tool_use_id", ""))))
        if role == "assistant":
            result.append(t.Message(role="assistant", content="".join(texts), tool_calls=tuple(calls)))
        elif texts:
            result.append(t.Message(role="user", content="\n".join(texts)))
    return result


@dataclass
class _Reply:
    text: str
    tool_calls: tuple[t.ToolCall, ...]
    model: str


def _openai_reply(response: Any) -> _Reply:
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    calls = tuple(
        t.ToolCall(c.id, c.function.name, c.function.arguments)
        for c in (getattr(message, "tool_calls", None) or [])
        if getattr(c, "function", None) is not None
    )
    return _Reply(str(getattr(message, "content", None) or ""), calls, str(getattr(response, "model", "") or ""))


class _OpenAIStreamReply:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, list[str]] = {}
        self.model = ""

    def add(self, chunk: Any) -> None:
        self.model = self.model or str(getattr(chunk, "model", "") or "")
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) != 0:
                continue
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            if getattr(delta, "content", None):
                self.text.append(delta.content)
            for call in getattr(delta, "tool_calls", None) or []:
                parts = self.calls.setdefault(call.index, ["", "", ""])
                if call.id:
                    parts[0] = call.id
                function = getattr(call, "function", None)
                if function is not None:
                    if function.name:
                        parts[1] = function.name
                    if function.arguments:
                        parts[2] += function.arguments

    def reply(self) -> _Reply:
        calls = tuple(t.ToolCall(i, n, a) for _, (i, n, a) in sorted(self.calls.items()))
        return _Reply("".join(self.text), calls, self.model)


def _anthropic_reply(response: Any) -> _Reply:
    texts: list[str] = []
    calls: list[t.ToolCall] = []
    for block in getattr(response, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            texts.append(block.text)
        elif kind == "tool_use":
            calls.append(t.ToolCall(block.id, block.name, json.dumps(block.input)))
    return _Reply("".join(texts), tuple(calls), str(getattr(response, "model", "") or ""))


class _AnthropicStreamReply:
    def __init__(self) -> None:
        self.blocks: dict[int, list[str]] = {}
        self.model = ""

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "message_start":
            self.model = str(getattr(event.message, "model", "") or "")
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "text":
                self.blocks[event.index] = ["text", block.text or "", "", ""]
            elif block.type == "tool_use":
                self.blocks[event.index] = ["tool_use", "", block.id, block.name]
        elif kind == "content_block_delta":
            parts = self.blocks.get(event.index)
            delta = event.delta
            if parts is not None:
                if delta.type == "text_delta":
                    parts[1] += delta.text
                elif delta.type == "input_json_delta":
                    parts[1] += delta.partial_json

    def reply(self) -> _Reply:
        texts = [p[1] for _, p in sorted(self.blocks.items()) if p[0] == "text"]
        calls = tuple(
            t.ToolCall(p[2], p[3], p[1] or "{}") for _, p in sorted(self.blocks.items()) if p[0] == "tool_use"
        )
        return _Reply("".join(texts), calls, self.model)


# --- the Memori object ----------------------------------------------------------


class _Augmentation:
    def __init__(self, mem: Memori) -> None:
        self._mem = mem

    def wait(self, timeout: float = 30.0) -> t.AugmentationStatus:
        """Blocks until memorid finished the memory work of every turn this
        object attributed (sending buffered turns first), or `timeout`
        passed. Never raises for an outage: `.completed` is then False."""
        return self._mem._wait(timeout)

    async def wait_async(self, timeout: float = 30.0) -> t.AugmentationStatus:
        """`wait()` for async code, without blocking the event loop."""
        return await asyncio.to_thread(self._mem._wait, timeout)


class _LLM:
    def __init__(self, mem: Memori) -> None:
        self._mem = mem

    def register(self, client: Any) -> Memori:
        """Wraps an OpenAI (`OpenAI`, `AsyncOpenAI`, `AzureOpenAI`, ...) or
        Anthropic (`Anthropic`, `AsyncAnthropic`) client's `create` in place
        and returns this Memori."""
        self._mem._register(client)
        return self._mem


_scoped: contextvars.ContextVar[t.Attribution | None] = contextvars.ContextVar("memorid_attribution", default=None)


class Memori:
    """Memory for your own LLM calls (see the module's doc), and memorid's
    Chat for calls memorid should make itself (`chat`).

    `target`, `api_key` and the other keyword options are those of
    `memorid.Client`; or pass a `client=` to share one. Recall injects at
    most `recall_limit` facts scoring at least `recall_min_score` (the
    server's Chat defaults); recall waits `recall_timeout` seconds at most
    before the call goes on without memories. `buffer_size` bounds the turns
    kept while memorid is unreachable."""

    def __init__(
        self,
        target: str = "localhost:50051",
        *,
        api_key: str | None = None,
        client: Client | None = None,
        async_client: AsyncClient | None = None,
        recall_limit: int = 5,
        recall_min_score: float = 0.3,
        recall_timeout: float = 2.0,
        attribute_timeout: float = 10.0,
        buffer_size: int = 1000,
        **client_options: Any,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self._client_options = dict(client_options, api_key=api_key)
        self._target = target
        self._owns_client = client is None
        self._client = client or Client(target, **self._client_options)
        self._async_client = async_client
        self.recall_limit = recall_limit
        self.recall_min_score = recall_min_score
        self.recall_timeout = recall_timeout
        self._outbox = _Outbox(self._client, buffer_size, attribute_timeout)
        self._attribution: t.Attribution | None = None
        self._session_id = str(uuid.uuid4())
        self.llm = _LLM(self)
        self.augmentation = _Augmentation(self)
        atexit.register(_close_at_exit, weakref.ref(self))

    # --- attribution -------------------------------------------------------

    def attribution(self, entity_id: str | None = None, process_id: str | None = None) -> Memori:
        """Sets who the following calls are about (and which agent talks)."""
        if not entity_id:
            raise ValueError("entity_id is required")
        self._attribution = t.Attribution(entity_id, process_id or "", self._session_id)
        return self

    def new_session(self) -> str:
        """Starts a new session (conversation thread) and returns its id."""
        return self.set_session(str(uuid.uuid4()))

    def set_session(self, session_id: str) -> str:
        self._session_id = session_id
        if self._attribution is not None:
            a = self._attribution
            self._attribution = t.Attribution(a.entity_id, a.process_id, session_id)
        return session_id

    @property
    def session_id(self) -> str:
        """The session the next call is attributed to."""
        who = self._current()
        return who.session_id if who is not None else self._session_id

    @contextlib.contextmanager
    def scope(self, entity_id: str, process_id: str = "", session_id: str | None = None) -> Iterator[Memori]:
        """Within this block (and the tasks it starts), calls are attributed
        to `entity_id` instead: one registered client serving many users
        concurrently. A new session unless `session_id` is given."""
        token = _scoped.set(t.Attribution(entity_id, process_id, session_id or str(uuid.uuid4())))
        try:
            yield self
        finally:
            _scoped.reset(token)

    def _current(self) -> t.Attribution | None:
        return _scoped.get() or self._attribution

    def current_attribution(self) -> t.Attribution:
        who = self._current()
        if who is None:
            raise RuntimeError("call mem.attribution(entity_id=...) first")
        return who

    # --- Memori's own calls --------------------------------------------------

    def recall(self, query: str, limit: int = 5, **options: Any) -> list[t.RecallHit]:
        """The entity's facts best matching `query` (each with `.content`)."""
        return self._client.recall(query, entity_id=self.current_attribution().entity_id, limit=limit, **options)

    async def recall_async(self, query: str, limit: int = 5, **options: Any) -> list[t.RecallHit]:
        who = self.current_attribution()
        return await asyncio.to_thread(self._client.recall, query, entity_id=who.entity_id, limit=limit, **options)

    def chat(self, model: str, messages: Sequence[t.MessageLike], **options: Any) -> ChatStream:
        """Sends the chat through memorid's Chat (memorid calls the upstream
        `provider/model`, recalls, injects and stores); see `Client.chat`."""
        who = self.current_attribution()
        return self._client.chat(
            model, messages, entity_id=who.entity_id, process_id=who.process_id, session_id=who.session_id, **options
        )

    def chat_async(self, model: str, messages: Sequence[t.MessageLike], **options: Any) -> AsyncChatStream:
        if self._async_client is None:
            self._async_client = AsyncClient(self._target, **self._client_options)
        who = self.current_attribution()
        return self._async_client.chat(
            model, messages, entity_id=who.entity_id, process_id=who.process_id, session_id=who.session_id, **options
        )

    @property
    def client(self) -> Client:
        """The underlying `memorid.Client`."""
        return self._client

    @property
    def dropped_turns(self) -> int:
        """Turns dropped because the buffer was full while memorid was down."""
        return self._outbox.dropped

    @property
    def pending_turns(self) -> int:
        """Turns not yet stored by memorid."""
        return self._outbox.pending

    def flush(self, timeout: float = 10.0) -> bool:
        """Sends buffered turns now; True when none is left."""
        return self._outbox.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Sends what is buffered (for up to `timeout`) and closes."""
        self._outbox.close(timeout)
        if self._owns_client:
            self._client.close()

    def _wait(self, timeout: float) -> t.AugmentationStatus:
        deadline = time.monotonic() + timeout
        if not self._outbox.flush(timeout):
            log.warning("memorid: %d turn(s) could not be sent; not waiting for them", self._outbox.pending)
            return t.AugmentationStatus(completed=False, pending_jobs=self._outbox.pending, dead_jobs=0)
        stored = self._outbox.take_stored()
        pending = dead = 0
        completed = True
        for entity, turn_ids in stored.items():
            left = max(0.1, deadline - time.monotonic())
            try:
                status = self._client.wait_for_augmentation(entity_id=entity, turn_ids=turn_ids, timeout=left)
            except MemoridError as error:
                log.warning("memorid: could not wait for augmentation: %s", error)
                self._outbox.give_back({entity: turn_ids})
                return t.AugmentationStatus(completed=False, pending_jobs=len(turn_ids), dead_jobs=0)
            pending += status.pending_jobs
            dead += status.dead_jobs
            completed = completed and status.completed
            if not status.completed:
                self._outbox.give_back({entity: turn_ids})
        return t.AugmentationStatus(completed=completed, pending_jobs=pending, dead_jobs=dead)

    # --- the wrapping ----------------------------------------------------------

    def _memories(self, who: t.Attribution, query: str) -> str | None:
        if not query.strip():
            return None
        try:
            hits = self._client.recall(
                query,
                entity_id=who.entity_id,
                limit=self.recall_limit,
                min_score=self.recall_min_score,
                timeout=self.recall_timeout,
            )
        except MemoridError as error:
            log.warning("memorid: recall failed, calling the model without memories: %s", error)
            return None
        return memory_block(hits)

    def _attribute(self, who: t.Attribution, messages: list[t.MessageLike], reply: _Reply, provider: str) -> None:
        answer: list[t.MessageLike] = []
        if reply.text or reply.tool_calls:  # memorid refuses an empty assistant message
            answer.append(t.Message(role="assistant", content=reply.text, tool_calls=reply.tool_calls))
        if not messages and not answer:
            return
        turn = t.AttributeTurn(
            attribution=who,
            messages=[*messages, *answer],
            idempotency_key=f"memorid-py-{uuid.uuid4()}",
            model=f"{provider}/{reply.model}"[:128] if reply.model else "",
        )
        self._outbox.put(turn)

    def _register(self, client: Any) -> None:
        module = type(client).__module__.split(".", 1)[0]
        if module == "openai":
            resource = client.chat.completions
            provider = "openai"
        elif module == "anthropic":
            resource = client.messages
            provider = "anthropic"
        else:
            raise TypeError(f"register() wraps OpenAI and Anthropic SDK clients, not {type(client).__name__}")
        original = resource.create
        if getattr(original, "__memorid_original__", None) is not None:
            original = original.__memorid_original__  # registered again: rewrap the SDK's own method
        # The SDKs' async `create` is wrapped by a decorator that hides it
        # from iscoroutinefunction; their async clients derive from AsyncAPIClient.
        is_async = inspect.iscoroutinefunction(original) or any(
            cls.__name__ == "AsyncAPIClient" for cls in type(client).__mro__
        )
        wrapper = _async_wrapper(self, original, provider) if is_async else _sync_wrapper(self, original, provider)
        wrapper.__memorid_original__ = original
        wrapper.__doc__ = original.__doc__
        resource.create = wrapper


def _close_at_exit(ref: weakref.ref[Memori]) -> None:
    mem = ref()
    if mem is not None:
        with contextlib.suppress(Exception):
            mem.close(timeout=2.0)


def _prepare(mem: Memori, provider: str, kwargs: dict[str, Any]) -> tuple[t.Attribution | None, list[t.MessageLike]]:
    """The caller's new messages, before memories are injected."""
    who = mem._current()
    if who is None:
        log.warning("memorid: no attribution set (mem.attribution(entity_id=...)); the call is not remembered")
        return None, []
    messages = list(kwargs.get("messages") or [])
    new: list[t.MessageLike] = []
    if provider == "openai":
        new = list(_new_messages(messages))
    else:
        new = list(_anthropic_messages(_new_messages(messages)))
    return who, new


def _inject(provider: str, kwargs: dict[str, Any], block: str | None) -> dict[str, Any]:
    if block is None:
        return kwargs
    kwargs = dict(kwargs)
    if provider == "openai":
        kwargs["messages"] = [{"role": "system", "content": block}, *(kwargs.get("messages") or [])]
    else:
        system = kwargs.get("system")
        if system is None or isinstance(system, str) and not system:
            kwargs["system"] = block
        elif isinstance(system, str):
            kwargs["system"] = f"{block}\n\n{system}"
        else:
            kwargs["system"] = [{"type": "text", "text": block}, *system]
    return kwargs


def _reply_of(provider: str, response: Any) -> _Reply:
    return _openai_reply(response) if provider == "openai" else _anthropic_reply(response)


def _stream_collector(provider: str) -> _OpenAIStreamReply | _AnthropicStreamReply:
    return _OpenAIStreamReply() if provider == "openai" else _AnthropicStreamReply()


def _record(mem: Memori, who: t.Attribution, new: list[t.MessageLike], answer: Any, provider: str) -> None:
    """Queues the turn; `answer` is the SDK's response or a stream's collector.
    Never raises: the caller's answer matters more than its memory."""
    try:
        if isinstance(answer, (_OpenAIStreamReply, _AnthropicStreamReply)):
            reply = answer.reply()
        else:
            reply = _reply_of(provider, answer)
        mem._attribute(who, new, reply, provider)
    except Exception:
        log.exception("memorid: could not record the turn")


def _sync_wrapper(mem: Memori, original: Any, provider: str) -> Any:
    def create(*args: Any, **kwargs: Any) -> Any:
        who, new = _prepare(mem, provider, kwargs)
        if who is not None:
            kwargs = _inject(provider, kwargs, mem._memories(who, _last_user_text(kwargs.get("messages") or [])))
        response = original(*args, **kwargs)
        if who is None:
            return response
        if kwargs.get("stream"):
            collector = _stream_collector(provider)
            inner: Iterator[Any] = response._iterator

            def observed() -> Iterator[Any]:
                for item in inner:
                    collector.add(item)
                    yield item
                _record(mem, who, new, collector, provider)

            response._iterator = observed()
            return response
        _record(mem, who, new, response, provider)
        return response

    return create


def _async_wrapper(mem: Memori, original: Any, provider: str) -> Any:
    async def create(*args: Any, **kwargs: Any) -> Any:
        who, new = _prepare(mem, provider, kwargs)
        if who is not None:
            query = _last_user_text(kwargs.get("messages") or [])
            block = await asyncio.to_thread(mem._memories, who, query)
            kwargs = _inject(provider, kwargs, block)
        response = await original(*args, **kwargs)
        if who is None:
            return response
        if kwargs.get("stream"):
            collector = _stream_collector(provider)
            inner: AsyncIterator[Any] = response._iterator

            async def observed() -> AsyncIterator[Any]:
                async for item in inner:
                    collector.add(item)
                    yield item
                _record(mem, who, new, collector, provider)

            response._iterator = observed()
            return response
        _record(mem, who, new, response, provider)
        return response

    return create


__all__ = ["Memori", "RetryPolicy", "memory_block"]
