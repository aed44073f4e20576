package io.memorid.client;

import java.util.List;
import java.util.Objects;

/**
 * A finished turn that the caller ran against a model itself, for {@link
 * MemoridClient#attribute(List)}.
 *
 * @param attribution whose turn it is
 * @param messages its messages, oldest first; at least one
 * @param options its time, idempotency key, metadata and model
 */
public record AttributeTurn(
    Attribution attribution, List<Message> messages, AttributeOptions options) {

  public AttributeTurn {
    Objects.requireNonNull(attribution, "attribution");
    messages = List.copyOf(messages);
    options = options == null ? AttributeOptions.defaults() : options;
  }

  public static AttributeTurn of(Attribution attribution, List<Message> messages) {
    return new AttributeTurn(attribution, messages, AttributeOptions.defaults());
  }
}
