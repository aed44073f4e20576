package io.memorid.client;

import java.util.Objects;

/**
 * Whom a turn or a memory belongs to: the entity (usually an end user), the process (the agent or
 * app that is talking) and the session (one conversation thread). Together with the caller's
 * namespace, which memorid takes from the API key, it scopes every read and write.
 *
 * @param entityId who the memory is about; required, at most 128 bytes
 * @param processId which agent or app is talking; empty for none
 * @param sessionId one conversation thread of the entity; empty starts a new session on chat and
 *     attribute
 */
public record Attribution(String entityId, String processId, String sessionId) {

  public Attribution {
    Objects.requireNonNull(entityId, "entityId");
    processId = processId == null ? "" : processId;
    sessionId = sessionId == null ? "" : sessionId;
  }

  /** The entity alone, no process and no session. */
  public static Attribution of(String entityId) {
    return new Attribution(entityId, "", "");
  }

  /** The entity and the process talking, no session. */
  public static Attribution of(String entityId, String processId) {
    return new Attribution(entityId, processId, "");
  }

  public Attribution withProcess(String processId) {
    return new Attribution(entityId, processId, sessionId);
  }

  public Attribution withSession(String sessionId) {
    return new Attribution(entityId, processId, sessionId);
  }

  /** The entity alone: what the entity-wide calls (list, delete, forget, wait) send. */
  Attribution entityOnly() {
    return processId.isEmpty() && sessionId.isEmpty() ? this : of(entityId);
  }
}
