package io.memorid.client;

import java.util.List;
import java.util.Optional;

/**
 * A whole chat turn, as {@link ChatStream#collect()} and {@code chatAsync} return it.
 *
 * @param turnId the id of the stored turn
 * @param sessionId the session it belongs to; pass it on to continue the conversation
 * @param model the resolved {@code provider/model}
 * @param text the answer's text
 * @param finishReason why the model stopped
 * @param usage token usage as the provider reported it; empty when it reported none
 * @param toolCalls the tool calls of the answer, joined from their pieces
 * @param reasoning the reasoning text, where the provider sent it
 * @param recalledMemoryIds the memories recalled and injected into the prompt
 */
public record ChatResult(
    String turnId,
    String sessionId,
    String model,
    String text,
    FinishReason finishReason,
    Optional<Usage> usage,
    List<ToolCall> toolCalls,
    String reasoning,
    List<String> recalledMemoryIds) {

  public ChatResult {
    toolCalls = List.copyOf(toolCalls);
    recalledMemoryIds = List.copyOf(recalledMemoryIds);
  }
}
