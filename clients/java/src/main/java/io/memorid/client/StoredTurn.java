package io.memorid.client;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One stored turn of a session.
 *
 * @param turnId the turn's id
 * @param status where it stands
 * @param model the {@code provider/model} that answered, if known
 * @param finishReason why the model stopped, if it did
 * @param usage token usage, when the provider reported it
 * @param messages the turn's messages in order: the caller's, then the answer
 * @param occurredAt when the turn happened
 * @param error the error that ended an interrupted or failed turn
 * @param processId the process that was talking, if any
 * @param metadata the labels stored with the turn
 */
public record StoredTurn(
    String turnId,
    TurnStatus status,
    String model,
    FinishReason finishReason,
    Optional<Usage> usage,
    List<Message> messages,
    Instant occurredAt,
    String error,
    String processId,
    Map<String, String> metadata) {

  public StoredTurn {
    messages = List.copyOf(messages);
    metadata = Map.copyOf(metadata);
  }
}
