package io.memorid.client;

import java.time.Instant;
import java.util.List;

/**
 * A session (one conversation thread of an entity) with its turns, oldest first.
 *
 * @param sessionId the session's id
 * @param entityId the entity it belongs to
 * @param processId the process that started it, if any
 * @param createdAt when it started
 * @param updatedAt when a turn was last added
 * @param turns its turns, oldest first
 */
public record Session(
    String sessionId,
    String entityId,
    String processId,
    Instant createdAt,
    Instant updatedAt,
    List<StoredTurn> turns) {

  public Session {
    turns = List.copyOf(turns);
  }
}
