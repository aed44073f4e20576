"""Attribute, augmentation, recall and the fact/session management calls."""

from __future__ import annotations

import datetime as dt

import pytest

import memorid
from tests.fixtures import API_KEY, KEYS, MemoridServer
from tests.upstream import FakeUpstream


def _turn(text: str, reply: str = "Noted.") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]


def test_recall_after_wait_for_augmentation_returns_the_extracted_facts(
    client: memorid.Client, upstream: FakeUpstream, entity: str
) -> None:
    scope = client.attribution(entity, process_id="coding-agent")
    stored = scope.attribute(_turn("I prefer async Python. I live in Lisbon."), model="openai/gpt-4o-mini")
    assert not stored.duplicate
    status = scope.augmentation.wait(timeout=30)
    assert status == memorid.AugmentationStatus(completed=True, pending_jobs=0, dead_jobs=0)

    hits = scope.recall("what are my python preferences", limit=5, include_score_parts=True)
    assert hits, "recall found nothing after augmentation"
    best = hits[0]
    assert best.kind == "fact" and best.content == "prefers async Python"
    assert best.fact is not None and best.fact.category == "preference"
    assert best.fact.source_turn_ids == (stored.turn_id,)
    assert best.score_parts is not None and best.score_parts.dense > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {h.content for h in hits} <= {"prefers async Python", "lives in Lisbon"}

    # The extraction model got memorid's schema'd request for this turn.
    extraction = [r for r in upstream.requests(extraction=True) if "I prefer async Python" in str(r.body)]
    assert extraction and extraction[0].body["response_format"]["json_schema"]["strict"] is True

    # Past messages are recalled too when asked for.
    messages = scope.recall("Lisbon", kinds=("message",), limit=3)
    assert messages and messages[0].kind == "message"
    assert messages[0].message is not None and messages[0].message.turn_id == stored.turn_id


async def test_async_recall_and_wait(aclient: memorid.AsyncClient, entity: str) -> None:
    scope = aclient.attribution(entity)
    stored = await scope.attribute(_turn("I love hiking in the Alps."))
    status = await scope.wait_for_augmentation([stored.turn_id], timeout=30)
    assert status.completed
    hits = await scope.recall("hiking", limit=3)
    assert [h.content for h in hits] == ["loves hiking in the Alps"]
    facts = [f async for f in scope.iter_facts()]
    assert [f.content for f in facts] == ["loves hiking in the Alps"]
    await scope.delete_fact(facts[0].id)
    assert (await scope.list_facts()).facts == ()
    session = await scope.get_session(stored.session_id)
    assert [t.turn_id for t in session.turns] == [stored.turn_id]
    forgotten = await scope.forget_entity()
    assert forgotten.turns_deleted == 1 and forgotten.facts_deleted == 0


def test_attribute_is_idempotent_by_key(client: memorid.Client, entity: str) -> None:
    scope = client.attribution(entity, session_id=f"s-{entity}")
    first = scope.attribute(_turn("I use vim."), idempotency_key="turn-42")
    again = scope.attribute(_turn("I use vim."), idempotency_key="turn-42")
    assert again.duplicate and not first.duplicate
    assert again.turn_id == first.turn_id and again.session_id == first.session_id == f"s-{entity}"
    session = scope.get_session()
    assert [t.turn_id for t in session.turns] == [first.turn_id]


def test_attribute_many_turns_in_one_stream_in_order(client: memorid.Client, entity: str) -> None:
    who = memorid.Attribution(entity, "importer", f"s-{entity}")
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    turns = [
        memorid.AttributeTurn(who, _turn(f"message {n}"), occurred_at=when + dt.timedelta(minutes=n), metadata={"n": str(n)})
        for n in range(5)
    ]
    results = client.attribute(turns)
    assert len(results) == 5 and len({r.turn_id for r in results}) == 5
    assert all(r.idempotency_key.startswith("memorid-py-") for r in results)
    session = client.get_session(f"s-{entity}", entity_id=entity)
    assert [t.metadata["n"] for t in session.turns] == ["0", "1", "2", "3", "4"]
    assert session.turns[0].occurred_at == when
    assert session.process_id == "importer"


def test_list_delete_and_forget(client: memorid.Client, entity: str) -> None:
    scope = client.attribution(entity)
    scope.attribute(_turn("I like tea. I speak Portuguese. I have two cats."))
    assert scope.augmentation.wait(timeout=30).completed
    page = scope.list_facts(page_size=2)
    assert len(page.facts) == 2 and page.next_page_token
    every = list(scope.iter_facts(page_size=2))
    assert sorted(f.content for f in every) == ["has two cats", "likes tea", "speaks Portuguese"]
    assert all(f.mention_count == 1 and f.first_seen_at is not None for f in every)

    tea = next(f for f in every if f.content == "likes tea")
    scope.delete_fact(tea.id)
    assert "likes tea" not in [f.content for f in scope.iter_facts()]
    with pytest.raises(memorid.NotFoundError) as deleted:
        scope.delete_fact(tea.id)
    assert deleted.value.reason == "NOT_FOUND"

    forgotten = scope.forget()
    assert forgotten.facts_deleted == 2 and forgotten.turns_deleted == 1 and forgotten.sessions_deleted == 1
    assert scope.list_facts().facts == ()
    assert scope.recall("cats") == []


