package io.memorid.client;

/**
 * The parts a recall score is fused from, each in [0, 1].
 *
 * @param dense embedding similarity
 * @param lexical BM25 score, relative to a full match of the query
 * @param recency recency prior
 * @param mentions mention-count prior
 */
public record ScoreParts(double dense, double lexical, double recency, double mentions) {}
