package io.memorid.client;

import java.util.List;

/**
 * A page of an entity's facts, newest first.
 *
 * @param facts the facts
 * @param nextPageToken pass it to get the next page; empty on the last page
 */
public record FactPage(List<Fact> facts, String nextPageToken) {
  public FactPage {
    facts = List.copyOf(facts);
  }

  public boolean hasNextPage() {
    return !nextPageToken.isEmpty();
  }
}
