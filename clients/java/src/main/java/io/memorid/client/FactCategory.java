package io.memorid.client;

/** What a fact is about. */
public enum FactCategory {
  PREFERENCE,
  ATTRIBUTE,
  SKILL,
  EVENT,
  RELATIONSHIP,
  RULE,
  OTHER,
  UNSPECIFIED
}
