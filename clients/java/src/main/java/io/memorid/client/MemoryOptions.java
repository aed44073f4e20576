package io.memorid.client;

import java.util.Optional;

/**
 * Per-chat memory switches; anything left unset takes the server's default. Build with {@link
 * #builder()}: {@code MemoryOptions.builder().recall(false).build()}.
 */
public final class MemoryOptions {

  private final Boolean recall;
  private final int recallLimit;
  private final Boolean history;
  private final int historyTokenBudget;
  private final Boolean augment;

  private MemoryOptions(Builder b) {
    this.recall = b.recall;
    this.recallLimit = b.recallLimit;
    this.history = b.history;
    this.historyTokenBudget = b.historyTokenBudget;
    this.augment = b.augment;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Recall memories for the last user message and inject them; empty: the server's default. */
  public Optional<Boolean> recall() {
    return Optional.ofNullable(recall);
  }

  /** How many memories to inject at most; 0: the server's default. */
  public int recallLimit() {
    return recallLimit;
  }

  /** Prepend the session's stored history; empty: the server's default. */
  public Optional<Boolean> history() {
    return Optional.ofNullable(history);
  }

  /** Token budget of the prepended history; 0: the server's default. */
  public int historyTokenBudget() {
    return historyTokenBudget;
  }

  /** Turn this turn into memories in the background; empty: the server's default. */
  public Optional<Boolean> augment() {
    return Optional.ofNullable(augment);
  }

  /** Builds {@link MemoryOptions}. */
  public static final class Builder {
    private Boolean recall;
    private int recallLimit;
    private Boolean history;
    private int historyTokenBudget;
    private Boolean augment;

    private Builder() {}

    public Builder recall(boolean recall) {
      this.recall = recall;
      return this;
    }

    public Builder recallLimit(int limit) {
      this.recallLimit = requireNonNegative(limit, "recallLimit");
      return this;
    }

    public Builder history(boolean history) {
      this.history = history;
      return this;
    }

    public Builder historyTokenBudget(int tokens) {
      this.historyTokenBudget = requireNonNegative(tokens, "historyTokenBudget");
      return this;
    }

    public Builder augment(boolean augment) {
      this.augment = augment;
      return this;
    }

    public MemoryOptions build() {
      return new MemoryOptions(this);
    }
  }

  static int requireNonNegative(int value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must not be negative");
    }
    return value;
  }
}
