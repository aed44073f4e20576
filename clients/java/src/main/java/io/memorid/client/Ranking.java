package io.memorid.client;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * One recall's own ranking, where it differs from the server's (its {@code [recall]} weights and
 * fusion); anything left unset keeps the server's value. memorid refuses a negative or non-finite
 * weight, and a context weight above 1, with an {@link InvalidArgumentException} naming the field
 * ({@code ranking.dense_weight}, ..., {@code ranking.context_weight}). Build with {@link #builder()}: {@code
 * Ranking.builder().denseWeight(0).lexicalWeight(1).fusion(Fusion.MIN_MAX).build()}, and pass it
 * to {@link RecallOptions.Builder#ranking(Ranking)}.
 */
public final class Ranking {

  private final Double denseWeight;
  private final Double lexicalWeight;
  private final Double recencyWeight;
  private final Double mentionsWeight;
  private final Double contextWeight;
  private final Double neighbourWeight;
  private final Fusion fusion;

  private Ranking(Builder b) {
    this.denseWeight = b.denseWeight;
    this.lexicalWeight = b.lexicalWeight;
    this.recencyWeight = b.recencyWeight;
    this.mentionsWeight = b.mentionsWeight;
    this.contextWeight = b.contextWeight;
    this.neighbourWeight = b.neighbourWeight;
    this.fusion = b.fusion;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Weight of embedding similarity; empty: the server's. */
  public OptionalDouble denseWeight() {
    return optional(denseWeight);
  }

  /** Weight of the lexical (BM25) score; empty: the server's. */
  public OptionalDouble lexicalWeight() {
    return optional(lexicalWeight);
  }

  /** Weight of the recency prior; empty: the server's. */
  public OptionalDouble recencyWeight() {
    return optional(recencyWeight);
  }

  /** Weight of the mention-count prior; empty: the server's. */
  public OptionalDouble mentionsWeight() {
    return optional(mentionsWeight);
  }

  /**
   * A message's session window (itself and up to two earlier messages of its session, scored by
   * their mean similarity): its share of the dense similarity, 0 to 1; empty: the server's.
   */
  public OptionalDouble contextWeight() {
    return optional(contextWeight);
  }

  /**
   * The share of the stronger neighbouring message's relevance (the previous or next message of its
   * session) added to a message's own, at least 0; empty: the server's.
   */
  public OptionalDouble neighbourWeight() {
    return optional(neighbourWeight);
  }

  /** How the parts are fused; empty: the server's. */
  public Optional<Fusion> fusion() {
    return Optional.ofNullable(fusion);
  }

  private static OptionalDouble optional(Double value) {
    return value == null ? OptionalDouble.empty() : OptionalDouble.of(value);
  }

  /** Builds a {@link Ranking}. */
  public static final class Builder {
    private Double denseWeight;
    private Double lexicalWeight;
    private Double recencyWeight;
    private Double mentionsWeight;
    private Double contextWeight;
    private Double neighbourWeight;
    private Fusion fusion;

    private Builder() {}

    public Builder denseWeight(double weight) {
      this.denseWeight = weight;
      return this;
    }

    public Builder lexicalWeight(double weight) {
      this.lexicalWeight = weight;
      return this;
    }

    public Builder recencyWeight(double weight) {
      this.recencyWeight = weight;
      return this;
    }

    public Builder mentionsWeight(double weight) {
      this.mentionsWeight = weight;
      return this;
    }

    public Builder contextWeight(double weight) {
      this.contextWeight = weight;
      return this;
    }

    public Builder neighbourWeight(double weight) {
      this.neighbourWeight = weight;
      return this;
    }

    public Builder fusion(Fusion fusion) {
      this.fusion = Objects.requireNonNull(fusion, "fusion");
      return this;
    }

    /**
     * The fusion by name, {@code absolute} or {@code min_max}.
     *
     * @throws IllegalArgumentException naming the value when it is neither
     */
    public Builder fusion(String fusion) {
      this.fusion = Fusion.of(fusion);
      return this;
    }

    public Ranking build() {
      return new Ranking(this);
    }
  }
}
