package io.memorid.client;

/**
 * A turn was durably stored, or had been already.
 *
 * @param idempotencyKey the turn's idempotency key (the one the client made up, if none was given)
 * @param turnId the stored turn
 * @param sessionId the session it belongs to
 * @param duplicate true when the key had been stored before and nothing new was written
 */
public record AttributeResult(
    String idempotencyKey, String turnId, String sessionId, boolean duplicate) {}
