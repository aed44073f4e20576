package io.memorid.client;

import java.util.Objects;

/**
 * How the model may use the tools: {@link #AUTO}, {@link #NONE}, {@link #REQUIRED}, or {@link
 * #function(String)} to force a call of one function.
 */
public final class ToolChoice {

  /** The model decides (the provider's default when tools are given). */
  public static final ToolChoice AUTO = new ToolChoice("auto", "");
  /** The model must not call tools. */
  public static final ToolChoice NONE = new ToolChoice("none", "");
  /** The model must call at least one tool. */
  public static final ToolChoice REQUIRED = new ToolChoice("required", "");

  private final String mode;
  private final String functionName;

  private ToolChoice(String mode, String functionName) {
    this.mode = mode;
    this.functionName = functionName;
  }

  /** Forces a call of the function {@code name}. */
  public static ToolChoice function(String name) {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("ToolChoice.function needs a function name");
    }
    return new ToolChoice("function", name);
  }

  /** {@code auto}, {@code none}, {@code required} or {@code function}. */
  public String mode() {
    return mode;
  }

  /** The function to call, with mode {@code function}; empty otherwise. */
  public String functionName() {
    return functionName;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ToolChoice that
        && mode.equals(that.mode)
        && functionName.equals(that.functionName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(mode, functionName);
  }

  @Override
  public String toString() {
    return functionName.isEmpty() ? mode : "function(" + functionName + ")";
  }
}
