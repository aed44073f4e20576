"""Chat through memorid: deltas mirrored one by one, the final turn, sessions."""

from __future__ import annotations

import asyncio
import threading

import pytest

import memorid
from tests.fixtures import API_KEY, MemoridServer
from tests.upstream import FakeUpstream, Script

USER = {"role": "user", "content": "Tell me a story"}


def test_deltas_arrive_one_by_one_as_the_upstream_sends_them(
    client: memorid.Client, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    gate = threading.Semaphore(0)
    upstream.script(model_name, Script(pieces=["Once", " upon", " a time"], gate=gate, usage=(21, 3, 4)))
    scope = client.attribution(entity, process_id="storyteller")
    stream = scope.chat(f"openai/{model_name}", [USER])

    started = next(stream)
    assert isinstance(started, memorid.ChatStarted)
    assert started.model == f"openai/{model_name}"
    assert started.turn_id and started.session_id
    first = next(stream)
    # The upstream holds its second piece until the gate opens: the client
    # has the first delta while the rest of the answer does not exist yet.
    assert first == memorid.ChatDelta(text="Once")
    assert upstream.finished_streams(model_name) == 0
    gate.release()
    assert next(stream) == memorid.ChatDelta(text=" upon")
    gate.release()
    assert next(stream) == memorid.ChatDelta(text=" a time")
    completed = next(stream)
    assert isinstance(completed, memorid.ChatCompleted)
    assert completed.turn_id == started.turn_id
    assert completed.finish_reason == "stop"
    assert completed.usage == memorid.Usage(input_tokens=21, output_tokens=3, cached_input_tokens=4)
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.completed == completed
    assert stream.text == "Once upon a time"

    # What the upstream got: the user's message, the model name without its
    # provider, usage asked for in the stream.
    (sent,) = upstream.requests(model=model_name)
    assert sent.body["messages"][-1] == {"role": "user", "content": "Tell me a story"}
    assert sent.body["stream"] is True


async def test_async_deltas_arrive_one_by_one(
    aclient: memorid.AsyncClient, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    gate = threading.Semaphore(0)
    upstream.script(model_name, Script(pieces=["a", "b", "c"], gate=gate))
    stream = aclient.attribution(entity).chat(f"openai/{model_name}", [USER])
    seen: list[str] = []
    async for event in stream:
        if isinstance(event, memorid.ChatDelta):
            seen.append(event.text)
            assert upstream.finished_streams(model_name) == 0 or len(seen) == 3
            gate.release()
    assert seen == ["a", "b", "c"]
    assert stream.completed is not None and stream.completed.finish_reason == "stop"


def test_collect_returns_the_whole_turn_and_the_session_keeps_it(
    client: memorid.Client, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(
        model_name,
        Script(
            pieces=["Let me look."],
            tool_calls=[("call_1", "get_weather", ['{"city":', ' "Lisbon"}'])],
            finish_reason="tool_calls",
        ),
    )
    scope = client.attribution(entity, process_id="weather-bot")
    tool = memorid.Tool(
        name="get_weather",
        description="The weather in a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    result = scope.chat(
        f"openai/{model_name}",
        [{"role": "user", "content": "Weather in Lisbon?"}],
        tools=[tool],
        temperature=0.2,
        max_tokens=50,
        metadata={"ticket": "T-1"},
    ).collect()
    assert result.text == "Let me look."
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == (memorid.ToolCall(id="call_1", name="get_weather", arguments='{"city": "Lisbon"}'),)
    (sent,) = upstream.requests(model=model_name)
    assert sent.body["tools"][0]["function"]["name"] == "get_weather"
    assert sent.body["temperature"] == 0.2

    # The next turn continues the session; memorid prepends the history.
    upstream.script(model_name, Script(pieces=["Sunny."]))
    follow_up = scope.with_session(result.session_id).chat(
        f"openai/{model_name}",
        [{"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "clear"}'}],
    ).collect()
    assert follow_up.session_id == result.session_id
    history = upstream.requests(model=model_name)[-1].body["messages"]
    assert [m["role"] for m in history][-3:] == ["user", "assistant", "tool"]

    session = scope.get_session(result.session_id)
    assert session.entity_id == entity and session.process_id == "weather-bot"
    assert [turn.status for turn in session.turns] == ["completed", "completed"]
    first, second = session.turns
    assert first.metadata == {"ticket": "T-1"}
    assert [m.role for m in first.messages] == ["user", "assistant"]
    assert first.messages[1].tool_calls[0].name == "get_weather"
    assert second.messages[0] == memorid.Message(role="tool", content='{"sky": "clear"}', tool_call_id="call_1")
    assert second.usage is not None and second.usage.output_tokens == 3


async def test_hundred_concurrent_chats_share_one_async_client(
    aclient: memorid.AsyncClient, upstream: FakeUpstream, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["hi", " there"], delay=0.01))

    async def one(n: int) -> memorid.ChatResult:
        scope = aclient.attribution(f"crowd-{model_name}-{n}")
        return await scope.chat(f"openai/{model_name}", [{"role": "user", "content": f"I am user {n}"}]).collect()

    results = await asyncio.gather(*(one(n) for n in range(100)))
    assert [r.text for r in results] == ["hi there"] * 100
    assert len({r.turn_id for r in results}) == 100
    received = upstream.requests(model=model_name)
    assert sorted(r.body["messages"][-1]["content"] for r in received) == sorted(f"I am user {n}" for n in range(100))


def test_one_async_client_works_across_event_loops(server_target_and_key: tuple[str, str], entity: str) -> None:
    target, key = server_target_and_key
    client = memorid.AsyncClient(target, api_key=key)  # created outside any loop

    async def use() -> int:
        return len((await client.attribution(entity).list_facts()).facts)

    assert asyncio.run(use()) == 0
    assert asyncio.run(use()) == 0  # a second loop gets a channel of its own

    async def close() -> None:
        await client.close()

    asyncio.run(close())


@pytest.fixture
def server_target_and_key(server: MemoridServer) -> tuple[str, str]:
    return server.target, API_KEY
