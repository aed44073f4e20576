package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Attribute, augmentation, recall and the fact and session calls, against the real memorid. */
@ExtendWith(MemoridExtension.class)
class MemoryTest {

  private static List<Message> turn(String said) {
    return List.of(Message.user(said), Message.assistant("Noted."));
  }

  @Test
  void recallAfterWaitForAugmentationReturnsTheExtractedFacts(MemoridClient client, FakeUpstream upstream) {
    AttributionScope scope = client.attribution(entity(), "coding-agent");
    AttributeResult stored =
        scope.attribute(
            turn("I prefer async Python. I live in Lisbon."),
            AttributeOptions.builder().model("openai/gpt-4o-mini").build());
    assertFalse(stored.duplicate());

    AugmentationStatus status = scope.waitForAugmentation(Duration.ofSeconds(30));
    assertEquals(new AugmentationStatus(true, 0, 0), status);

    List<RecallHit> hits =
        scope.recall(
            "what are my python preferences",
            RecallOptions.builder().limit(5).includeScoreParts(true).build());
    assertFalse(hits.isEmpty(), "recall found nothing after augmentation");
    RecallHit best = hits.get(0);
    assertEquals(MemoryKind.FACT, best.kind());
    assertEquals("prefers async Python", best.content());
    Fact fact = best.fact().orElseThrow();
    assertEquals(FactCategory.PREFERENCE, fact.category());
    assertEquals(List.of(stored.turnId()), fact.sourceTurnIds());
    assertTrue(fact.isCurrent());
    assertTrue(best.scoreParts().orElseThrow().dense() > 0);
    for (int i = 1; i < hits.size(); i++) {
      assertTrue(hits.get(i - 1).score() >= hits.get(i).score(), "hits come best first");
    }
    assertTrue(Set.of("prefers async Python", "lives in Lisbon")
        .containsAll(hits.stream().map(RecallHit::content).collect(Collectors.toSet())));

    // The extraction model got memorid's schema'd request for this turn.
    assertTrue(upstream.extractionRequests().stream()
        .anyMatch(r -> r.body().toString().contains("I prefer async Python")));

    // Past messages are recalled too when asked for.
    List<RecallHit> messages =
        scope.recall("Lisbon", RecallOptions.builder().kinds(MemoryKind.MESSAGE).limit(3).build());
    assertFalse(messages.isEmpty());
    assertEquals(MemoryKind.MESSAGE, messages.get(0).kind());
    assertEquals(stored.turnId(), messages.get(0).message().orElseThrow().turnId());
    assertEquals(stored.turnId(), messages.get(0).id());
  }

  @Test
  void asyncCallsChainWithoutBlocking(MemoridClient client) throws Exception {
    AttributionScope scope = client.attribution(entity());
    List<String> facts =
        scope
            .attributeAsync(turn("I love hiking in the Alps."), AttributeOptions.defaults())
            .thenCompose(stored -> scope.waitForAugmentationAsync(Duration.ofSeconds(30), List.of(stored.turnId())))
            .thenCompose(status -> scope.recallAsync("hiking", RecallOptions.builder().limit(3).build()))
            .thenApply(hits -> hits.stream().map(RecallHit::content).collect(Collectors.toList()))
            .get(60, TimeUnit.SECONDS);
    assertEquals(List.of("loves hiking in the Alps"), facts);
    FactPage page = scope.listFactsAsync(0, "", false).get(10, TimeUnit.SECONDS);
    scope.deleteFactAsync(page.facts().get(0).id()).get(10, TimeUnit.SECONDS);
    assertEquals(List.of(), scope.listFacts().facts());
    ForgetResult forgotten = scope.forgetEntityAsync().get(10, TimeUnit.SECONDS);
    assertEquals(1, forgotten.turnsDeleted());
    assertEquals(0, forgotten.factsDeleted());
  }

  @Test
  void attributeIsIdempotentByKey(MemoridClient client) {
    String entity = entity();
    AttributionScope scope = client.attribution(Attribution.of(entity).withSession("s-" + entity));
    AttributeOptions key = AttributeOptions.builder().idempotencyKey("turn-42").build();
    AttributeResult first = scope.attribute(turn("I use vim."), key);
    AttributeResult again = scope.attribute(turn("I use vim."), key);
    assertFalse(first.duplicate());
    assertTrue(again.duplicate());
    assertEquals(first.turnId(), again.turnId());
    assertEquals("s-" + entity, first.sessionId());
    assertEquals(first.sessionId(), again.sessionId());
    assertEquals(List.of(first.turnId()),
        scope.getSession().turns().stream().map(StoredTurn::turnId).collect(Collectors.toList()));
  }

