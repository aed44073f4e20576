"""The Memori drop-in: `Memori(...).llm.register(client)` around the real
OpenAI and Anthropic SDKs, sync and async, streaming and not, against the
fake upstreams; what the upstream received and what memorid stored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import Message as AnthropicMessage
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import memorid
from tests.fixtures import API_KEY, MemoridServer, free_port, start_memorid
from tests.upstream import FakeUpstream, Recorded, Script


@pytest.fixture
def mem(server: MemoridServer) -> Iterator[memorid.Memori]:
    m = memorid.Memori(target=server.target, api_key=API_KEY)
    yield m
    m.close()


def _seed(mem: memorid.Memori, entity: str) -> None:
    """Something to remember before the call under test."""
    scope = mem.client.attribution(entity)
    scope.attribute([{"role": "user", "content": "I prefer async Python."}, {"role": "assistant", "content": "OK."}])
    assert scope.augmentation.wait(timeout=30).completed


def _sdk_client(provider: str, is_async: bool, upstream: FakeUpstream) -> Any:
    if provider == "openai":
        cls: Any = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(base_url=upstream.base_url, api_key="sk-app-own-key", max_retries=0)
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return cls(base_url=upstream.anthropic_url, api_key="sk-ant-app-own-key", max_retries=0)


def _call(provider: str, is_async: bool, stream: bool, sdk: Any, model: str, messages: list[dict[str, Any]]) -> str:
    """Calls the SDK exactly as app code would; checks the return types are
    the SDK's own; returns the answer's text."""
    if provider == "openai":
        create = sdk.chat.completions.create
        kwargs: dict[str, Any] = {"model": model, "messages": messages}
    else:
        create = sdk.messages.create
        kwargs = {"model": model, "max_tokens": 256, "messages": messages, "system": "You are terse."}

    async def run_async() -> str:
        if stream:
            response = await create(stream=True, **kwargs)
            assert type(response) is (openai.AsyncStream if provider == "openai" else anthropic.AsyncStream)
            items = [item async for item in response]
            return _stream_text(provider, items)
        response = await create(**kwargs)
        return _whole_text(provider, response)

    if is_async:
        return asyncio.run(run_async())
    if stream:
        response = create(stream=True, **kwargs)
        assert type(response) is (openai.Stream if provider == "openai" else anthropic.Stream)
        return _stream_text(provider, list(response))
    return _whole_text(provider, create(**kwargs))


def _whole_text(provider: str, response: Any) -> str:
    if provider == "openai":
        assert type(response) is ChatCompletion
        return str(response.choices[0].message.content)
    assert type(response) is AnthropicMessage
    return "".join(block.text for block in response.content if block.type == "text")


def _stream_text(provider: str, items: list[Any]) -> str:
    if provider == "openai":
        assert all(type(chunk) is ChatCompletionChunk for chunk in items)
        return "".join(c.choices[0].delta.content or "" for c in items if c.choices)
    kinds = [event.type for event in items]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    return "".join(e.delta.text for e in items if e.type == "content_block_delta")


def _system_text(provider: str, request: Recorded) -> str:
    if provider == "openai":
        first = request.body["messages"][0]
        assert first["role"] == "system"
        return str(first["content"])
    return str(request.body["system"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_register_recalls_injects_and_attributes(
    mem: memorid.Memori,
    upstream: FakeUpstream,
    entity: str,
    model_name: str,
    provider: str,
    is_async: bool,
    stream: bool,
) -> None:
    _seed(mem, entity)
    upstream.script(model_name, Script(pieces=["Sure", ", here", " it is."]))
    sdk = _sdk_client(provider, is_async, upstream)
    assert mem.llm.register(sdk) is mem
    mem.attribution(entity_id=entity, process_id="async_agent")

    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "I work at Acme. How should I write my Python service?"},
    ]
    text = _call(provider, is_async, stream, sdk, model_name, history)
    assert text == "Sure, here it is."

    # The upstream got the app's own call, memories injected before it.
    (received,) = upstream.requests(model=model_name)
    system = _system_text(provider, received)
    assert "<memories>" in system and "prefers async Python" in system
    if provider == "anthropic":
        assert system.endswith("You are terse.")
        # The app's own key (SDK versions send it as x-api-key or a bearer token).
        sent_key = received.headers.get("x-api-key") or received.headers.get("authorization", "").removeprefix("Bearer ")
        assert sent_key == "sk-ant-app-own-key"
    else:
        assert received.headers["authorization"] == "Bearer sk-app-own-key"
    assert received.body["messages"][-1]["content"] == history[-1]["content"]

    # memorid stored the turn once (its new message and the answer) and
    # augmented it.
    status = mem.augmentation.wait(timeout=30)
    assert status.completed and status.dead_jobs == 0
    session = mem.client.get_session(mem.session_id, entity_id=entity)
    assert session.process_id == "async_agent"
    (turn,) = session.turns
    assert [(m.role, m.content) for m in turn.messages] == [
        ("user", "I work at Acme. How should I write my Python service?"),
        ("assistant", "Sure, here it is."),
    ]
    assert turn.model == f"{provider}/{model_name}"
    facts = {h.content for h in mem.recall("where do I work", limit=5)}
    assert "works at Acme" in facts


def test_a_stream_not_read_to_its_end_is_not_attributed(
    mem: memorid.Memori, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    sdk = _sdk_client("openai", False, upstream)
    mem.llm.register(sdk)
    mem.attribution(entity_id=entity)
    response = sdk.chat.completions.create(model=model_name, messages=[{"role": "user", "content": "hi"}], stream=True)
    next(iter(response))
    response.close()
    assert mem.augmentation.wait(timeout=10).completed
    with pytest.raises(memorid.NotFoundError):
        mem.client.get_session(mem.session_id, entity_id=entity)


def test_tool_calls_round_trip_through_the_drop_in(
    mem: memorid.Memori, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(
        model_name,
        Script(pieces=[""], tool_calls=[("call_9", "lookup", ['{"q":', '"x"}'])], finish_reason="tool_calls"),
    )
    sdk = _sdk_client("openai", False, upstream)
    mem.llm.register(sdk).attribution(entity_id=entity)
    response = sdk.chat.completions.create(model=model_name, messages=[{"role": "user", "content": "look x up"}])
    assert response.choices[0].message.tool_calls[0].function.name == "lookup"
    upstream.script(model_name, Script(pieces=["Found it."]))
    follow_up = [
        {"role": "user", "content": "look x up"},
        response.choices[0].message,  # SDK objects in the history work too
        {"role": "tool", "tool_call_id": "call_9", "content": "x = 1"},
    ]
    sdk.chat.completions.create(model=model_name, messages=follow_up)
    assert mem.augmentation.wait(timeout=30).completed
    first, second = mem.client.get_session(mem.session_id, entity_id=entity).turns
    assert first.messages[-1].tool_calls == (memorid.ToolCall("call_9", "lookup", '{"q":"x"}'),)
    assert [(m.role, m.content, m.tool_call_id) for m in second.messages] == [
        ("tool", "x = 1", "call_9"),
        ("assistant", "Found it.", ""),
    ]


def test_new_session_and_memoris_own_calls(mem: memorid.Memori, upstream: FakeUpstream, entity: str, model_name: str) -> None:
    _seed(mem, entity)
    mem.attribution(entity_id=entity, process_id="agent")
    first_session = mem.session_id
    assert [h.content for h in mem.recall("python", limit=3)] == ["prefers async Python"]
    assert [h.content for h in asyncio.run(mem.recall_async("python", limit=3))] == ["prefers async Python"]
    # Through memorid's own Chat: memorid calls the upstream and injects.
    upstream.script(model_name, Script(pieces=["Use asyncio."]))
    result = mem.chat(f"openai/{model_name}", [{"role": "user", "content": "How do I write Python?"}]).collect()
    assert result.text == "Use asyncio." and result.session_id == first_session
    assert len(result.recalled_memory_ids) == 1
    assert mem.new_session() != first_session

    async def via_async() -> memorid.ChatResult:
        return await mem.chat_async(f"openai/{model_name}", [{"role": "user", "content": "More python?"}]).collect()

    second = asyncio.run(via_async())
    assert second.session_id == mem.session_id != first_session
    assert asyncio.run(mem.augmentation.wait_async()).completed


async def test_one_registered_client_serves_many_users_with_scopes(
    mem: memorid.Memori, upstream: FakeUpstream, model_name: str
) -> None:
    sdk = _sdk_client("openai", True, upstream)
    mem.llm.register(sdk)
    users = [f"scoped-{model_name}-{n}" for n in range(20)]

    async def ask(user: str) -> str:
        with mem.scope(entity_id=user, process_id="web"):
            await sdk.chat.completions.create(model=model_name, messages=[{"role": "user", "content": f"I am {user}."}])
            return mem.session_id

    sessions = await asyncio.gather(*(ask(u) for u in users))
    assert (await mem.augmentation.wait_async(timeout=30)).completed
    for user, session_id in zip(users, sessions):
        (turn,) = mem.client.get_session(session_id, entity_id=user).turns
        assert turn.messages[0].content == f"I am {user}."
        assert [h.content for h in mem.client.recall("who am I", entity_id=user)] == [f"is {user}"]


def test_a_memorid_outage_never_breaks_the_llm_call_and_turns_are_resent(
    upstream: FakeUpstream, entity: str, model_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    mem = memorid.Memori(target=f"127.0.0.1:{port}", api_key=API_KEY, recall_timeout=1.0)
    sdk = _sdk_client("openai", False, upstream)
    mem.llm.register(sdk).attribution(entity_id=entity)
    with caplog.at_level(logging.WARNING, logger="memorid"):
        for n in range(3):
            response = sdk.chat.completions.create(model=model_name, messages=[{"role": "user", "content": f"turn {n}"}])
            assert response.choices[0].message.content == "Hello, world"
        assert not mem.flush(timeout=0.5)
    assert any("recall failed" in r.getMessage() for r in caplog.records)
    assert mem.pending_turns == 3 and mem.dropped_turns == 0
    # No memories were injected: the call went out as the app wrote it.
    assert all(r.body["messages"][0]["role"] == "user" for r in upstream.requests(model=model_name))

    late = start_memorid(upstream, "sqlite", "sqlite", port=port)
    try:
        assert mem.flush(timeout=20), "buffered turns were not re-sent"
        assert mem.augmentation.wait(timeout=30).completed
        turns = mem.client.get_session(mem.session_id, entity_id=entity).turns
        assert [t.messages[0].content for t in turns] == ["turn 0", "turn 1", "turn 2"]
    finally:
        mem.close()
        late.stop()


def test_the_buffer_is_bounded_and_counts_what_it_drops(
    upstream: FakeUpstream, entity: str, model_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    mem = memorid.Memori(target=f"127.0.0.1:{free_port()}", buffer_size=2, recall_timeout=0.5)
    sdk = _sdk_client("anthropic", False, upstream)
    mem.llm.register(sdk).attribution(entity_id=entity)
    with caplog.at_level(logging.ERROR, logger="memorid"):
        for n in range(5):
            reply = sdk.messages.create(model=model_name, max_tokens=10, messages=[{"role": "user", "content": f"n{n}"}])
            assert reply.content[0].text == "Hello, world"
    assert mem.dropped_turns == 3 and mem.pending_turns == 2
    assert any("3 turns dropped so far" in r.getMessage() for r in caplog.records)
    status = mem.augmentation.wait(timeout=0.5)
    assert not status.completed
    mem.close(timeout=0.1)


def test_register_refuses_what_it_cannot_wrap(mem: memorid.Memori) -> None:
    with pytest.raises(TypeError, match="OpenAI and Anthropic"):
        mem.llm.register(object())


def test_a_refused_turn_in_the_buffer_is_dropped_and_the_others_are_stored(
    upstream: FakeUpstream, entity: str, model_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    mem = memorid.Memori(target=f"127.0.0.1:{port}", api_key=API_KEY, recall_timeout=0.5)
    sdk = _sdk_client("openai", False, upstream)
    mem.llm.register(sdk)
    for who, text in ((entity, "first"), ("x" * 200, "refused"), (entity, "third")):
        mem.attribution(entity_id=who)  # an entity id over 128 bytes: memorid refuses that turn
        sdk.chat.completions.create(model=model_name, messages=[{"role": "user", "content": text}])
    assert mem.pending_turns == 3
    late = start_memorid(upstream, "sqlite", "sqlite", port=port)
    try:
        with caplog.at_level(logging.ERROR, logger="memorid"):
            assert mem.flush(timeout=20)
        assert any("attribution.entity_id" in r.getMessage() for r in caplog.records)
        mem.attribution(entity_id=entity)
        assert mem.augmentation.wait(timeout=30).completed
        turns = mem.client.get_session(mem.session_id, entity_id=entity).turns
        assert [t.messages[0].content for t in turns] == ["first", "third"]
    finally:
        mem.close()
        late.stop()
