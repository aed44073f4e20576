package io.memorid.client;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * What a chat asks of the model besides its messages; everything is optional. Build with {@link
 * #builder()}: {@code ChatOptions.builder().temperature(0.2).maxTokens(200).build()}.
 */
public final class ChatOptions {

  private static final ChatOptions DEFAULTS = builder().build();

  private final Double temperature;
  private final Integer maxTokens;
  private final Double topP;
  private final List<String> stop;
  private final List<Tool> tools;
  private final ToolChoice toolChoice;
  private final ResponseFormat responseFormat;
  private final MemoryOptions memory;
  private final Map<String, String> metadata;

  private ChatOptions(Builder b) {
    this.temperature = b.temperature;
    this.maxTokens = b.maxTokens;
    this.topP = b.topP;
    this.stop = List.copyOf(b.stop);
    this.tools = List.copyOf(b.tools);
    this.toolChoice = b.toolChoice;
    this.responseFormat = b.responseFormat;
    this.memory = b.memory;
    this.metadata = Map.copyOf(b.metadata);
  }

  /** No options: the provider's and the server's defaults. */
  public static ChatOptions defaults() {
    return DEFAULTS;
  }

  public static Builder builder() {
    return new Builder();
  }

  public OptionalDouble temperature() {
    return temperature == null ? OptionalDouble.empty() : OptionalDouble.of(temperature);
  }

  public OptionalInt maxTokens() {
    return maxTokens == null ? OptionalInt.empty() : OptionalInt.of(maxTokens);
  }

  public OptionalDouble topP() {
    return topP == null ? OptionalDouble.empty() : OptionalDouble.of(topP);
  }

  public List<String> stop() {
    return stop;
  }

  public List<Tool> tools() {
    return tools;
  }

  public Optional<ToolChoice> toolChoice() {
    return Optional.ofNullable(toolChoice);
  }

  public Optional<ResponseFormat> responseFormat() {
    return Optional.ofNullable(responseFormat);
  }

  public Optional<MemoryOptions> memory() {
    return Optional.ofNullable(memory);
  }

  /** Free-form labels stored with the turn. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Builds {@link ChatOptions}. */
  public static final class Builder {
    private Double temperature;
    private Integer maxTokens;
    private Double topP;
    private List<String> stop = List.of();
    private List<Tool> tools = List.of();
    private ToolChoice toolChoice;
    private ResponseFormat responseFormat;
    private MemoryOptions memory;
    private Map<String, String> metadata = Map.of();

    private Builder() {}

    /** Sampling temperature. */
    public Builder temperature(double temperature) {
      this.temperature = temperature;
      return this;
    }

    /** The most tokens to generate. */
    public Builder maxTokens(int maxTokens) {
      if (maxTokens <= 0) {
        throw new IllegalArgumentException("maxTokens must be positive");
      }
      this.maxTokens = maxTokens;
      return this;
    }

    /** Nucleus sampling. */
    public Builder topP(double topP) {
      this.topP = topP;
      return this;
    }

    /** Stop sequences. */
    public Builder stop(List<String> stop) {
      this.stop = List.copyOf(stop);
      return this;
    }

    /** Tools the model may call. */
    public Builder tools(List<Tool> tools) {
      this.tools = List.copyOf(tools);
      return this;
    }

    public Builder toolChoice(ToolChoice toolChoice) {
      this.toolChoice = Objects.requireNonNull(toolChoice, "toolChoice");
      return this;
    }

    public Builder responseFormat(ResponseFormat responseFormat) {
      this.responseFormat = Objects.requireNonNull(responseFormat, "responseFormat");
      return this;
    }

    /** Per-chat memory switches (recall, history, augmentation). */
    public Builder memory(MemoryOptions memory) {
      this.memory = Objects.requireNonNull(memory, "memory");
      return this;
    }

    /** Free-form labels stored with the turn. */
    public Builder metadata(Map<String, String> metadata) {
      this.metadata = Map.copyOf(metadata);
      return this;
    }

    public ChatOptions build() {
      return new ChatOptions(this);
    }
  }
}
