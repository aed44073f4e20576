package io.memorid.client;

/**
 * Token usage of one turn, exactly as the upstream provider reported it.
 *
 * @param inputTokens prompt tokens, cached ones included
 * @param outputTokens completion tokens, reasoning ones included
 * @param cachedInputTokens prompt tokens served from the provider's cache
 * @param reasoningTokens completion tokens spent on reasoning, where reported
 */
public record Usage(int inputTokens, int outputTokens, int cachedInputTokens, int reasoningTokens) {}
