package io.memorid.client;

/** Why the model stopped. */
public enum FinishReason {
  /** A natural end or a stop sequence. */
  STOP,
  /** The token limit was reached. */
  LENGTH,
  /** The model asked for tool calls. */
  TOOL_CALLS,
  /** The provider filtered the content. */
  CONTENT_FILTER,
  /** Any other reason the provider gave. */
  OTHER,
  /** None given (yet), or one this client does not know. */
  UNSPECIFIED
}
