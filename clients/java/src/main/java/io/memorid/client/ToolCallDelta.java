package io.memorid.client;

/**
 * A piece of a tool call in a chat stream.
 *
 * @param index which tool call of the answer this piece belongs to
 * @param id the call's id (usually only in its first piece)
 * @param name the function's name (usually only in its first piece)
 * @param arguments a piece of the arguments' JSON text
 */
public record ToolCallDelta(int index, String id, String name, String arguments) {
  public ToolCallDelta {
    id = id == null ? "" : id;
    name = name == null ? "" : name;
    arguments = arguments == null ? "" : arguments;
  }
}
