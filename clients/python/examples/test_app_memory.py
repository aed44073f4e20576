"""How to test an app that uses memorid: a pytest-asyncio test of the
FastAPI example that waits for augmentation before asserting on memory.

Memory is written in the background after each turn, so a test that talks
to the app and then checks what was learned must first wait for that work:
`await client.attribution(user).augmentation.wait()`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

import memorid
from fastapi_app import create_app


@pytest.fixture
async def app_and_user(memorid_target: str, memorid_api_key: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    user = f"tester-{uuid.uuid4().hex[:8]}"
    app = create_app(target=memorid_target, api_key=memorid_api_key, tokens={"token-test": user})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            http.headers["authorization"] = "Bearer token-test"
            yield http, user


async def test_the_app_remembers_what_a_user_said(
    app_and_user: tuple[httpx.AsyncClient, str], memorid_target: str, memorid_api_key: str
) -> None:
    http, user = app_and_user
    answer = await http.post(f"/chat/{user}", json={"message": "I prefer green tea. I live in Porto."})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reply"]

    async with memorid.AsyncClient(memorid_target, api_key=memorid_api_key) as client:
        status = await client.attribution(user).augmentation.wait(timeout=30)
    assert status.completed and status.dead_jobs == 0

    remembered = await http.get(f"/memories/{user}", params={"q": "what tea do I like"})
    assert remembered.status_code == 200
    assert "prefers green tea" in remembered.json()
