package io.memorid.client;

import static io.memorid.client.MemoridExtension.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.memorid.examples.ConcurrentUsers;
import io.memorid.examples.ErrorHandling;
import io.memorid.examples.QuickStart;
import io.memorid.examples.SseChatServer;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every example in examples/, run against the real memorid. */
@ExtendWith(MemoridExtension.class)
class ExamplesTest {

  @Test
  void quickStart(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("Noted", ", async", " it is."));
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    List<String> facts = QuickStart.run(client, "openai/" + model, "quick-" + UUID.randomUUID(),
        new PrintStream(printed, true, StandardCharsets.UTF_8));
    assertEquals(List.of("prefers async Python"), facts);
    String out = printed.toString(StandardCharsets.UTF_8);
    assertTrue(out.startsWith("Noted, async it is.\n"), out);
    assertTrue(out.contains("prefers async Python"), out);
  }

  @Test
  void sseServerRelaysEachDeltaAsItArrives(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    Semaphore gate = new Semaphore(0);
    upstream.script(model, FakeUpstream.Script.pieces("Hi", " Alice", "!").gate(gate));
    String alice = "alice-" + UUID.randomUUID();
    try (SseChatServer server = SseChatServer.start(client, "openai/" + model, 0, Map.of("t-alice", alice))) {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/chat"))
          .header("authorization", "Bearer t-alice")
          .POST(HttpRequest.BodyPublishers.ofString("Hi, I am Alice")).build();
      HttpResponse<java.io.InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, response.statusCode());
      assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
      String session = response.headers().firstValue("x-session-id").orElseThrow();
      try (BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
        assertEquals(List.of("event: started", "data: {\"session_id\":\"" + session + "\"}"), readEvent(events));
        assertEquals(List.of("event: delta", "data: \"Hi\""), readEvent(events));
        // The browser has "Hi" while the upstream holds the rest: the relay does not buffer.
        assertEquals(0, upstream.finishedStreams(model));
        gate.release();
        assertEquals(List.of("event: delta", "data: \" Alice\""), readEvent(events));
        gate.release();
        assertEquals(List.of("event: delta", "data: \"!\""), readEvent(events));
        List<String> done = readEvent(events);
        assertEquals("event: done", done.get(0));
        assertTrue(done.get(1).contains("\"finish_reason\":\"stop\""), done.get(1));
      }
      // The user's turn is in their own memory.
      Session stored = client.attribution(alice).getSession(session);
      assertEquals("Hi, I am Alice", stored.turns().get(0).messages().get(0).content());

      HttpResponse<String> stranger = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/chat"))
          .header("authorization", "Bearer nobody").POST(HttpRequest.BodyPublishers.ofString("hi")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(401, stranger.statusCode());

      upstream.script(model, FakeUpstream.Script.rejecting(FakeUpstream.Reject.of(429, "requests").withHeader("retry-after", "9")));
      HttpResponse<String> limited = http.send(request, HttpResponse.BodyHandlers.ofString());
      assertEquals(429, limited.statusCode());
      assertEquals("9", limited.headers().firstValue("retry-after").orElse(""));
    }
  }

  @Test
  void aBrowserThatLeavesStopsTheUpstreamRequest(MemoridClient client, FakeUpstream upstream) throws Exception {
    String model = model();
    String[] pieces = new String[100];
    java.util.Arrays.fill(pieces, "word ");
    upstream.script(model, FakeUpstream.Script.pieces(pieces).delay(Duration.ofMillis(50)));
    try (SseChatServer server = SseChatServer.start(client, "openai/" + model, 0, Map.of("t", "leaver-" + UUID.randomUUID()))) {
      try (java.net.Socket browser = new java.net.Socket("127.0.0.1", server.port())) {
        browser.getOutputStream().write(("POST /chat HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\n"
            + "content-length: 2\r\n\r\nhi").getBytes(StandardCharsets.US_ASCII));
        BufferedReader in = new BufferedReader(new InputStreamReader(browser.getInputStream(), StandardCharsets.UTF_8));
        for (String line = in.readLine(); !"event: delta".equals(line); line = in.readLine()) {
          assertTrue(line != null, "the stream ended before a delta");
        }
      } // the browser leaves after its first delta
      assertTrue(upstream.awaitHangup(model, Duration.ofSeconds(10)), "the relay kept the upstream request open");
      assertEquals(0, upstream.finishedStreams(model));
    }
  }

  private static List<String> readEvent(BufferedReader reader) throws Exception {
    List<String> lines = new ArrayList<>();
    for (String line = reader.readLine(); line != null && !line.isEmpty(); line = reader.readLine()) {
      lines.add(line);
    }
    return lines;
  }

  @Test
  void concurrentUsers(MemoridClient client, FakeUpstream upstream) {
    String model = model();
    upstream.script(model, FakeUpstream.Script.pieces("hi", " there").delay(Duration.ofMillis(10)));
    List<ChatResult> results = ConcurrentUsers.run(client, "openai/" + model, 100);
    assertEquals(100, results.size());
    assertTrue(results.stream().allMatch(r -> r.text().equals("hi there")));
    assertEquals(100, results.stream().map(ChatResult::turnId).distinct().count());
  }

  @Test
  void errorHandling(MemoridClient client, FakeUpstream upstream, MemoridServer server) throws Exception {
    String model = model();
    FakeUpstream.Reject limited = FakeUpstream.Reject.of(429, "requests").withHeader("retry-after", "1");
    // memorid retries one 429 itself (routing.max_attempts = 2), then hands the delay on.
    upstream.script(model, FakeUpstream.Script.rejecting(limited), FakeUpstream.Script.rejecting(limited),
        FakeUpstream.Script.pieces("finally"));
    AttributionScope mem = client.attribution("errors-" + UUID.randomUUID());
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
    long started = System.nanoTime();
    assertEquals("finally", ErrorHandling.chatPolitely(mem, "openai/" + model, "Hello!", out).text());
    assertTrue(System.nanoTime() - started >= Duration.ofSeconds(2).toNanos(), "memorid's wait and the example's");
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("UPSTREAM_RATE_LIMITED: waiting 1000 ms"), log.toString());
    assertEquals(List.of("messages"), ErrorHandling.badInput(mem, out));
    try (MemoridClient resilient = ErrorHandling.resilientClient(server.target(), MemoridServer.API_KEY)) {
      assertTrue(resilient.attribution("errors-" + UUID.randomUUID()).listFacts().facts().isEmpty());
    }
  }
}
