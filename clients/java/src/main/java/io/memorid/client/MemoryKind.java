package io.memorid.client;

/** What kind of memory a recall hit is. */
public enum MemoryKind {
  /** A short statement about the entity, extracted from its turns. */
  FACT,
  /** A stored message of a past turn. */
  MESSAGE
}
