"""100 users chatting at once through one AsyncClient (one channel, shared
by every task), each with their own memory.

    MEMORID_TARGET=localhost:50051 MEMORID_MODEL=openai/gpt-4o-mini python concurrent_users.py
"""

from __future__ import annotations

import asyncio
import os
import time

import memorid


async def chat_as(client: memorid.AsyncClient, user: str, model: str) -> memorid.ChatResult:
    mem = client.attribution(entity_id=user, process_id="concurrent-example")
    return await mem.chat(model, [{"role": "user", "content": f"Hi, I am {user}. I like chess."}]).collect()


async def main(
    target: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
    users: int = 100,
    prefix: str = "user",
) -> list[memorid.ChatResult]:
    target = target or os.environ.get("MEMORID_TARGET", "localhost:50051")
    api_key = api_key or os.environ.get("MEMORID_API_KEY")
    model = model or os.environ.get("MEMORID_MODEL", "openai/gpt-4o-mini")
    async with memorid.AsyncClient(target, api_key=api_key) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(chat_as(client, f"{prefix}-{n}", model) for n in range(users)))
        elapsed = time.perf_counter() - started
    print(f"{users} concurrent chats in {elapsed:.2f} s; first answer: {results[0].text!r}")
    return list(results)


if __name__ == "__main__":
    asyncio.run(main())
