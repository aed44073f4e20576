package io.memorid.client;

import java.time.Instant;

/**
 * A stored message of a past turn, as recall returns it.
 *
 * @param turnId the turn it belongs to
 * @param sessionId that turn's session
 * @param role who wrote it
 * @param content its text
 * @param occurredAt when the turn happened
 */
public record MessageHit(
    String turnId, String sessionId, Role role, String content, Instant occurredAt) {}
