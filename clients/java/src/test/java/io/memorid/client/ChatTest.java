package io.memorid.client;

import static io.memorid.client.MemoridExtension.entity;
import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Chat through the real memorid: deltas mirrored one by one, whole turns, sessions, concurrency. */
@ExtendWith(MemoridExtension.class)
class ChatTest {

  private static final List<Message> STORY = List.of(Message.user("Tell me a story"));

  @Test
  void deltasArriveOneByOneAsTheUpstreamSendsThem(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    Semaphore gate = new Semaphore(0);
    upstream.script(model, FakeUpstream.Script.pieces("Once", " upon", " a time").gate(gate).usage(21, 3, 4));
    AttributionScope scope = client.attribution(entity(), "storyteller");

    try (ChatStream stream = scope.chat("openai/" + model, STORY)) {
      ChatEvent.Started started = assertInstanceOf(ChatEvent.Started.class, stream.next());
      assertEquals("openai/" + model, started.model());
      assertFalse(started.turnId().isEmpty());
      assertFalse(started.sessionId().isEmpty());

      // The upstream holds its second piece until the gate opens: the client has the first delta
      // while the rest of the answer does not exist yet.
      assertEquals(ChatEvent.Delta.ofText("Once"), stream.next());
      assertEquals(0, upstream.finishedStreams(model));
      gate.release();
      assertEquals(ChatEvent.Delta.ofText(" upon"), stream.next());
      assertEquals(0, upstream.finishedStreams(model));
      gate.release();
      assertEquals(ChatEvent.Delta.ofText(" a time"), stream.next());

      ChatEvent.Completed completed = assertInstanceOf(ChatEvent.Completed.class, stream.next());
      assertEquals(started.turnId(), completed.turnId());
      assertEquals(FinishReason.STOP, completed.finishReason());
      assertEquals(Optional.of(new Usage(21, 3, 4, 0)), completed.usage());
      assertFalse(stream.hasNext());
      assertEquals(Optional.of(completed), stream.completed());
      assertEquals("Once upon a time", stream.text());
    }

    // What the upstream got: the user's message, the model without its provider, a stream.
    List<FakeUpstream.Recorded> sent = upstream.chatRequests(model);
    assertEquals(1, sent.size());
    JsonObject body = sent.get(0).body();
    JsonArray messages = body.getAsJsonArray("messages");
    JsonObject last = messages.get(messages.size() - 1).getAsJsonObject();
    assertEquals("user", last.get("role").getAsString());
    assertEquals("Tell me a story", last.get("content").getAsString());
    assertTrue(body.get("stream").getAsBoolean());
    assertEquals("Bearer " + MemoridServer.UPSTREAM_KEY, sent.get(0).headers().get("authorization"));
  }

  @Test
  void anObserverGetsEachDeltaBeforeTheNextOneExists(MemoridClient client, FakeUpstream upstream)
      throws Exception {
    String model = model();
    Semaphore gate = new Semaphore(0);
    upstream.script(model, FakeUpstream.Script.pieces("a", "b", "c").gate(gate));
    BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
    StreamObserver<ChatEvent> observer =
        new StreamObserver<>() {
          @Override
          public void onNext(ChatEvent event) {
            seen.add(event);
          }

          @Override
          public void onError(Throwable error) {
            seen.add(error);
          }

          @Override
          public void onCompleted() {
            seen.add("completed");
          }
        };
    CompletableFuture<ChatResult> result =
        client.attribution(entity()).chatAsync("openai/" + model, STORY, ChatOptions.defaults(), observer);

    assertInstanceOf(ChatEvent.Started.class, seen.poll(10, TimeUnit.SECONDS));
    assertEquals(ChatEvent.Delta.ofText("a"), seen.poll(10, TimeUnit.SECONDS));
    for (String piece : List.of("b", "c")) {
      // Nothing more until the gate lets the upstream send its next piece.
      assertEquals(null, seen.poll(100, TimeUnit.MILLISECONDS));
      assertFalse(result.isDone());
      gate.release();
      assertEquals(ChatEvent.Delta.ofText(piece), seen.poll(10, TimeUnit.SECONDS));
    }
    assertInstanceOf(ChatEvent.Completed.class, seen.poll(10, TimeUnit.SECONDS));
    assertEquals("completed", seen.poll(10, TimeUnit.SECONDS));
    ChatResult whole = result.get(10, TimeUnit.SECONDS);
    assertEquals("abc", whole.text());
    assertEquals(FinishReason.STOP, whole.finishReason());
  }

