package io.memorid.client;

import java.util.List;
import java.util.Objects;

/**
 * One chat message, in the shape every provider understands. Build them with the factories:
 * {@code Message.user("Hi")}, {@code Message.system(...)}, {@code Message.assistant(...)}, {@code
 * Message.tool(callId, result)}.
 *
 * @param role who wrote it
 * @param content its text; may be empty on an assistant message that only calls tools
 * @param name optional author name (OpenAI {@code name}); empty for none
 * @param toolCalls the tool calls of an assistant message
 * @param toolCallId on a {@link Role#TOOL} message, the id of the call it answers
 */
public record Message(
    Role role, String content, String name, List<ToolCall> toolCalls, String toolCallId) {

  public Message {
    Objects.requireNonNull(role, "role");
    content = content == null ? "" : content;
    name = name == null ? "" : name;
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    toolCallId = toolCallId == null ? "" : toolCallId;
  }

  public static Message system(String content) {
    return new Message(Role.SYSTEM, content, "", List.of(), "");
  }

  public static Message user(String content) {
    return new Message(Role.USER, content, "", List.of(), "");
  }

  public static Message assistant(String content) {
    return new Message(Role.ASSISTANT, content, "", List.of(), "");
  }

  /** An assistant message that called tools (its text may be empty). */
  public static Message assistant(String content, List<ToolCall> toolCalls) {
    return new Message(Role.ASSISTANT, content, "", toolCalls, "");
  }

  /** A tool's result, answering the call {@code toolCallId}. */
  public static Message tool(String toolCallId, String content) {
    return new Message(Role.TOOL, content, "", List.of(), toolCallId);
  }

  /** The same message with an author name. */
  public Message withName(String name) {
    return new Message(role, content, name, toolCalls, toolCallId);
  }
}
