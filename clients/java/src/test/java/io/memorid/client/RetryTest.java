package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Opt-in retries: backoff, the server's delay, deadlines, cancellation; never a chat. */
@ExtendWith(MemoridExtension.class)
class RetryTest {

  private static final List<Message> HELLO = List.of(Message.user("hello"));

  private static RetryPolicy fast(int attempts) {
    return RetryPolicy.builder()
        .maxAttempts(attempts)
        .initialBackoff(Duration.ofMillis(50))
        .maxBackoff(Duration.ofMillis(200))
        .build();
  }

  @Test
  void unaryCallsAndAttributeReachAServerThatComesUpLate(FakeUpstream upstream) throws Exception {
    int port = MemoridServer.freePort();
    AtomicReference<MemoridServer> late = new AtomicReference<>();
    ScheduledExecutorService starter = Executors.newSingleThreadScheduledExecutor();
    starter.schedule(() -> late.set(MemoridServer.start(upstream, port)), 500, TimeUnit.MILLISECONDS);
    try (MemoridClient client = MemoridClient.builder("127.0.0.1:" + port).apiKey(MemoridServer.API_KEY)
        .retry(fast(60)).timeout(Duration.ofSeconds(30)).build()) {
      String entity = entity();
      assertEquals(List.of(), client.attribution(entity).listFacts().facts());
      List<AttributeResult> stored = client.attribute(List.of(AttributeTurn.of(Attribution.of(entity), HELLO)));
      assertEquals(1, stored.size());
      assertEquals(1, client.attribution(entity).forgetEntity().turnsDeleted());
    } finally {
      starter.shutdown();
      starter.awaitTermination(60, TimeUnit.SECONDS);
      if (late.get() != null) {
        late.get().close();
      }
    }
  }