  @Test
  void manyTurnsInOneStreamAreStoredInOrder(MemoridClient client) {
    String entity = entity();
    Attribution who = new Attribution(entity, "importer", "s-" + entity);
    Instant when = Instant.parse("2026-01-02T03:04:05Z");
    List<AttributeTurn> turns = new ArrayList<>();
    for (int n = 0; n < 5; n++) {
      turns.add(new AttributeTurn(who, turn("message " + n),
          AttributeOptions.builder().occurredAt(when.plusSeconds(60L * n)).metadata(Map.of("n", "" + n)).build()));
    }
    List<AttributeResult> results = client.attribute(turns);
    assertEquals(5, results.size());
    assertEquals(5, results.stream().map(AttributeResult::turnId).distinct().count());
    assertTrue(results.stream().allMatch(r -> r.idempotencyKey().startsWith("memorid-java-")));

    Session session = client.attribution(who).getSession();
    assertEquals(List.of("0", "1", "2", "3", "4"),
        session.turns().stream().map(t -> t.metadata().get("n")).collect(Collectors.toList()));
    assertEquals(when, session.turns().get(0).occurredAt());
    assertEquals("importer", session.processId());
  }

  @Test
  void listPagesDeleteAndForget(MemoridClient client) {
    AttributionScope scope = client.attribution(entity());
    scope.attribute(turn("I like tea. I speak Portuguese. I have two cats."));
    assertTrue(scope.waitForAugmentation().completed());

    FactPage page = scope.listFacts(2, "", false);
    assertEquals(2, page.facts().size());
    assertTrue(page.hasNextPage());
    List<Fact> every = scope.facts(2, false).collect(Collectors.toList());
    assertEquals(List.of("has two cats", "likes tea", "speaks Portuguese"),
        every.stream().map(Fact::content).sorted().collect(Collectors.toList()));
    assertTrue(every.stream().allMatch(f -> f.mentionCount() == 1 && f.firstSeenAt() != null));

    Fact tea = every.stream().filter(f -> f.content().equals("likes tea")).findFirst().orElseThrow();
    scope.deleteFact(tea.id());
    assertFalse(scope.facts().map(Fact::content).collect(Collectors.toList()).contains("likes tea"));
    NotFoundException deleted = assertThrows(NotFoundException.class, () -> scope.deleteFact(tea.id()));
    assertEquals("NOT_FOUND", deleted.reason());

    ForgetResult forgotten = scope.forgetEntity();
    assertEquals(2, forgotten.factsDeleted());
    assertEquals(1, forgotten.turnsDeleted());
    assertEquals(1, forgotten.sessionsDeleted());
    assertEquals(List.of(), scope.listFacts().facts());
    assertEquals(List.of(), scope.recall("cats"));
  }

  @Test
  void aRestatedFactIsMentionedAgainNotDuplicated(MemoridClient client) {
    AttributionScope scope = client.attribution(entity());
    scope.attribute(turn("I drink espresso."));
    assertTrue(scope.waitForAugmentation().completed());
    scope.attribute(turn("I drink espresso."));
    assertTrue(scope.waitForAugmentation().completed());
    List<Fact> facts = scope.listFacts().facts();
    assertEquals(1, facts.size());
    assertEquals("drinks espresso", facts.get(0).content());
    assertEquals(2, facts.get(0).mentionCount());
    assertEquals(2, facts.get(0).sourceTurnIds().size());
  }

  @Test
  void namespacesAreIsolatedByApiKey(MemoridClient client, MemoridServer server) {
    String entity = entity();
    client.attribution(entity).attribute(turn("I am a pilot."));
    assertTrue(client.attribution(entity).waitForAugmentation().completed());
    try (MemoridClient other = MemoridClient.builder(server.target()).apiKey(MemoridServer.KEYS.get("globex")).build()) {
      assertEquals(List.of(), other.attribution(entity).recall("pilot"));
      assertEquals(List.of(), other.attribution(entity).listFacts().facts());
    }
    assertEquals(List.of("is a pilot"),
        client.attribution(entity).recall("pilot").stream().map(RecallHit::content).collect(Collectors.toList()));
  }

  @Test
  void aProcessNarrowsRecalledMessagesWhileFactsStayTheEntitys(MemoridClient client) {
    String entity = entity();
    client.attribution(entity, "a").attribute(turn("I like jazz."));
    client.attribution(entity, "b").attribute(turn("I like opera."));
    assertTrue(client.attribution(entity).waitForAugmentation().completed());

    // The scope's process does not narrow facts: they belong to the entity.
    Set<String> facts = client.attribution(entity, "a").recall("like music jazz opera", 5).stream()
        .map(RecallHit::content).collect(Collectors.toSet());
    assertEquals(Set.of("likes jazz", "likes opera"), facts);

    RecallOptions.Builder messages = RecallOptions.builder().kinds(MemoryKind.MESSAGE).limit(10);
    Set<String> everything = client.attribution(entity).recall("like jazz opera", messages.build()).stream()
        .map(RecallHit::content).collect(Collectors.toSet());
    assertTrue(everything.containsAll(Set.of("I like jazz.", "I like opera.")));
    Set<String> onlyA = client.attribution(entity).recall("like jazz opera", messages.processId("a").build()).stream()
        .map(RecallHit::content).collect(Collectors.toSet());
    assertTrue(onlyA.contains("I like jazz."));
    assertFalse(onlyA.contains("I like opera."));
  }

