package io.memorid.client;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A short statement about an entity, extracted from its turns.
 *
 * @param id the fact's id
 * @param content the statement, e.g. "prefers async Python"
 * @param category what it is about
 * @param firstSeenAt when a turn first mentioned it
 * @param lastSeenAt when a turn last mentioned it
 * @param mentionCount how many turns mentioned it
 * @param validUntil when a newer fact superseded it; empty while it is current
 * @param supersededBy the id of the fact that superseded it; empty while it is current
 * @param sourceTurnIds the turns that mentioned it, oldest first
 */
public record Fact(
    String id,
    String content,
    FactCategory category,
    Instant firstSeenAt,
    Instant lastSeenAt,
    int mentionCount,
    Optional<Instant> validUntil,
    String supersededBy,
    List<String> sourceTurnIds) {

  public Fact {
    sourceTurnIds = List.copyOf(sourceTurnIds);
  }

  /** True while no newer fact superseded this one. */
  public boolean isCurrent() {
    return validUntil.isEmpty();
  }
}