  @Test
  void collectReturnsTheWholeTurnAndTheSessionKeepsIt(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(
        model,
        FakeUpstream.Script.pieces("Let me look.")
            .toolCall("call_1", "get_weather", "{\"city\":", " \"Lisbon\"}")
            .finishReason("tool_calls"));
    AttributionScope scope = client.attribution(entity(), "weather-bot");
    Tool weather =
        Tool.fromJsonSchema(
            "get_weather",
            "The weather in a city",
            "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}");
    ChatOptions options =
        ChatOptions.builder()
            .tools(List.of(weather))
            .toolChoice(ToolChoice.AUTO)
            .temperature(0.2)
            .maxTokens(50)
            .metadata(Map.of("ticket", "T-1"))
            .build();

    ChatResult result =
        scope.chat("openai/" + model, List.of(Message.user("Weather in Lisbon?")), options).collect();
    assertEquals("Let me look.", result.text());
    assertEquals(FinishReason.TOOL_CALLS, result.finishReason());
    assertEquals(List.of(new ToolCall("call_1", "get_weather", "{\"city\": \"Lisbon\"}")), result.toolCalls());
    JsonObject sent = upstream.chatRequests(model).get(0).body();
    JsonObject function = sent.getAsJsonArray("tools").get(0).getAsJsonObject().getAsJsonObject("function");
    assertEquals("get_weather", function.get("name").getAsString());
    assertEquals("string",
        function.getAsJsonObject("parameters").getAsJsonObject("properties").getAsJsonObject("city").get("type").getAsString());
    assertEquals(0.2, sent.get("temperature").getAsDouble(), 1e-9);

    // The next turn continues the session; memorid prepends the history itself.
    upstream.script(model, FakeUpstream.Script.pieces("Sunny."));
    AttributionScope session = scope.withSession(result.sessionId());
    ChatResult followUp =
        session.chat("openai/" + model, List.of(Message.tool("call_1", "{\"sky\": \"clear\"}"))).collect();
    assertEquals(result.sessionId(), followUp.sessionId());
    List<FakeUpstream.Recorded> requests = upstream.chatRequests(model);
    JsonArray history = requests.get(requests.size() - 1).body().getAsJsonArray("messages");
    List<String> roles = new ArrayList<>();
    history.forEach(m -> roles.add(m.getAsJsonObject().get("role").getAsString()));
    assertEquals(List.of("user", "assistant", "tool"), roles.subList(roles.size() - 3, roles.size()));

    Session stored = session.getSession();
    assertEquals(scope.attribution().entityId(), stored.entityId());
    assertEquals("weather-bot", stored.processId());
    assertEquals(
        List.of(TurnStatus.COMPLETED, TurnStatus.COMPLETED),
        stored.turns().stream().map(StoredTurn::status).collect(Collectors.toList()));
    StoredTurn first = stored.turns().get(0);
    assertEquals(Map.of("ticket", "T-1"), first.metadata());
    assertEquals(List.of(Role.USER, Role.ASSISTANT), first.messages().stream().map(Message::role).collect(Collectors.toList()));
    assertEquals("get_weather", first.messages().get(1).toolCalls().get(0).name());
    assertEquals(Message.tool("call_1", "{\"sky\": \"clear\"}"), stored.turns().get(1).messages().get(0));
    assertEquals(3, stored.turns().get(1).usage().orElseThrow().outputTokens());
  }

