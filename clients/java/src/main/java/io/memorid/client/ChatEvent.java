package io.memorid.client;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One event of a chat stream, as memorid mirrors it: one {@link Started}, then a {@link Delta} for
 * every piece the upstream sent, then one {@link Completed}.
 *
 * <pre>{@code
 * for (ChatEvent event : stream) {
 *   if (event instanceof ChatEvent.Delta delta) {
 *     System.out.print(delta.text());
 *   }
 * }
 * }</pre>
 */
public sealed interface ChatEvent permits ChatEvent.Started, ChatEvent.Delta, ChatEvent.Completed {

  /**
   * Always the first event: the user's messages are stored and the upstream answered.
   *
   * @param turnId the id of the stored turn
   * @param sessionId the session the turn belongs to (a new one if the chat named none)
   * @param model the resolved {@code provider/model}
   * @param recalledMemoryIds the memories recalled and injected into the prompt
   */
  record Started(String turnId, String sessionId, String model, List<String> recalledMemoryIds)
      implements ChatEvent {
    public Started {
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(sessionId, "sessionId");
      Objects.requireNonNull(model, "model");
      recalledMemoryIds = List.copyOf(recalledMemoryIds);
    }
  }

  /**
   * A piece of the answer, sent as soon as the upstream sent it.
   *
   * @param text answer text (may be empty on a delta that carries only tool calls)
   * @param toolCalls pieces of tool calls; join them by {@link ToolCallDelta#index()}
   * @param reasoning reasoning text, where the provider sends it
   */
  record Delta(String text, List<ToolCallDelta> toolCalls, String reasoning) implements ChatEvent {
    public Delta {
      text = text == null ? "" : text;
      toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
      reasoning = reasoning == null ? "" : reasoning;
    }

    /** A delta of text alone. */
    public static Delta ofText(String text) {
      return new Delta(text, List.of(), "");
    }
  }

  /**
   * Always the last event of a successful stream: the turn is durably stored.
   *
   * @param turnId the id of the stored turn
   * @param finishReason why the model stopped
   * @param usage token usage as the provider reported it; empty when it reported none
   */
  record Completed(String turnId, FinishReason finishReason, Optional<Usage> usage)
      implements ChatEvent {
    public Completed {
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(finishReason, "finishReason");
      Objects.requireNonNull(usage, "usage");
    }
  }
}