def test_a_restated_fact_is_mentioned_again_not_duplicated(client: memorid.Client, entity: str) -> None:
    scope = client.attribution(entity)
    scope.attribute(_turn("I drink espresso."))
    assert scope.augmentation.wait(timeout=30).completed
    scope.attribute(_turn("I drink espresso."))
    assert scope.augmentation.wait(timeout=30).completed
    (fact,) = scope.list_facts().facts
    assert fact.content == "drinks espresso" and fact.mention_count == 2
    assert len(fact.source_turn_ids) == 2


def test_namespaces_are_isolated_by_api_key(server: MemoridServer, client: memorid.Client, entity: str) -> None:
    client.attribution(entity).attribute(_turn("I am a pilot."))
    assert client.attribution(entity).augmentation.wait(timeout=30).completed
    with memorid.Client(server.target, api_key=KEYS["globex"]) as other:
        assert other.attribution(entity).recall("pilot") == []
        assert other.attribution(entity).list_facts().facts == ()
    assert [h.content for h in client.attribution(entity).recall("pilot")] == ["is a pilot"]


def test_a_process_narrows_recalled_messages_while_facts_stay_the_entitys(client: memorid.Client, entity: str) -> None:
    client.attribution(entity, process_id="a").attribute(_turn("I like jazz."))
    client.attribution(entity, process_id="b").attribute(_turn("I like opera."))
    assert client.attribution(entity).augmentation.wait(timeout=30).completed
    facts = client.recall("like music jazz opera", entity_id=entity, process_id="a", limit=5)
    assert {h.content for h in facts} == {"likes jazz", "likes opera"}
    kinds = ("message",)
    everything = client.recall("like jazz opera", entity_id=entity, kinds=kinds, limit=10)
    assert {h.content for h in everything} >= {"I like jazz.", "I like opera."}
    only_a = client.recall("like jazz opera", entity_id=entity, process_id="a", kinds=kinds, limit=10)
    assert "I like jazz." in {h.content for h in only_a}
    assert "I like opera." not in {h.content for h in only_a}


def test_a_recall_can_rank_its_own_way(client: memorid.Client, entity: str) -> None:
    scope = client.attribution(entity)
    scope.attribute(_turn("I sail on weekends."))
    scope.attribute(_turn("My bike needs new brakes."))
    assert scope.augmentation.wait(timeout=30).completed
    kinds = ("message",)
    def lexical_only(neighbour_weight: float = 0.0) -> memorid.Ranking:
        return memorid.Ranking(
            dense_weight=0.0,
            lexical_weight=1.0,
            recency_weight=0.0,
            mentions_weight=0.0,
            context_weight=0.0,
            neighbour_weight=neighbour_weight,
        )

    lexical = lexical_only()
    hits = scope.recall("brakes", kinds=kinds, limit=5, ranking=lexical, include_score_parts=True)
    # Lexical only: the score is the lexical part, and only the message
    # holding the word scores above zero.
    assert hits[0].content == "My bike needs new brakes."
    assert all(h.score_parts is not None and abs(h.score - h.score_parts.lexical) < 1e-9 for h in hits)
    assert [h.score > 0 for h in hits].count(True) == 1
    scaled = scope.recall("brakes", kinds=kinds, limit=5, ranking=memorid.Ranking(fusion="min_max"))
    assert scaled and scaled[0].content == "My bike needs new brakes."
    with pytest.raises(memorid.InvalidArgumentError) as refused:
        scope.recall("brakes", ranking=memorid.Ranking(dense_weight=-1.0))
    assert "ranking.dense_weight" in str(refused.value)
    with pytest.raises(memorid.InvalidArgumentError) as refused:
        scope.recall("brakes", ranking=memorid.Ranking(neighbour_weight=-1.0))
    assert "ranking.neighbour_weight" in str(refused.value)
    with pytest.raises(memorid.InvalidArgumentError) as refused:
        scope.recall("brakes", ranking=memorid.Ranking(context_weight=1.5))
    assert "ranking.context_weight" in str(refused.value)
    # The neighbours' share: with lexical only, the reply next to the
    # message holding the word scores a quarter of it, the rest nothing.
    shared = scope.recall("brakes", kinds=kinds, limit=5, ranking=lexical_only(neighbour_weight=0.25))
    brakes = next(h.score for h in shared if h.content == "My bike needs new brakes.")
    replies = [h.score for h in shared if h.content == "Noted."]
    assert replies and abs(max(replies) - 0.25 * brakes) < 1e-9, shared
    assert all(h.score == 0 for h in shared if h.content == "I sail on weekends."), shared
    with pytest.raises(ValueError, match="fusion"):
        scope.recall("brakes", ranking=memorid.Ranking(fusion="best"))  # type: ignore[arg-type]


def test_health_and_api_key_header(server: MemoridServer) -> None:
    with memorid.Client(server.target, api_key=API_KEY) as c:
        assert c.health()
        c.wait_until_ready(timeout=5)
