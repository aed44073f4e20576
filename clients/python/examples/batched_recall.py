"""Recall over many entities at once, with bounded concurrency: e.g. to build
a daily digest per user, or to pre-warm prompts for a batch job.

    MEMORID_TARGET=localhost:50051 python batched_recall.py
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

import memorid


async def recall_many(
    client: memorid.AsyncClient,
    entity_ids: Iterable[str],
    query: str,
    *,
    limit: int = 5,
    concurrency: int = 16,
) -> dict[str, list[memorid.RecallHit]]:
    """Each entity's best memories for `query`; at most `concurrency` calls in
    flight. An entity whose recall fails maps to an empty list (logged)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(entity_id: str) -> tuple[str, list[memorid.RecallHit]]:
        async with gate:
            try:
                return entity_id, await client.recall(query, entity_id=entity_id, limit=limit)
            except memorid.MemoridError as error:
                print(f"recall for {entity_id} failed: {error}")
                return entity_id, []

    return dict(await asyncio.gather(*(one(e) for e in entity_ids)))


async def main(target: str | None = None, api_key: str | None = None, prefix: str = "reader") -> dict[str, list[str]]:
    target = target or os.environ.get("MEMORID_TARGET", "localhost:50051")
    api_key = api_key or os.environ.get("MEMORID_API_KEY")
    likes = ["science fiction", "poetry", "history books", "crime novels", "graphic novels"] * 4
    users = [f"{prefix}-{n}" for n in range(len(likes))]
    async with memorid.AsyncClient(target, api_key=api_key) as client:
        # Something to recall: one attributed turn per user (in one stream).
        turns = [
            memorid.AttributeTurn(
                memorid.Attribution(user, "batch-example"),
                [{"role": "user", "content": f"I love {like}."}, {"role": "assistant", "content": "Noted!"}],
            )
            for user, like in zip(users, likes)
        ]
        await client.attribute(turns)
        await asyncio.gather(*(client.wait_for_augmentation(entity_id=u) for u in users))
        found = await recall_many(client, users, "what books do they love", limit=3)
    digest = {user: [hit.content for hit in hits] for user, hits in found.items()}
    for user, facts in list(digest.items())[:3]:
        print(user, facts)
    return digest


if __name__ == "__main__":
    asyncio.run(main())
