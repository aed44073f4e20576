package io.memorid.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Joins a chat's events into a {@link ChatResult}: text, reasoning, tool calls by index. */
final class ChatAccumulator {

  private ChatEvent.Started started;
  private ChatEvent.Completed completed;
  private final StringBuilder text = new StringBuilder();
  private final StringBuilder reasoning = new StringBuilder();
  private final Map<Integer, String[]> toolCalls = new TreeMap<>();

  void add(ChatEvent event) {
    if (event instanceof ChatEvent.Started s) {
      started = s;
    } else if (event instanceof ChatEvent.Delta d) {
      text.append(d.text());
      reasoning.append(d.reasoning());
      for (ToolCallDelta piece : d.toolCalls()) {
        String[] call = toolCalls.computeIfAbsent(piece.index(), i -> new String[] {"", "", ""});
        if (!piece.id().isEmpty()) {
          call[0] = piece.id();
        }
        if (!piece.name().isEmpty()) {
          call[1] = piece.name();
        }
        call[2] += piece.arguments();
      }
    } else if (event instanceof ChatEvent.Completed c) {
      completed = c;
    }
  }

  ChatEvent.Started started() {
    return started;
  }

  ChatEvent.Completed completed() {
    return completed;
  }

  String text() {
    return text.toString();
  }

  /** The whole turn; only once the stream completed. */
  ChatResult result() {
    if (started == null || completed == null) {
      throw new IllegalStateException("the chat stream has not completed");
    }
    List<ToolCall> calls = new ArrayList<>();
    for (String[] call : toolCalls.values()) {
      calls.add(new ToolCall(call[0], call[1], call[2]));
    }
    return new ChatResult(
        completed.turnId(),
        started.sessionId(),
        started.model(),
        text.toString(),
        completed.finishReason(),
        completed.usage(),
        calls,
        reasoning.toString(),
        started.recalledMemoryIds());
  }
}
