package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every typed error, raised from a real memorid status with its details. */
@ExtendWith(MemoridExtension.class)
class ErrorsTest {

  private static final List<Message> HELLO = List.of(Message.user("hello"));

  @Test
  void invalidArgumentNamesTheField(MemoridClient client) {
    AttributionScope scope = client.attribution(entity());
    InvalidArgumentException empty =
        assertThrows(InvalidArgumentException.class, () -> scope.chat("openai/gpt-4o-mini", List.of()).collect());
    assertEquals(Status.Code.INVALID_ARGUMENT, empty.code());
    assertEquals("INVALID_ARGUMENT", empty.reason());
    assertEquals("memorid", empty.domain());
    assertEquals(List.of("messages"), empty.violations().stream().map(FieldViolation::field).collect(Collectors.toList()));
    assertTrue(empty.getMessage().startsWith("INVALID_ARGUMENT: "), empty.getMessage());

    InvalidArgumentException role = assertThrows(InvalidArgumentException.class,
        () -> scope.attribute(List.of(Message.user("x"), new Message(Role.UNSPECIFIED, "y", "", List.of(), ""))));
    assertEquals("messages[1].role", role.violations().get(0).field());

    InvalidArgumentException longId =
        assertThrows(InvalidArgumentException.class, () -> client.attribution("x".repeat(200)).recall("anything"));
    assertEquals("attribution.entity_id", longId.violations().get(0).field());
    assertTrue(longId.violations().get(0).description().contains("128"));

    InvalidArgumentException badId =
        assertThrows(InvalidArgumentException.class, () -> scope.deleteFact("not-a-uuid"));
    assertEquals("fact_id", badId.violations().get(0).field());
  }

  @Test
  void asyncFailuresAreTheSameTypedErrors(MemoridClient client) {
    AttributionScope scope = client.attribution(entity());
    ExecutionException failed = assertThrows(ExecutionException.class,
        () -> scope.chatAsync("openai/gpt-4o-mini", List.of()).get(10, TimeUnit.SECONDS));
    InvalidArgumentException cause = assertInstanceOf(InvalidArgumentException.class, failed.getCause());
    assertEquals("messages", cause.violations().get(0).field());

    ExecutionException missing = assertThrows(ExecutionException.class,
        () -> scope.getSessionAsync("no-such-session").get(10, TimeUnit.SECONDS));
    assertInstanceOf(NotFoundException.class, missing.getCause());
  }

  @Test
  void blockingCallsThrowWithTheCallersStack(MemoridClient client) {
    NotFoundException e = assertThrows(NotFoundException.class,
        () -> client.attribution(entity()).getSession("no-such-session"));
    assertTrue(Stream.of(e.getStackTrace()).anyMatch(f -> f.getClassName().equals(ErrorsTest.class.getName())));
    assertInstanceOf(NotFoundException.class, e.getCause(), "the async original is kept as the cause");
  }

  @Test
  void unauthenticated(MemoridServer server) {
    try (MemoridClient wrong = MemoridClient.builder(server.target()).apiKey("wrong-key").build()) {
      UnauthenticatedException e =
          assertThrows(UnauthenticatedException.class, () -> wrong.attribution(entity()).listFacts());
      assertEquals("UNAUTHENTICATED", e.reason());
    }
    try (MemoridClient anonymous = MemoridClient.builder(server.target()).build()) {
      assertThrows(UnauthenticatedException.class,
          () -> anonymous.attribution(entity()).chat("openai/gpt-4o-mini", HELLO).collect());
    }
  }

  @Test
  void notFound(MemoridClient client) {
    NotFoundException session =
        assertThrows(NotFoundException.class, () -> client.attribution(entity()).getSession("no-such-session"));
    assertEquals("NOT_FOUND", session.reason());
    assertThrows(NotFoundException.class, () -> client.attribution(entity()).deleteFact(UUID.randomUUID().toString()));
  }

  @Test
  void anUpstreamRateLimitIsQuotaExceededWithItsRetryDelay(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.rejecting(FakeUpstream.Reject.of(429, "requests").withHeader("retry-after", "7")));
    QuotaExceededException e = assertThrows(QuotaExceededException.class,
        () -> client.attribution(entity()).chat("openai/" + model, HELLO).collect());
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
    assertEquals("UPSTREAM_RATE_LIMITED", e.reason());
    assertEquals("memorid", e.domain());
    assertEquals(Optional.of(Duration.ofSeconds(7)), e.retryDelay());
  }

  static Stream<Arguments> upstreamFailures() {
    return Stream.of(
        Arguments.of(500, UpstreamUnavailableException.class, "UPSTREAM_UNAVAILABLE"),
        Arguments.of(401, UpstreamUnauthenticatedException.class, "UPSTREAM_UNAUTHENTICATED"),
        Arguments.of(404, NotFoundException.class, "UPSTREAM_NOT_FOUND"),
        Arguments.of(400, UpstreamRejectedException.class, "UPSTREAM_REJECTED"),
        Arguments.of(504, DeadlineExceededException.class, "DEADLINE_EXCEEDED"));
  }

  @ParameterizedTest
  @MethodSource("upstreamFailures")
  void upstreamFailuresBeforeTheFirstToken(
      int status, Class<? extends MemoridException> type, String reason, MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.rejecting(FakeUpstream.Reject.of(status, "server_error")));
    try (ChatStream stream = client.attribution(entity()).chat("openai/" + model, HELLO)) {
      MemoridException e = assertThrows(type, stream::start);
      assertEquals(reason, e.reason());
      assertEquals("", stream.text());
    }
  }

  @Test
  void anErrorMidStreamIsThrownAfterTheDeltasAlreadyRead(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("one", " two", " three").errorAfter(2));
    List<String> seen = new ArrayList<>();
    UpstreamUnavailableException e = assertThrows(UpstreamUnavailableException.class, () -> {
      try (ChatStream stream = client.attribution(entity()).chat("openai/" + model, HELLO)) {
        for (ChatEvent event : stream) {
          if (event instanceof ChatEvent.Delta delta) {
            seen.add(delta.text());
          }
        }
      }
    });
    assertEquals(List.of("one", " two"), seen);
    assertEquals("UPSTREAM_UNAVAILABLE", e.reason());
  }

  @Test
  void aStreamCutOffFailsTheAsyncResult(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("a", "b", "c").cutAfter(1));
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> client.attribution(entity()).chatAsync("openai/" + model, HELLO).get(10, TimeUnit.SECONDS));
    assertInstanceOf(UpstreamUnavailableException.class, e.getCause());
  }

  @Test
  void aPassedDeadlineIsDeadlineExceeded(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("slow").delay(Duration.ofSeconds(3)));
    long started = System.nanoTime();
    assertThrows(DeadlineExceededException.class, () -> client.attribution(entity())
        .withTimeout(Duration.ofMillis(500)).chat("openai/" + model, HELLO).collect());
    assertTrue(System.nanoTime() - started < Duration.ofMillis(2500).toNanos());
  }

  @Test
  void connectionRefusedIsUnavailableWithoutAReason() {
    try (MemoridClient nowhere = MemoridClient.builder("127.0.0.1:" + MemoridServer.freePort())
        .timeout(Duration.ofSeconds(2)).build()) {
      UnavailableException e = assertThrows(UnavailableException.class, () -> nowhere.attribution(entity()).listFacts());
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertEquals("", e.reason());
      assertFalse(e instanceof UpstreamUnavailableException);
      assertFalse(nowhere.health(Duration.ofMillis(500)));
    }
  }
}
