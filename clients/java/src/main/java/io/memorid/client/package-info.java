/**
 * The Java client of memorid, the gRPC memory service for LLM applications.
 *
 * <p>Start with {@link io.memorid.client.MemoridClient#builder(String)}, bind an entity with
 * {@link io.memorid.client.MemoridClient#attribution(String, String)}, and chat, recall, attribute
 * and manage memories through the {@link io.memorid.client.AttributionScope}. Every value in and
 * out is a plain Java record or enum of this package; failures are {@link
 * io.memorid.client.MemoridException} subclasses. The generated protobuf and gRPC classes under
 * {@code io.memorid.client.internal.gen} are an implementation detail: nothing here takes or
 * returns them.
 */
package io.memorid.client;
