package io.memorid.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.memorid.client.AttributionScope;
import io.memorid.client.ChatEvent;
import io.memorid.client.ChatStream;
import io.memorid.client.InvalidArgumentException;
import io.memorid.client.MemoridClient;
import io.memorid.client.MemoridException;
import io.memorid.client.Message;
import io.memorid.client.NotFoundException;
import io.memorid.client.QuotaExceededException;
import io.memorid.client.UnavailableException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A web backend that relays memorid's chat to the browser as Server-Sent Events, with nothing but
 * the JDK's HTTP server: {@code POST /chat} with the user's message as the body and {@code
 * Authorization: Bearer <user token>}; add {@code ?session=ID} to continue a conversation.
 *
 * <ul>
 *   <li>The bearer token names the user, and the user is the memorid entity: every user's memory
 *       is their own.
 *   <li>{@link ChatStream#start()} waits for memorid's {@code started} event before the response
 *       is begun, so an error before the first token becomes a proper HTTP status (429 with
 *       {@code Retry-After} when the model is rate-limited, 400, 404, 503, 502).
 *   <li>Each delta is written and flushed as its own SSE event as soon as memorid mirrors it; an
 *       error mid-stream ends the stream with an {@code error} event.
 *   <li>A browser that goes away makes the next write fail; leaving the try block closes the
 *       {@link ChatStream}, and memorid stops the upstream request at once.
 * </ul>
 *
 * <pre>
 * curl -N -H 'authorization: Bearer token-of-alice' --data 'Hi, I am Alice' localhost:8080/chat
 * </pre>
 */
public final class SseChatServer implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService threads;

  private SseChatServer(HttpServer server, ExecutorService threads) {
    this.server = server;
    this.threads = threads;
  }

  public static void main(String[] args) throws IOException {
    MemoridClient client = Env.client();
    SseChatServer server =
        start(client, Env.model(), 8080, Map.of("token-of-alice", "alice", "token-of-bob", "bob"));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      client.close();
    }));
    System.out.println("listening on http://127.0.0.1:" + server.port() + "/chat");
  }

  /**
   * Serves {@code POST /chat} on {@code port} (0 for any free one) of the loopback address.
   *
   * @param users bearer token → user id
   */
  public static SseChatServer start(
      MemoridClient memorid, String model, int port, Map<String, String> users) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    // A blocking ChatStream per request: one thread each (a virtual thread per request on Java 21).
    ExecutorService threads = Executors.newCachedThreadPool();
    server.setExecutor(threads);
    server.createContext("/chat", exchange -> {
      try (exchange) {
        chat(exchange, memorid, model, users);
      }
    });
    server.start();
    return new SseChatServer(server, threads);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void chat(HttpExchange exchange, MemoridClient memorid, String model, Map<String, String> users)
      throws IOException {
    if (!exchange.getRequestMethod().equals("POST")) {
      plain(exchange, 405, "POST only");
      return;
    }
    String auth = exchange.getRequestHeaders().getFirst("authorization");
    String user = auth != null && auth.startsWith("Bearer ") ? users.get(auth.substring(7)) : null;
    if (user == null) {
      exchange.getResponseHeaders().add("www-authenticate", "Bearer");
      plain(exchange, 401, "unknown user");
      return;
    }
    String text = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    AttributionScope mem = memorid.attribution(user, "sse-example");
    String query = exchange.getRequestURI().getQuery();
    if (query != null && query.startsWith("session=")) {
      mem = mem.withSession(query.substring("session=".length()));
    }

    try (ChatStream stream = mem.chat(model, List.of(Message.user(text)))) {
      ChatEvent.Started started;
      try {
        started = stream.start();
      } catch (QuotaExceededException e) {
        Duration wait = e.retryDelay().orElse(Duration.ofSeconds(1));
        exchange.getResponseHeaders().add("retry-after", Long.toString(Math.max(1, wait.toSeconds())));
        plain(exchange, 429, e.getMessage());
        return;
      } catch (InvalidArgumentException e) {
        plain(exchange, 400, e.getMessage());
        return;
      } catch (NotFoundException e) {
        plain(exchange, 404, e.getMessage());
        return;
      } catch (UnavailableException e) {
        plain(exchange, 503, e.getMessage());
        return;
      } catch (MemoridException e) {
        plain(exchange, 502, e.getMessage());
        return;
      }

      exchange.getResponseHeaders().add("content-type", "text/event-stream; charset=utf-8");
      exchange.getResponseHeaders().add("cache-control", "no-cache");
      exchange.getResponseHeaders().add("x-session-id", started.sessionId());
      exchange.sendResponseHeaders(200, 0); // chunked: one chunk per flush
      OutputStream out = exchange.getResponseBody();
      event(out, "started", "{\"session_id\":" + json(started.sessionId()) + "}");
      try {
        for (ChatEvent event : stream) {
          if (event instanceof ChatEvent.Delta delta && !delta.text().isEmpty()) {
            event(out, "delta", json(delta.text()));
          } else if (event instanceof ChatEvent.Completed done) {
            event(out, "done", "{\"turn_id\":" + json(done.turnId()) + ",\"finish_reason\":"
                + json(done.finishReason().name().toLowerCase()) + "}");
          }
        }
      } catch (MemoridException e) {
        event(out, "error", "{\"reason\":" + json(e.reason()) + ",\"message\":" + json(e.statusMessage()) + "}");
      }
    } // an IOException (the browser left) passes through here too: the stream is closed, the upstream stopped
  }

  private static void event(OutputStream out, String name, String data) throws IOException {
    out.write(("event: " + name + "\ndata: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void plain(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("content-type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  /** A JSON string literal. */
  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
