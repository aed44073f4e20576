package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A caller that gives up stops the upstream request, whichever way it gives up. */
@ExtendWith(MemoridExtension.class)
class CancellationTest {

  private static final List<Message> HELLO = List.of(Message.user("hello"));
  private static final Duration HANGUP = Duration.ofSeconds(10);

  /** The session's only turn, once memorid marked it interrupted (it may take a moment). */
  private static StoredTurn interruptedTurn(AttributionScope scope, String sessionId) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    StoredTurn turn;
    do {
      turn = scope.getSession(sessionId).turns().get(0);
      if (turn.status() == TurnStatus.INTERRUPTED) {
        return turn;
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    return turn;
  }

  @Test
  void closingAStreamMidWayStopsTheUpstreamRequest(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("first", "never sent").stallAfter(1));
    AttributionScope scope = client.attribution(entity());
    String sessionId;
    try (ChatStream stream = scope.chat("openai/" + model, HELLO)) {
      sessionId = stream.start().sessionId();
      for (ChatEvent event : stream) {
        if (event instanceof ChatEvent.Delta) {
          break; // leaving the try block closes the stream, which cancels the call
        }
      }
    }
    assertTrue(upstream.awaitHangup(model, HANGUP), "memorid kept the upstream request open");
    StoredTurn turn = interruptedTurn(scope, sessionId);
    assertEquals(TurnStatus.INTERRUPTED, turn.status());
    assertEquals("first", turn.messages().get(turn.messages().size() - 1).content());
    assertEquals(0, upstream.finishedStreams(model));
  }

  @Test
  void cancellingTheFutureStopsTheUpstreamRequest(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("first", "never sent").stallAfter(1));
    CountDownLatch firstDelta = new CountDownLatch(1);
    AtomicReference<Throwable> observed = new AtomicReference<>();
    CompletableFuture<ChatResult> result =
        client.attribution(entity()).chatAsync("openai/" + model, HELLO, ChatOptions.defaults(),
            new io.grpc.stub.StreamObserver<>() {
              @Override
              public void onNext(ChatEvent event) {
                if (event instanceof ChatEvent.Delta) {
                  firstDelta.countDown();
                }
              }

              @Override
              public void onError(Throwable error) {
                observed.set(error);
              }

              @Override
              public void onCompleted() {}
            });
    assertTrue(firstDelta.await(10, TimeUnit.SECONDS));
    assertTrue(result.cancel(true));
    assertTrue(upstream.awaitHangup(model, HANGUP), "memorid kept the upstream request open");
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (observed.get() == null && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertInstanceOf(CancelledException.class, observed.get(), "the observer hears of the cancellation");
  }

  @Test
  void interruptingAReaderCancelsTheCall(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("first", "never sent").stallAfter(1));
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    CountDownLatch reading = new CountDownLatch(1);
    Thread reader = new Thread(() -> {
      try (ChatStream stream = client.attribution(entity()).chat("openai/" + model, HELLO)) {
        stream.start();
        stream.next();
        stream.next(); // the first delta
        reading.countDown();
        stream.next(); // blocks: the upstream stalls
      } catch (Throwable e) {
        thrown.set(e);
      }
    });
    reader.start();
    assertTrue(reading.await(10, TimeUnit.SECONDS));
    Thread.sleep(100);
    reader.interrupt();
    reader.join(10_000);
    assertFalse(reader.isAlive());
    CancelledException e = assertInstanceOf(CancelledException.class, thrown.get());
    assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
    assertTrue(upstream.awaitHangup(model, HANGUP), "memorid kept the upstream request open");
  }

  @Test
  void closingFromAnotherThreadEndsABlockedRead(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("first", "never sent").stallAfter(1));
    ChatStream stream = client.attribution(entity()).chat("openai/" + model, HELLO);
    stream.start();
    stream.next();
    stream.next();
    CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS).execute(stream::close);
    assertFalse(stream.hasNext(), "a closed stream ends quietly");
    assertTrue(upstream.awaitHangup(model, HANGUP));
    assertThrows(CancelledException.class, stream::collect);
  }
}
