package io.memorid.client;

import java.util.Objects;
import java.util.Optional;

/**
 * One recall hit, best first: a fact or a past message, with its score.
 *
 * @param score the fused score; higher is better
 * @param fact the fact, when the hit is one
 * @param message the message, when the hit is one
 * @param scoreParts the parts of the score, when asked for
 */
public record RecallHit(
    double score, Optional<Fact> fact, Optional<MessageHit> message, Optional<ScoreParts> scoreParts) {

  public RecallHit {
    Objects.requireNonNull(fact, "fact");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(scoreParts, "scoreParts");
    if (fact.isPresent() == message.isPresent()) {
      throw new IllegalArgumentException("a recall hit is either a fact or a message");
    }
  }

  public MemoryKind kind() {
    return fact.isPresent() ? MemoryKind.FACT : MemoryKind.MESSAGE;
  }

  /** The fact's statement or the message's text. */
  public String content() {
    return fact.map(Fact::content).orElseGet(() -> message.orElseThrow().content());
  }

  /** The fact's id, or the turn id of a message hit. */
  public String id() {
    return fact.map(Fact::id).orElseGet(() -> message.orElseThrow().turnId());
  }
}
