"""Each example, run against the real memorid and the fake upstreams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

import batched_recall
import concurrent_users
import drop_in_openai
import error_handling
import memorid
from fastapi_app import create_app
from tests.fixtures import free_port
from tests.upstream import FakeUpstream, Reject, Script


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn on a free port (so streaming is real)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_fastapi_streaming_endpoint_relays_each_delta_as_it_arrives(
    memorid_target: str, memorid_api_key: str, upstream: FakeUpstream, model_name: str
) -> None:
    gate = threading.Semaphore(0)
    upstream.script(model_name, Script(pieces=["Bonjour", " et", " bienvenue"], gate=gate))
    user = f"alice-{uuid.uuid4().hex[:6]}"
    app = create_app(target=memorid_target, api_key=memorid_api_key, tokens={"t-alice": user}, model=f"openai/{model_name}")
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as http:
        headers = {"authorization": "Bearer t-alice"}
        body = {"message": "I prefer answers in French."}
        with http.stream("POST", f"/chat/{user}/stream", json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            frames: list[tuple[str, dict[str, str]]] = []

            def next_frame() -> tuple[str, dict[str, str]]:
                name, data = "message", ""
                for line in lines:
                    if line.startswith("event: "):
                        name = line[len("event: "):]
                    elif line.startswith("data: "):
                        data = line[len("data: "):]
                    elif line == "" and data:
                        return name, json.loads(data)
                raise AssertionError("the stream ended early")

            frames.append(next_frame())
            assert frames[0][0] == "started"
            assert next_frame() == ("message", {"text": "Bonjour"})
            # The browser has the first delta while the upstream still holds
            # the rest: nothing is buffered on the way.
            assert upstream.finished_streams(model_name) == 0
            gate.release()
            assert next_frame() == ("message", {"text": " et"})
            gate.release()
            assert next_frame() == ("message", {"text": " bienvenue"})
            assert next_frame() == ("done", {"finish_reason": "stop"})

        # The JSON endpoint and the bearer-token dependency.
        upstream.script(model_name, Script(pieces=["Bonjour", " et bienvenue"]))
        answer = http.post(f"/chat/{user}", json={"message": "Bonjour !"}, headers=headers)
        assert answer.status_code == 200 and answer.json()["reply"] == "Bonjour et bienvenue"
        assert http.post(f"/chat/{user}", json=body).status_code == 401
        assert http.post(f"/chat/{user}", json=body, headers={"authorization": "Bearer nope"}).status_code == 401
        assert http.post("/chat/someone-else", json=body, headers=headers).status_code == 403


def test_fastapi_maps_a_rate_limited_upstream_to_429(
    memorid_target: str, memorid_api_key: str, upstream: FakeUpstream, model_name: str
) -> None:
    limited = Script(reject=Reject(429, {"error": {"message": "slow down", "type": "requests"}}, {"retry-after": "5"}))
    upstream.script(model_name, limited)
    app = create_app(target=memorid_target, api_key=memorid_api_key, tokens={"t": "bob"}, model=f"openai/{model_name}")
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as http:
        for path in ("/chat/bob", "/chat/bob/stream"):
            response = http.post(path, json={"message": "hi"}, headers={"authorization": "Bearer t"})
            assert response.status_code == 429
            assert response.headers["retry-after"] == "5"
            assert response.json()["reason"] == "UPSTREAM_RATE_LIMITED"


def test_hundred_concurrent_users(memorid_target: str, memorid_api_key: str, upstream: FakeUpstream, model_name: str) -> None:
    upstream.script(model_name, Script(pieces=["Hi", "!"], delay=0.005))
    prefix = f"crowd-{uuid.uuid4().hex[:6]}"
    results = asyncio.run(
        concurrent_users.main(memorid_target, memorid_api_key, f"openai/{model_name}", users=100, prefix=prefix)
    )
    assert len(results) == 100 and {r.text for r in results} == {"Hi!"}
    assert len({r.session_id for r in results}) == 100
    assert len(upstream.requests(model=model_name)) == 100


def test_batched_recall_over_many_entities(memorid_target: str, memorid_api_key: str) -> None:
    prefix = f"reader-{uuid.uuid4().hex[:6]}"
    digest = asyncio.run(batched_recall.main(memorid_target, memorid_api_key, prefix=prefix))
    assert len(digest) == 20
    assert digest[f"{prefix}-0"] == ["loves science fiction"]
    assert digest[f"{prefix}-1"] == ["loves poetry"]
    assert all(len(facts) == 1 for facts in digest.values())


def test_error_handling_waits_out_a_rate_limit(
    memorid_target: str, memorid_api_key: str, upstream: FakeUpstream, model_name: str
) -> None:
    limited = Script(reject=Reject(429, {"error": {"message": "slow down", "type": "requests"}}, {"retry-after": "1"}))
    # memorid tries the upstream twice (routing.max_attempts = 2 in the test
    # configuration) before it reports the rate limit.
    upstream.script(model_name, limited, limited, Script(pieces=["Done."]))
    started = time.monotonic()
    text = error_handling.main(memorid_target, memorid_api_key, f"openai/{model_name}", user=f"u-{model_name}")
    assert text == "Done."
    assert time.monotonic() - started >= 1.0
    assert len(upstream.requests(model=model_name)) == 3


def test_error_handling_reports_bad_fields(memorid_target: str, memorid_api_key: str) -> None:
    with memorid.Client(memorid_target, api_key=memorid_api_key) as client:
        assert error_handling.report_bad_input(client.attribution("someone")) == ["messages[1].role"]


def test_drop_in_openai_example(memorid_target: str, memorid_api_key: str, upstream: FakeUpstream) -> None:
    user = f"dropin-{uuid.uuid4().hex[:6]}"
    facts = asyncio.run(
        drop_in_openai.main(memorid_target, memorid_api_key, openai_base_url=upstream.base_url, user=user)
    )
    assert "prefers async Python and short answers" in facts
    with memorid.Client(memorid_target, api_key=memorid_api_key) as client:
        stored = client.list_facts(entity_id=user).facts
    assert {f.content for f in stored} == {"prefers async Python and short answers"}


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-example-key")
