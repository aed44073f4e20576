package io.memorid.examples;

import io.memorid.client.AttributionScope;
import io.memorid.client.ChatEvent;
import io.memorid.client.ChatStream;
import io.memorid.client.MemoridClient;
import io.memorid.client.Message;
import io.memorid.client.RecallHit;
import java.io.PrintStream;
import java.util.List;

/**
 * The README's quick start: a streamed chat through memorid, then the fact memorid learned from
 * it, recalled.
 *
 * <pre>
 * MEMORID_TARGET=localhost:50051 MEMORID_API_KEY=... MEMORID_MODEL=openai/gpt-4o-mini \
 *   java ... io.memorid.examples.QuickStart
 * </pre>
 */
public final class QuickStart {

  private QuickStart() {}

  public static void main(String[] args) {
    try (MemoridClient client = Env.client()) {
      run(client, Env.model(), "user_123", System.out);
    }
  }

  /** Returns the recalled facts' contents. */
  public static List<String> run(MemoridClient client, String model, String userId, PrintStream out) {
    AttributionScope mem = client.attribution(userId, "my_agent");

    try (ChatStream stream = mem.chat(model, List.of(Message.user("I prefer async Python.")))) {
      for (ChatEvent event : stream) {
        if (event instanceof ChatEvent.Delta delta) {
          out.print(delta.text()); // each delta as memorid mirrors it
          out.flush();
        }
      }
    }
    out.println();

    mem.waitForAugmentation(); // memory is written in the background
    List<RecallHit> hits = mem.recall("coding preferences", 5);
    for (RecallHit hit : hits) {
      out.printf("%.2f %s%n", hit.score(), hit.content()); // 0.71 prefers async Python
    }
    return hits.stream().map(RecallHit::content).toList();
  }
}