  @Test
  void aRecallCanRankItsOwnWay(MemoridClient client) {
    AttributionScope scope = client.attribution(entity());
    scope.attribute(turn("I sail on weekends."));
    scope.attribute(turn("My bike needs new brakes."));
    assertTrue(scope.waitForAugmentation(Duration.ofSeconds(30)).completed());
    String bike = "My bike needs new brakes.";

    // Lexical only: the score is the lexical part, and only the message holding the word scores
    // above zero (no neighbour's share, no session window).
    Ranking lexical = Ranking.builder().denseWeight(0).lexicalWeight(1).recencyWeight(0).mentionsWeight(0)
        .contextWeight(0).neighbourWeight(0).build();
    List<RecallHit> hits = scope.recall("brakes",
        RecallOptions.builder().kinds(MemoryKind.MESSAGE).limit(5).ranking(lexical).includeScoreParts(true).build());
    assertFalse(hits.isEmpty());
    assertEquals(bike, hits.get(0).content());
    for (RecallHit hit : hits) {
      assertEquals(hit.scoreParts().orElseThrow().lexical(), hit.score(), 1e-9, "the score is its lexical part");
    }
    assertEquals(1, hits.stream().filter(h -> h.score() > 0).count());

    List<RecallHit> scaled = scope.recall("brakes", RecallOptions.builder().kinds(MemoryKind.MESSAGE).limit(5)
        .ranking(Ranking.builder().fusion(Fusion.MIN_MAX).build()).build());
    assertFalse(scaled.isEmpty());
    assertEquals(bike, scaled.get(0).content());

    InvalidArgumentException refused = assertThrows(InvalidArgumentException.class, () -> scope.recall("brakes",
        RecallOptions.builder().ranking(Ranking.builder().denseWeight(-1).build()).build()));
    assertTrue(refused.violations().stream().anyMatch(v -> v.field().equals("ranking.dense_weight")),
        refused.violations().toString());
    assertTrue(refused.getMessage().contains("ranking.dense_weight"), refused.getMessage());

    InvalidArgumentException neighbour = assertThrows(InvalidArgumentException.class, () -> scope.recall("brakes",
        RecallOptions.builder().ranking(Ranking.builder().neighbourWeight(-1).build()).build()));
    assertTrue(neighbour.violations().stream().anyMatch(v -> v.field().equals("ranking.neighbour_weight")),
        neighbour.violations().toString());
    assertTrue(neighbour.getMessage().contains("ranking.neighbour_weight"), neighbour.getMessage());

    InvalidArgumentException context = assertThrows(InvalidArgumentException.class, () -> scope.recall("brakes",
        RecallOptions.builder().ranking(Ranking.builder().contextWeight(1.5).build()).build()));
    assertTrue(context.violations().stream().anyMatch(v -> v.field().equals("ranking.context_weight")),
        context.violations().toString());
    assertTrue(context.getMessage().contains("ranking.context_weight"), context.getMessage());

    IllegalArgumentException unknown =
        assertThrows(IllegalArgumentException.class, () -> Ranking.builder().fusion("best"));
    assertTrue(unknown.getMessage().contains("\"best\""), unknown.getMessage());
    assertEquals(Fusion.MIN_MAX, Ranking.builder().fusion("min_max").build().fusion().orElseThrow());
  }

  @Test
  void entityWideCallsIgnoreTheScopesProcessAndSession(MemoridClient client) {
    // The server refuses a process or session on wait, list, delete and forget; a scope with both
    // still works, because the client sends the entity alone.
    String entity = entity();
    AttributionScope scope = client.attribution(new Attribution(entity, "bot", "s-" + entity));
    scope.attribute(turn("I enjoy chess."));
    assertTrue(scope.waitForAugmentation().completed());
    assertEquals(List.of("enjoys chess"), scope.facts().map(Fact::content).collect(Collectors.toList()));
    assertEquals(1, scope.forgetEntity().factsDeleted());
  }

  @Test
  void healthAndReadiness(MemoridClient client) {
    assertTrue(client.health());
    client.waitUntilReady(Duration.ofSeconds(5));
  }
}
