package io.memorid.client;

import java.time.Instant;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What a recall looks for besides its query. Build with {@link #builder()}: {@code
 * RecallOptions.builder().limit(5).kinds(MemoryKind.FACT, MemoryKind.MESSAGE).build()}.
 */
public final class RecallOptions {

  private static final RecallOptions DEFAULTS = builder().build();

  private final int limit;
  private final Set<MemoryKind> kinds;
  private final Instant occurredAfter;
  private final Instant occurredBefore;
  private final double minScore;
  private final boolean includeScoreParts;
  private final boolean includeSuperseded;
  private final String processId;
  private final Ranking ranking;

  private RecallOptions(Builder b) {
    this.limit = b.limit;
    this.kinds = Set.copyOf(b.kinds);
    this.occurredAfter = b.occurredAfter;
    this.occurredBefore = b.occurredBefore;
    this.minScore = b.minScore;
    this.includeScoreParts = b.includeScoreParts;
    this.includeSuperseded = b.includeSuperseded;
    this.processId = b.processId;
    this.ranking = b.ranking;
  }

  /** The server's defaults: facts only, its default limit. */
  public static RecallOptions defaults() {
    return DEFAULTS;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** At most this many hits; 0: the server's default. */
  public int limit() {
    return limit;
  }

  /** Which kinds of memory; empty means facts. */
  public Set<MemoryKind> kinds() {
    return kinds;
  }

  public Optional<Instant> occurredAfter() {
    return Optional.ofNullable(occurredAfter);
  }

  public Optional<Instant> occurredBefore() {
    return Optional.ofNullable(occurredBefore);
  }

  public double minScore() {
    return minScore;
  }

  public boolean includeScoreParts() {
    return includeScoreParts;
  }

  public boolean includeSuperseded() {
    return includeSuperseded;
  }

  /** Narrows recalled messages to this process's turns; empty: every process. */
  public String processId() {
    return processId;
  }

  /** This recall's own {@link Ranking}; empty: the server's ranking. */
  public Optional<Ranking> ranking() {
    return Optional.ofNullable(ranking);
  }

  /** Builds {@link RecallOptions}. */
  public static final class Builder {
    private int limit;
    private Set<MemoryKind> kinds = Set.of();
    private Instant occurredAfter;
    private Instant occurredBefore;
    private double minScore;
    private boolean includeScoreParts;
    private boolean includeSuperseded;
    private String processId = "";
    private Ranking ranking;

    private Builder() {}

    /** At most this many hits; 0 takes the server's default. */
    public Builder limit(int limit) {
      this.limit = MemoryOptions.requireNonNegative(limit, "limit");
      return this;
    }

    /** Which kinds of memory to search; none given means facts. */
    public Builder kinds(MemoryKind... kinds) {
      Set<MemoryKind> set = EnumSet.noneOf(MemoryKind.class);
      for (MemoryKind kind : kinds) {
        set.add(Objects.requireNonNull(kind, "kind"));
      }
      this.kinds = set;
      return this;
    }

    /** Only memories that occurred at or after this time. */
    public Builder occurredAfter(Instant time) {
      this.occurredAfter = Objects.requireNonNull(time, "time");
      return this;
    }

    /** Only memories that occurred before this time. */
    public Builder occurredBefore(Instant time) {
      this.occurredBefore = Objects.requireNonNull(time, "time");
      return this;
    }

    /** Only hits scoring at least this. */
    public Builder minScore(double minScore) {
      this.minScore = minScore;
      return this;
    }

    /** Send each hit's {@link ScoreParts}. */
    public Builder includeScoreParts(boolean include) {
      this.includeScoreParts = include;
      return this;
    }

    /** Also return facts that were superseded. */
    public Builder includeSuperseded(boolean include) {
      this.includeSuperseded = include;
      return this;
    }

    /**
     * Narrows recalled messages to this process's turns. Facts belong to the entity and are
     * searched whichever process they came from, as memorid's own Chat recalls them.
     */
    public Builder processId(String processId) {
      this.processId = Objects.requireNonNull(processId, "processId");
      return this;
    }

    /** Ranks this recall its own way (weights, fusion) instead of the server's configured way. */
    public Builder ranking(Ranking ranking) {
      this.ranking = Objects.requireNonNull(ranking, "ranking");
      return this;
    }

    public RecallOptions build() {
      return new RecallOptions(this);
    }
  }
}
