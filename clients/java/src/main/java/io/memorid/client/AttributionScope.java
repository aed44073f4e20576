package io.memorid.client;

import io.grpc.stub.StreamObserver;
import io.memorid.client.internal.gen.memori.v1.MemoryServiceGrpc;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The client bound to one {@link Attribution}: {@code client.attribution("user_123",
 * "support-bot")}. Immutable and cheap; make one per request, or keep one per user, from any
 * number of threads.
 *
 * <p>Every call has a blocking form and an {@code ...Async} form returning a {@link
 * CompletableFuture}; cancelling the future cancels the call. Blocking calls throw {@link
 * MemoridException} subclasses; futures fail with them.
 *
 * <p>Chat and attribute are attributed to the whole scope (entity, process, session). Recall
 * searches the entity's facts whichever process they came from, as memorid's own Chat does ({@link
 * RecallOptions.Builder#processId} narrows past messages to one process). The entity-wide calls —
 * wait, list, delete, forget — send the entity alone, as the server requires.
 */
public final class AttributionScope {

  /** How much longer than its wait a WaitForAugmentation call's deadline is. */
  static final Duration WAIT_MARGIN = Duration.ofSeconds(10);

  static final Duration DEFAULT_WAIT = Duration.ofSeconds(30);

  private final Calls calls;
  private final Attribution who;
  private final Duration timeout;
  private final Duration chatTimeout;

  AttributionScope(Calls calls, Attribution who, Duration timeout, Duration chatTimeout) {
    this.calls = calls;
    this.who = who;
    this.timeout = timeout;
    this.chatTimeout = chatTimeout;
  }

  /** The attribution of every call through this scope. */
  public Attribution attribution() {
    return who;
  }

  /** The same entity in another process. */
  public AttributionScope withProcess(String processId) {
    return new AttributionScope(calls, who.withProcess(processId), timeout, chatTimeout);
  }

  /** The same entity and process in the session {@code sessionId}. */
  public AttributionScope withSession(String sessionId) {
    return new AttributionScope(calls, who.withSession(sessionId), timeout, chatTimeout);
  }

  /** The same entity and process in a new session with a fresh random id. */
  public AttributionScope newSession() {
    return withSession(UUID.randomUUID().toString());
  }

  /**
   * The same scope whose calls — chat included — each have this deadline instead of the client's
   * defaults (a retried call's attempts share it).
   */
  public AttributionScope withTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive");
    }
    return new AttributionScope(calls, who, timeout, timeout);
  }

  /** The same scope whose calls have no deadline at all. */
  public AttributionScope withoutTimeout() {
    return new AttributionScope(calls, who, null, null);
  }

  // --- chat -------------------------------------------------------------------------------------

  /**
   * Sends a chat through memorid, which recalls and injects the entity's memories, calls the
   * upstream {@code provider/model}, mirrors each delta back and stores the turn. Read the
   * returned stream to its end or close it. Never retried.
   *
   * @param model {@code provider/model} (e.g. {@code openai/gpt-4o-mini}) or a configured alias
   * @param messages the new messages of this turn, oldest first; with a session, memorid
   *     prepends the session's history itself
   */
  public ChatStream chat(String model, List<Message> messages) {
    return chat(model, messages, ChatOptions.defaults());
  }

  /** {@link #chat(String, List)} with options (sampling, tools, memory switches, metadata). */
  public ChatStream chat(String model, List<Message> messages, ChatOptions options) {
    return calls.chat(Convert.chatRequest(who, model, messages, options), chatTimeout);
  }

  /** The whole chat turn, once it completed. */
  public CompletableFuture<ChatResult> chatAsync(String model, List<Message> messages) {
    return chatAsync(model, messages, ChatOptions.defaults(), null);
  }

  /** The whole chat turn, once it completed. */
  public CompletableFuture<ChatResult> chatAsync(
      String model, List<Message> messages, ChatOptions options) {
    return chatAsync(model, messages, options, null);
  }

  /**
   * A chat whose events go to {@code observer} as they arrive, on a gRPC thread: {@code onNext}
   * for each, then {@code onCompleted}, or {@code onError} with a {@link MemoridException}. The
   * returned future completes at the same moment with the whole turn (or the same error);
   * cancelling it cancels the call. An observer that throws cancels the call, and the future fails
   * with what it threw. The next event is asked for only once {@code onNext} returned.
   */
  public CompletableFuture<ChatResult> chatAsync(
      String model, List<Message> messages, ChatOptions options, StreamObserver<ChatEvent> observer) {
    return calls.chatAsync(Convert.chatRequest(who, model, messages, options), chatTimeout, observer);
  }

  // --- recall -----------------------------------------------------------------------------------

  /** The entity's facts best matching {@code query}, best first, as many as the server's default. */
  public List<RecallHit> recall(String query) {
    return recall(query, RecallOptions.defaults());
  }

  /** The entity's {@code limit} facts best matching {@code query}, best first. */
  public List<RecallHit> recall(String query, int limit) {
    return recall(query, RecallOptions.builder().limit(limit).build());
  }

  /** The entity's memories best matching {@code query}, best first. */
  public List<RecallHit> recall(String query, RecallOptions options) {
    return Calls.await(recallAsync(query, options));
  }

  public CompletableFuture<List<RecallHit>> recallAsync(String query, RecallOptions options) {
    return calls.recall(Convert.recallRequest(who, query, options), timeout);
  }

  // --- attribute --------------------------------------------------------------------------------

  /** Stores one finished turn that you ran against a model yourself. */
  public AttributeResult attribute(List<Message> messages) {
    return attribute(messages, AttributeOptions.defaults());
  }

  /** Stores one finished turn that you ran against a model yourself. */
  public AttributeResult attribute(List<Message> messages, AttributeOptions options) {
    return Calls.await(attributeAsync(messages, options));
  }

  public CompletableFuture<AttributeResult> attributeAsync(
      List<Message> messages, AttributeOptions options) {
    AttributeTurn turn = new AttributeTurn(who, messages, options);
    return Calls.map(
        MemoridClient.attribute(calls, List.of(turn), timeout), results -> results.get(0));
  }

  // --- augmentation -----------------------------------------------------------------------------

  /** Blocks until the entity's pending memory work is done, or 30 s passed. */
  public AugmentationStatus waitForAugmentation() {
    return waitForAugmentation(DEFAULT_WAIT, List.of());
  }

  /** Blocks until the entity's pending memory work is done, or {@code timeout} passed. */
  public AugmentationStatus waitForAugmentation(Duration timeout) {
    return waitForAugmentation(timeout, List.of());
  }

  /**
   * Blocks until the memory work of {@code turnIds} (all of the entity's pending work when empty)
   * is done, or {@code timeout} passed (the server caps it at 300 s); {@link
   * AugmentationStatus#completed()} says which.
   */
  public AugmentationStatus waitForAugmentation(Duration timeout, Collection<String> turnIds) {
    return Calls.await(waitForAugmentationAsync(timeout, turnIds));
  }

  public CompletableFuture<AugmentationStatus> waitForAugmentationAsync(
      Duration timeout, Collection<String> turnIds) {
    Objects.requireNonNull(timeout, "timeout");
    return calls.unary(
        MemoryServiceGrpc.getWaitForAugmentationMethod(),
        Convert.waitRequest(who, turnIds, timeout),
        timeout.plus(WAIT_MARGIN),
        Convert::augmentationStatus);
  }

  // --- facts ------------------------------------------------------------------------------------

  /** The first page of the entity's current facts, newest first, of the server's default size. */
  public FactPage listFacts() {
    return listFacts(0, "", false);
  }

  /**
   * One page of the entity's facts, newest first.
   *
   * @param pageSize at most this many; 0 takes the server's default
   * @param pageToken a previous page's {@link FactPage#nextPageToken()}, or empty for the first
   * @param includeSuperseded also list facts a newer one superseded
   */
  public FactPage listFacts(int pageSize, String pageToken, boolean includeSuperseded) {
    return Calls.await(listFactsAsync(pageSize, pageToken, includeSuperseded));
  }

  public CompletableFuture<FactPage> listFactsAsync(
      int pageSize, String pageToken, boolean includeSuperseded) {
    MemoryOptions.requireNonNegative(pageSize, "pageSize");
    return calls.unary(
        MemoryServiceGrpc.getListFactsMethod(),
        Convert.listFactsRequest(who, pageSize, pageToken, includeSuperseded),
        timeout,
        Convert::factPage);
  }

  /** Every current fact of the entity, newest first, fetched page by page as the stream is read. */
  public Stream<Fact> facts() {
    return facts(0, false);
  }

  /** Every fact of the entity, newest first, fetched page by page ({@code pageSize} each). */
  public Stream<Fact> facts(int pageSize, boolean includeSuperseded) {
    Spliterator<Fact> pages =
        new Spliterators.AbstractSpliterator<>(Long.MAX_VALUE, Spliterator.ORDERED | Spliterator.NONNULL) {
          private FactPage page;
          private int index;

          @Override
          public boolean tryAdvance(Consumer<? super Fact> action) {
            while (page == null || index == page.facts().size()) {
              if (page != null && !page.hasNextPage()) {
                return false;
              }
              page = listFacts(pageSize, page == null ? "" : page.nextPageToken(), includeSuperseded);
              index = 0;
            }
            action.accept(page.facts().get(index++));
            return true;
          }
        };
    return StreamSupport.stream(pages, false);
  }

  /** Deletes one fact of the entity; {@link NotFoundException} if it has no such fact. */
  public void deleteFact(String factId) {
    Calls.await(deleteFactAsync(factId));
  }

  public CompletableFuture<Void> deleteFactAsync(String factId) {
    return calls.unary(
        MemoryServiceGrpc.getDeleteFactMethod(),
        Convert.deleteFactRequest(who, factId),
        timeout,
        response -> null);
  }

  /** Deletes everything stored about the entity, in every process and session. */
  public ForgetResult forgetEntity() {
    return Calls.await(forgetEntityAsync());
  }

  public CompletableFuture<ForgetResult> forgetEntityAsync() {
    return calls.unary(
        MemoryServiceGrpc.getForgetEntityMethod(),
        Convert.forgetRequest(who),
        timeout,
        Convert::forgetResult);
  }

  // --- sessions ---------------------------------------------------------------------------------

  /** This scope's session with its turns; the scope must have a session. */
  public Session getSession() {
    if (who.sessionId().isEmpty()) {
      throw new IllegalStateException("getSession() needs a scope with a session (withSession)");
    }
    return getSession(who.sessionId());
  }

  /** A session of the entity with its turns; {@link NotFoundException} if there is none. */
  public Session getSession(String sessionId) {
    return Calls.await(getSessionAsync(sessionId));
  }

  public CompletableFuture<Session> getSessionAsync(String sessionId) {
    Objects.requireNonNull(sessionId, "sessionId");
    return calls.unary(
        MemoryServiceGrpc.getGetSessionMethod(),
        Convert.getSessionRequest(who, sessionId),
        timeout,
        Convert::session);
  }

  @Override
  public String toString() {
    return "AttributionScope[" + who + "]";
  }
}
