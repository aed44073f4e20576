package io.memorid.client;

import java.util.Objects;

/**
 * A tool (function) call the model asked for.
 *
 * @param id the provider's id for the call; tool results refer to it
 * @param name the function's name
 * @param arguments the arguments as JSON text, exactly as the model produced them
 */
public record ToolCall(String id, String name, String arguments) {
  public ToolCall {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    arguments = arguments == null ? "" : arguments;
  }
}
