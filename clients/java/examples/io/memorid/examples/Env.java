package io.memorid.examples;

import io.memorid.client.MemoridClient;

/** What the examples' main methods read from the environment. */
final class Env {

  private Env() {}

  /** A client of {@code MEMORID_TARGET} (default localhost:50051) with {@code MEMORID_API_KEY}. */
  static MemoridClient client() {
    MemoridClient.Builder builder =
        MemoridClient.builder(System.getenv().getOrDefault("MEMORID_TARGET", "localhost:50051"));
    String key = System.getenv("MEMORID_API_KEY");
    if (key != null && !key.isEmpty()) {
      builder.apiKey(key);
    }
    return builder.build();
  }

  /** {@code MEMORID_MODEL}, default {@code openai/gpt-4o-mini}. */
  static String model() {
    return System.getenv().getOrDefault("MEMORID_MODEL", "openai/gpt-4o-mini");
  }
}
