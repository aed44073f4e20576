"""The Memori drop-in: the app keeps calling OpenAI itself (its key, its
SDK), memorid remembers. Only the import and the set-up line differ from a
Memori app.

    MEMORID_TARGET=localhost:50051 OPENAI_API_KEY=sk-... python drop_in_openai.py
"""

from __future__ import annotations

import asyncio
import os

from openai import AsyncOpenAI

from memorid import Memori  # instead of: from memori import Memori


async def main(
    target: str | None = None,
    api_key: str | None = None,
    openai_base_url: str | None = None,
    model: str = "gpt-4o-mini",
    user: str = "user_123",
) -> list[str]:
    client = AsyncOpenAI(base_url=openai_base_url) if openai_base_url else AsyncOpenAI()
    mem = Memori(
        target=target or os.environ.get("MEMORID_TARGET", "localhost:50051"),
        api_key=api_key or os.environ.get("MEMORID_API_KEY"),
    ).llm.register(client)
    mem.attribution(entity_id=user, process_id="async_agent")

    # Unchanged app code: memories are recalled and injected before the
    # call, and the turn is stored and augmented after it.
    response = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "I prefer async Python and short answers."}],
    )
    print(response.choices[0].message.content)

    # A streamed answer is remembered too, once read to its end.
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "How should I structure a web service?"}], stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()

    mem.augmentation.wait()  # as in Memori: synchronous
    facts = await asyncio.to_thread(mem.recall, "coding preferences", limit=5)
    print([fact.content for fact in facts])
    mem.close()
    return [fact.content for fact in facts]


if __name__ == "__main__":
    asyncio.run(main())
