package io.memorid.client;

/** What {@code forgetEntity} deleted. */
public record ForgetResult(
    long sessionsDeleted,
    long turnsDeleted,
    long messagesDeleted,
    long factsDeleted,
    long jobsDeleted) {}
