package io.memorid.client;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What an attributed turn carries besides its messages. Build with {@link #builder()}: {@code
 * AttributeOptions.builder().idempotencyKey("turn-42").model("openai/gpt-4o-mini").build()}.
 */
public final class AttributeOptions {

  private static final AttributeOptions DEFAULTS = builder().build();

  private final Instant occurredAt;
  private final String idempotencyKey;
  private final Map<String, String> metadata;
  private final String model;

  private AttributeOptions(Builder b) {
    this.occurredAt = b.occurredAt;
    this.idempotencyKey = b.idempotencyKey;
    this.metadata = Map.copyOf(b.metadata);
    this.model = b.model;
  }

  public static AttributeOptions defaults() {
    return DEFAULTS;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** When the turn happened; empty means now. */
  public Optional<Instant> occurredAt() {
    return Optional.ofNullable(occurredAt);
  }

  /**
   * Makes the turn safe to resend; empty lets the client make one up, so its own retries never
   * store the turn twice.
   */
  public String idempotencyKey() {
    return idempotencyKey;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** The model that produced the assistant messages, if known. */
  public String model() {
    return model;
  }

  /** Builds {@link AttributeOptions}. */
  public static final class Builder {
    private Instant occurredAt;
    private String idempotencyKey = "";
    private Map<String, String> metadata = Map.of();
    private String model = "";

    private Builder() {}

    public Builder occurredAt(Instant occurredAt) {
      this.occurredAt = Objects.requireNonNull(occurredAt, "occurredAt");
      return this;
    }

    /** At most 128 bytes; the same key twice stores the turn once. */
    public Builder idempotencyKey(String key) {
      this.idempotencyKey = Objects.requireNonNull(key, "key");
      return this;
    }

    public Builder metadata(Map<String, String> metadata) {
      this.metadata = Map.copyOf(metadata);
      return this;
    }

    public Builder model(String model) {
      this.model = Objects.requireNonNull(model, "model");
      return this;
    }

    public AttributeOptions build() {
      return new AttributeOptions(this);
    }
  }
}
