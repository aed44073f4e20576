package io.memorid.client;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.memorid.client.internal.gen.memori.v1.ChatRequest;
import io.memorid.client.internal.gen.memori.v1.ChatResponse;
import java.lang.ref.Cleaner;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The events of one chat, as memorid mirrors them: one {@link ChatEvent.Started}, a {@link
 * ChatEvent.Delta} for each piece of the answer as soon as the upstream sent it, then one {@link
 * ChatEvent.Completed}.
 *
 * <pre>{@code
 * try (ChatStream stream = mem.chat("openai/gpt-4o-mini", List.of(Message.user("Hi")))) {
 *   stream.textStream().forEach(System.out::print);
 * }
 * }</pre>
 *
 * <p>Read it once, from one thread: iterate it ({@code for (ChatEvent e : stream)}), take a
 * {@link #stream()}, or {@link #collect()} the whole turn. Reading blocks until the next event
 * arrives; the client asks memorid for one message at a time, so a slow reader slows the stream
 * rather than buffering it. An error before the first event is thrown by the first read (or by
 * {@link #start()}, to fail a request cleanly before answering it); an error mid-stream is thrown
 * after the deltas already read. Every error is a {@link MemoridException}.
 *
 * <p>{@link #close()} (from any thread) cancels the call if it is still running, and memorid stops
 * the upstream request at once, storing what had arrived as an interrupted turn. Use
 * try-with-resources; a stream read to its end needs no closing. A stream dropped unread is
 * cancelled when it is garbage-collected, which may be much later. A chat is never retried.
 */
public final class ChatStream implements Iterable<ChatEvent>, Iterator<ChatEvent>, AutoCloseable {

  private static final Cleaner CLEANER = Cleaner.create();

  /** The call's end, as the listener saw it. */
  private record Closed(Status status, Metadata trailers) {}

  private final ClientCall<ChatRequest, ChatResponse> call;
  private final BlockingQueue<Object> inbox;
  private final ChatAccumulator acc = new ChatAccumulator();
  private final Cleaner.Cleanable cleanable;
  private ChatEvent next;
  private boolean finished;
  private volatile boolean cancelled;

  private ChatStream(ClientCall<ChatRequest, ChatResponse> call, BlockingQueue<Object> inbox) {
    this.call = call;
    this.inbox = inbox;
    // Registered with the call and the queue only, never `this`, so an abandoned stream can be
    // collected and its call cancelled.
    this.cleanable =
        CLEANER.register(this, () -> call.cancel("the chat stream was dropped unread", null));
  }

  static ChatStream start(ClientCall<ChatRequest, ChatResponse> call, ChatRequest request) {
    BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    call.start(
        new ClientCall.Listener<ChatResponse>() {
          @Override
          public void onMessage(ChatResponse message) {
            inbox.add(message);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            inbox.add(new Closed(status, trailers));
          }
        },
        new Metadata());
    ChatStream stream = new ChatStream(call, inbox);
    call.sendMessage(request);
    call.halfClose();
    call.request(1);
    return stream;
  }

  /**
   * Waits for the {@code started} event (the user's messages are stored and the upstream answered)
   * and returns it; iteration still yields it first. Throws the error of a chat that failed before
   * its first token.
   */
  public ChatEvent.Started start() {
    if (acc.started() == null && !hasNext()) {
      throw Errors.local(Status.Code.INTERNAL, "the chat stream ended before it started");
    }
    if (acc.started() == null) {
      throw Errors.local(Status.Code.INTERNAL, "the chat stream did not begin with started");
    }
    return acc.started();
  }

  /** This stream itself: it can be iterated once. */
  @Override
  public Iterator<ChatEvent> iterator() {
    return this;
  }

  @Override
  public boolean hasNext() {
    if (next != null) {
      return true;
    }
    while (!finished) {
      Object item;
      try {
        item = inbox.take();
      } catch (InterruptedException e) {
        close();
        Thread.currentThread().interrupt();
        throw Errors.local(Status.Code.CANCELLED, "interrupted while reading a chat stream");
      }
      if (item instanceof ChatResponse response) {
        call.request(1);
        Optional<ChatEvent> event = Convert.chatEvent(response);
        if (event.isPresent()) {
          acc.add(event.get());
          next = event.get();
          return true;
        }
        continue;
      }
      finished = true;
      cleanable.clean();
      Closed closed = (Closed) item;
      if (closed.status().isOk()) {
        if (acc.completed() == null) {
          throw Errors.local(
              Status.Code.INTERNAL, "the chat stream ended without a completed event");
        }
        return false;
      }
      if (cancelled) {
        return false;
      }
      throw Errors.from(
          closed.status(), closed.trailers(), closed.status().asRuntimeException(closed.trailers()));
    }
    return false;
  }

  @Override
  public ChatEvent next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the chat stream has ended");
    }
    ChatEvent event = next;
    next = null;
    return event;
  }

  /** The events as a sequential {@link Stream}; closing it closes this chat stream. */
  public Stream<ChatEvent> stream() {
    Spliterator<ChatEvent> spliterator =
        Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL);
    return StreamSupport.stream(spliterator, false).onClose(this::close);
  }

  /** Only the answer's text, piece by piece, as it arrives. */
  public Stream<String> textStream() {
    return stream()
        .filter(ChatEvent.Delta.class::isInstance)
        .map(event -> ((ChatEvent.Delta) event).text())
        .filter(text -> !text.isEmpty());
  }

  /** Reads the stream to its end and returns the whole turn. */
  public ChatResult collect() {
    while (hasNext()) {
      next();
    }
    if (acc.completed() == null) {
      throw Errors.local(Status.Code.CANCELLED, "the chat stream was closed before it completed");
    }
    return acc.result();
  }

  /** The {@code started} event, once it was read. */
  public Optional<ChatEvent.Started> started() {
    return Optional.ofNullable(acc.started());
  }

  /** The final event (turn id, finish reason, usage), once the stream completed. */
  public Optional<ChatEvent.Completed> completed() {
    return Optional.ofNullable(acc.completed());
  }

  /** The answer's text read so far. */
  public String text() {
    return acc.text();
  }

  /**
   * Cancels the call if it is still running (memorid then stops the upstream request); after it,
   * iteration ends. Safe from any thread, and more than once.
   */
  @Override
  public void close() {
    if (!cancelled) {
      cancelled = true;
      call.cancel(Calls.CANCELLED_BY_CLIENT, null);
    }
  }
}
