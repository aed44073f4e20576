package io.memorid.examples;

import io.memorid.client.ChatResult;
import io.memorid.client.MemoridClient;
import io.memorid.client.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Many users chatting at once on one client, without a thread per user: {@code chatAsync} returns
 * a {@link CompletableFuture} per chat, and one channel multiplexes all the streams.
 */
public final class ConcurrentUsers {

  private ConcurrentUsers() {}

  public static void main(String[] args) {
    try (MemoridClient client = Env.client()) {
      for (ChatResult result : run(client, Env.model(), 100)) {
        System.out.println(result.turnId() + " " + result.text());
      }
    }
  }

  /** {@code users} chats at once, each for its own entity; the results in user order. */
  public static List<ChatResult> run(MemoridClient client, String model, int users) {
    List<CompletableFuture<ChatResult>> chats = new ArrayList<>();
    for (int n = 0; n < users; n++) {
      chats.add(client.attribution("user-" + n, "crowd-example")
          .chatAsync(model, List.of(Message.user("Hello, I am user " + n + "."))));
    }
    CompletableFuture.allOf(chats.toArray(CompletableFuture[]::new)).join();
    return chats.stream().map(CompletableFuture::join).toList();
  }
}
