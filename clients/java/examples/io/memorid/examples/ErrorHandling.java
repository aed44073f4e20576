package io.memorid.examples;

import io.memorid.client.AttributionScope;
import io.memorid.client.ChatResult;
import io.memorid.client.FieldViolation;
import io.memorid.client.InvalidArgumentException;
import io.memorid.client.MemoridClient;
import io.memorid.client.Message;
import io.memorid.client.QuotaExceededException;
import io.memorid.client.RetryPolicy;
import io.memorid.client.UnavailableException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/**
 * Handling memorid's typed errors: a rate-limited chat waits as long as the upstream asked
 * ({@link QuotaExceededException#retryDelay()}) and tries once more; bad input names its fields
 * ({@link InvalidArgumentException#violations()}); unary calls ride out short outages with a
 * {@link RetryPolicy} (chats are never retried by the client: a stream that yielded must not be
 * replayed, so the app decides, as here).
 */
public final class ErrorHandling {

  private ErrorHandling() {}

  public static void main(String[] args) throws InterruptedException {
    try (MemoridClient client = Env.client()) {
      AttributionScope mem = client.attribution("user_123", "error-example");
      System.out.println(chatPolitely(mem, Env.model(), "Hello!", System.out).text());
      System.out.println(badInput(mem, System.out));
    }
  }

  /** A client whose unary calls retry UNAVAILABLE and RESOURCE_EXHAUSTED, 5 attempts in 30 s at most. */
  public static MemoridClient resilientClient(String target, String apiKey) {
    return MemoridClient.builder(target)
        .apiKey(apiKey)
        .timeout(Duration.ofSeconds(30)) // all attempts of one call share it
        .retry(RetryPolicy.builder().maxAttempts(5).initialBackoff(Duration.ofMillis(200)).build())
        .build();
  }

  /** A chat that, when rate-limited, waits the delay the upstream asked for and tries again once. */
  public static ChatResult chatPolitely(AttributionScope mem, String model, String text, PrintStream log)
      throws InterruptedException {
    List<Message> messages = List.of(Message.user(text));
    try {
      return mem.chat(model, messages).collect();
    } catch (QuotaExceededException e) {
      Duration wait = e.retryDelay().orElse(Duration.ofSeconds(1));
      log.println(e.reason() + ": waiting " + wait.toMillis() + " ms as asked");
      Thread.sleep(wait.toMillis());
      return mem.chat(model, messages).collect();
    } catch (UnavailableException e) {
      // No reason: memorid itself was unreachable. A reason (UPSTREAM_UNAVAILABLE,
      // STORAGE_UNAVAILABLE): memorid is up, something behind it is not.
      log.println(e.reason().isEmpty() ? "memorid is unreachable" : e.reason());
      throw e;
    }
  }

  /** The field paths of a request memorid refuses (an empty message list). */
  public static List<String> badInput(AttributionScope mem, PrintStream log) {
    try {
      mem.chat("openai/gpt-4o-mini", List.of()).collect();
      return List.of();
    } catch (InvalidArgumentException e) {
      for (FieldViolation v : e.violations()) {
        log.println(v.field() + ": " + v.description());
      }
      return e.violations().stream().map(FieldViolation::field).toList();
    }
  }
}