  @Test
  void aChatIsNeverRetriedByTheClient(MemoridServer server, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.rejecting(FakeUpstream.Reject.of(500, "server_error")));
    try (MemoridClient client = MemoridClient.builder(server.target()).apiKey(MemoridServer.API_KEY)
        .retry(fast(5)).build()) {
      assertThrows(UpstreamUnavailableException.class,
          () -> client.attribution(entity()).chat("openai/" + model, HELLO).collect());
    }
    // memorid itself tries its upstream routing.max_attempts = 2 times; the client adds none.
    assertEquals(2, upstream.chatRequests(model).size());
  }

  @Test
  void theServersRetryDelayIsHonoured(MemoridClient client, FakeUpstream upstream) {
    // A real RESOURCE_EXHAUSTED from memorid, with its RetryInfo of 1 s (memorid retried the
    // upstream's Retry-After of 1 s itself once, then handed it on).
    String model = model();
    upstream.script(model, FakeUpstream.Script.rejecting(FakeUpstream.Reject.of(429, "requests").withHeader("retry-after", "1")));
    QuotaExceededException limited = assertThrows(QuotaExceededException.class,
        () -> client.attribution(entity()).chat("openai/" + model, HELLO).collect());
    assertEquals(Optional.of(Duration.ofSeconds(1)), limited.retryDelay());

    RetryPolicy policy = fast(3);
    Duration delay = policy.delayAfter(1, limited).orElseThrow();
    assertTrue(delay.compareTo(Duration.ofSeconds(1)) >= 0, "at least the server's delay: " + delay);
    RetryPolicy impatient = RetryPolicy.builder().maxRetryAfter(Duration.ofMillis(500)).build();
    assertEquals(Optional.empty(), impatient.delayAfter(1, limited), "a longer wait than allowed is not retried");

    // The retry loop waits that long before its next attempt.
    Calls calls = new Calls(null, policy, Executors.newSingleThreadScheduledExecutor());
    AtomicInteger attempts = new AtomicInteger();
    long started = System.nanoTime();
    String answer = Calls.await(calls.retrying(Duration.ofSeconds(10), deadline ->
        attempts.incrementAndGet() == 1 ? CompletableFuture.failedFuture(limited) : CompletableFuture.completedFuture("ok")));
    assertEquals("ok", answer);
    assertEquals(2, attempts.get());
    assertTrue(System.nanoTime() - started >= Duration.ofSeconds(1).toNanos());
  }

  @Test
  void retriesStopWhenTheFutureIsCancelled() throws Exception {
    Calls calls = new Calls(null, fast(1000), Executors.newSingleThreadScheduledExecutor());
    AtomicInteger attempts = new AtomicInteger();
    CompletableFuture<String> future = calls.retrying(null, deadline -> {
      attempts.incrementAndGet();
      return CompletableFuture.failedFuture(Errors.local(Status.Code.UNAVAILABLE, "down"));
    });
    Thread.sleep(300);
    assertTrue(future.cancel(true));
    int after = attempts.get();
    assertTrue(after >= 2, "it was retrying: " + after);
    Thread.sleep(500);
    assertEquals(after, attempts.get(), "no attempt after the cancellation");
    assertThrows(CancellationException.class, future::join);
  }

  @Test
  void retriesStopAtTheCallsDeadlineAndOnInterrupt() throws Exception {
    String nowhere = "127.0.0.1:" + MemoridServer.freePort();
    try (MemoridClient client = MemoridClient.builder(nowhere).retry(fast(1000))
        .timeout(Duration.ofSeconds(1)).build()) {
      long started = System.nanoTime();
      assertThrows(UnavailableException.class, () -> client.attribution(entity()).listFacts());
      long took = System.nanoTime() - started;
      assertTrue(took < Duration.ofSeconds(3).toNanos(), "gave up at the deadline: " + took / 1_000_000 + " ms");
    }
    try (MemoridClient client = MemoridClient.builder(nowhere).retry(fast(1000)).noTimeout().build()) {
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      Thread caller = new Thread(() -> {
        try {
          client.attribution(entity()).listFacts();
        } catch (Throwable e) {
          thrown.set(e);
        }
      });
      caller.start();
      Thread.sleep(300);
      caller.interrupt();
      caller.join(5_000);
      assertInstanceOf(CancelledException.class, thrown.get());
    }
  }

  @Test
  void closingTheClientEndsARetryThatWaits() throws Exception {
    RetryPolicy slow = RetryPolicy.builder().maxAttempts(10).initialBackoff(Duration.ofSeconds(4))
        .maxBackoff(Duration.ofSeconds(4)).build();
    MemoridClient client = MemoridClient.builder("127.0.0.1:" + MemoridServer.freePort()).retry(slow).noTimeout().build();
    CompletableFuture<FactPage> page = client.attribution(entity()).listFactsAsync(0, "", false);
    Thread.sleep(500); // the first attempt failed; the next one waits 2-4 s
    assertTrue(!page.isDone());
    long started = System.nanoTime();
    client.close();
    java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
        () -> page.get(5, TimeUnit.SECONDS));
    assertInstanceOf(UnavailableException.class, e.getCause());
    assertTrue(System.nanoTime() - started < Duration.ofSeconds(2).toNanos(), "no wait for the backoff");
  }

  @Test
  void recallIsNotRetriedOnceAHitArrived() {
    Calls calls = new Calls(null, fast(5), Executors.newSingleThreadScheduledExecutor());
    AtomicInteger attempts = new AtomicInteger();
    MemoridException down = Errors.local(Status.Code.UNAVAILABLE, "cut off");
    CompletableFuture<String> future = calls.retrying(Duration.ofSeconds(5), deadline -> {
      attempts.incrementAndGet();
      return CompletableFuture.failedFuture(new Calls.NoRetry(down));
    });
    assertThrows(UnavailableException.class, () -> Calls.await(future));
    assertEquals(1, attempts.get());
  }

  @Test
  void backoffGrowsIsCappedAndJittered() {
    RetryPolicy policy = RetryPolicy.builder().maxAttempts(10).initialBackoff(Duration.ofMillis(100))
        .maxBackoff(Duration.ofMillis(800)).multiplier(2).build();
    MemoridException unavailable = Errors.local(Status.Code.UNAVAILABLE, "down");
    long[] bounds = {100, 200, 400, 800, 800};
    for (int attempt = 1; attempt <= bounds.length; attempt++) {
      for (int i = 0; i < 50; i++) {
        long ms = policy.delayAfter(attempt, unavailable).orElseThrow().toMillis();
        assertTrue(ms >= bounds[attempt - 1] / 2 && ms <= bounds[attempt - 1], attempt + ": " + ms);
      }
    }
    assertEquals(Optional.empty(), policy.delayAfter(10, unavailable), "no attempt past maxAttempts");
    assertEquals(Optional.empty(), policy.delayAfter(1, Errors.local(Status.Code.INVALID_ARGUMENT, "bad")));
  }
}
