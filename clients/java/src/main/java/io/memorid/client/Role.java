package io.memorid.client;

/** The author of a message. */
public enum Role {
  SYSTEM,
  USER,
  ASSISTANT,
  TOOL,
  /** A role this client does not know (a newer server's), or none. */
  UNSPECIFIED
}