  @Test
  void theTextStreamYieldsOnlyTextAndTheStartComesFirst(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("one", " two", " three"));
    try (ChatStream stream = client.attribution(entity()).chat("openai/" + model, STORY)) {
      ChatEvent.Started started = stream.start();
      assertEquals("openai/" + model, started.model());
      assertEquals(List.of("one", " two", " three"), stream.textStream().collect(Collectors.toList()));
      assertEquals(Optional.of(started), stream.started());
      assertTrue(stream.completed().isPresent());
    }
  }

  @Test
  void memoryOptionsReachTheServer(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    AttributionScope scope = client.attribution(entity());
    scope.attribute(List.of(Message.user("I love sailing."), Message.assistant("Nice.")));
    assertTrue(scope.waitForAugmentation().completed());

    upstream.script(model, FakeUpstream.Script.pieces("ok"));
    ChatResult recalled = scope.chat("openai/" + model, List.of(Message.user("What do I love? sailing"))).collect();
    assertEquals(1, recalled.recalledMemoryIds().size());
    String prompt = upstream.chatRequests(model).get(0).body().toString();
    assertTrue(prompt.contains("loves sailing"), prompt);

    ChatOptions noRecall =
        ChatOptions.builder().memory(MemoryOptions.builder().recall(false).augment(false).build()).build();
    ChatResult plain = scope.chat("openai/" + model, List.of(Message.user("What do I love? sailing")), noRecall).collect();
    assertEquals(List.of(), plain.recalledMemoryIds());
    List<FakeUpstream.Recorded> requests = upstream.chatRequests(model);
    assertFalse(requests.get(requests.size() - 1).body().toString().contains("loves sailing"));
  }

  @Test
  void fiftyConcurrentStreamsShareOneClient(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    Semaphore gate = new Semaphore(0);
    upstream.script(model, FakeUpstream.Script.pieces("hi", " there").gate(gate));
    int n = 50;
    List<CompletableFuture<ChatResult>> results = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      AttributionScope scope = client.attribution("crowd-" + model + "-" + i);
      results.add(scope.chatAsync("openai/" + model, List.of(Message.user("I am user " + i))));
    }
    // All 50 streams are open at once: each has sent its first piece and waits at the gate.
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (upstream.firstPiecesSent(model) < n && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(n, upstream.firstPiecesSent(model));
    assertTrue(results.stream().noneMatch(CompletableFuture::isDone));
    gate.release(n);

    List<ChatResult> done = new ArrayList<>();
    for (CompletableFuture<ChatResult> result : results) {
      done.add(result.get(30, TimeUnit.SECONDS));
    }
    assertTrue(done.stream().allMatch(r -> r.text().equals("hi there")));
    assertEquals(n, done.stream().map(ChatResult::turnId).distinct().count());
    List<String> asked = new ArrayList<>();
    for (FakeUpstream.Recorded r : upstream.chatRequests(model)) {
      JsonArray messages = r.body().getAsJsonArray("messages");
      asked.add(messages.get(messages.size() - 1).getAsJsonObject().get("content").getAsString());
    }
    assertEquals(n, asked.size());
    for (int i = 0; i < n; i++) {
      assertTrue(asked.contains("I am user " + i));
    }
  }

  @Test
  void fiftyBlockingStreamsOnFiftyThreads(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("a", "b", "c").delay(Duration.ofMillis(5)));
    List<Thread> threads = new ArrayList<>();
    List<String> texts = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 50; i++) {
      AttributionScope scope = client.attribution("threads-" + model + "-" + i);
      Thread t = new Thread(() -> {
        try (ChatStream stream = scope.chat("openai/" + model, STORY)) {
          texts.add(stream.textStream().collect(Collectors.joining()));
        } catch (Throwable e) {
          failures.add(e);
        }
      });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(60_000);
    }
    assertEquals(List.of(), failures);
    assertEquals(50, texts.size());
    assertTrue(texts.stream().allMatch("abc"::equals));
    assertNotNull(client.toString());
  }
}
