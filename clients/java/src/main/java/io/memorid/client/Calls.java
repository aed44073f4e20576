package io.memorid.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.memorid.client.internal.gen.memori.v1.AttributeRequest;
import io.memorid.client.internal.gen.memori.v1.AttributeResponse;
import io.memorid.client.internal.gen.memori.v1.ChatRequest;
import io.memorid.client.internal.gen.memori.v1.ChatResponse;
import io.memorid.client.internal.gen.memori.v1.ChatServiceGrpc;
import io.memorid.client.internal.gen.memori.v1.MemoryServiceGrpc;
import io.memorid.client.internal.gen.memori.v1.RecallRequest;
import io.memorid.client.internal.gen.memori.v1.RecallResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Every call the client makes, on one channel: unary calls and recall under the retry policy,
 * attribute with resends of unanswered turns only, chat streams never retried.
 *
 * <p>Calls go through {@link ClientCall} directly rather than the generated stubs' blocking
 * iterators, so that a stream can be cancelled from any thread, reads with flow control (one
 * message requested at a time) and every failure passes through {@link Errors}.
 */
final class Calls {

  /** What every chat and unary call is cancelled with when the caller gives up. */
  static final String CANCELLED_BY_CLIENT = "cancelled by the client";

  private static final MethodDescriptor<byte[], byte[]> HEALTH_CHECK =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("grpc.health.v1.Health/Check")
          .setRequestMarshaller(BytesMarshaller.INSTANCE)
          .setResponseMarshaller(BytesMarshaller.INSTANCE)
          .build();

  private final Channel channel;
  private final RetryPolicy retry;
  private final ScheduledExecutorService timer;
  private volatile boolean closed;
  /** How each retry now waiting for its timer gives up, for {@link #close()}. */
  private final Set<Runnable> waitingRetries = ConcurrentHashMap.newKeySet();

  Calls(Channel channel, RetryPolicy retry, ScheduledExecutorService timer) {
    this.channel = channel;
    this.retry = retry;
    this.timer = timer;
  }

  /**
   * No retry starts after this: a call failing from now on fails for good (the client is closing,
   * so its channel refuses every new call).
   */
  void close() {
    closed = true;
    for (Runnable giveUp : waitingRetries) {
      if (waitingRetries.remove(giveUp)) {
        giveUp.run();
      }
    }
  }

  static Deadline deadline(Duration timeout) {
    return timeout == null ? null : Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static CallOptions options(Deadline deadline) {
    return deadline == null ? CallOptions.DEFAULT : CallOptions.DEFAULT.withDeadline(deadline);
  }

  // --- blocking ---------------------------------------------------------------------------------

  /**
   * Waits for {@code future}. A failure is thrown as a fresh exception of the same type, with the
   * caller's stack trace (the original, from a gRPC thread, is its cause); an interrupt cancels
   * the call and keeps the thread's interrupt flag.
   */
  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      MemoridException error = Errors.from(e.getCause());
      throw Errors.create(error.details(), error);
    } catch (CancellationException e) {
      throw Errors.local(Status.Code.CANCELLED, CANCELLED_BY_CLIENT);
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw Errors.local(Status.Code.CANCELLED, "interrupted while waiting for memorid");
    }
  }

  /**
   * {@code source} mapped by {@code convert}, as a future whose cancellation still reaches the call
   * behind {@code source} ({@code thenApply} would cut that link).
   */
  static <A, B> CompletableFuture<B> map(CompletableFuture<A> source, Function<A, B> convert) {
    CallFuture<B> mapped = new CallFuture<>();
    mapped.onCancel(() -> source.cancel(false));
    source.whenComplete(
        (value, failure) -> {
          if (failure != null) {
            mapped.completeExceptionally(failure);
            return;
          }
          try {
            mapped.complete(convert.apply(value));
          } catch (RuntimeException e) {
            mapped.completeExceptionally(e);
          }
        });
    return mapped;
  }

  // --- retries ----------------------------------------------------------------------------------

  /** One attempt of a call, given what is left of the call's deadline. */
  interface Attempt<T> {
    CompletableFuture<T> start(Deadline deadline);
  }

  /** Carries an error out of the retry loop without retrying it (a stream that yielded). */
  static final class NoRetry extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient MemoridException error;

    NoRetry(MemoridException error) {
      super(error.getMessage(), null, false, false);
      this.error = error;
    }
  }

  /**
   * Runs {@code attempt} until it succeeds, the policy gives up, the overall deadline ({@code
   * timeout} from now) would pass before the next attempt, or the returned future is cancelled.
   */
  <T> CompletableFuture<T> retrying(Duration timeout, Attempt<T> attempt) {
    Deadline deadline = deadline(timeout);
    CallFuture<T> result = new CallFuture<>();
    run(result, attempt, deadline, 1);
    return result;
  }

  private <T> void run(CallFuture<T> result, Attempt<T> attempt, Deadline deadline, int n) {
    if (result.isDone()) {
      return;
    }
    CompletableFuture<T> current = attempt.start(deadline);
    result.onCancel(() -> current.cancel(false));
    current.whenComplete(
        (value, failure) -> {
          if (failure == null) {
            result.complete(value);
            return;
          }
          if (failure instanceof NoRetry stop) {
            result.completeExceptionally(stop.error);
            return;
          }
          MemoridException error = Errors.from(failure);
          Duration delay = retry == null ? null : retry.delayAfter(n, error).orElse(null);
          if (delay == null
              || closed
              || result.isDone()
              || (deadline != null
                  && deadline.timeRemaining(TimeUnit.NANOSECONDS) <= delay.toNanos())) {
            result.completeExceptionally(error);
            return;
          }
          // The failure stands if the client closes before the next attempt.
          Runnable giveUp = () -> result.completeExceptionally(error);
          waitingRetries.add(giveUp);
          ScheduledFuture<?> next;
          try {
            next =
                timer.schedule(
                    () -> {
                      if (waitingRetries.remove(giveUp)) {
                        run(result, attempt, deadline, n + 1);
                      }
                    },
                    delay.toNanos(),
                    TimeUnit.NANOSECONDS);
          } catch (RejectedExecutionException stopped) {
            waitingRetries.remove(giveUp);
            giveUp.run();
            return;
          }
          result.onCancel(
              () -> {
                next.cancel(false);
                waitingRetries.remove(giveUp);
              });
          if (closed && waitingRetries.remove(giveUp)) {
            giveUp.run(); // the client closed while this retry was being scheduled
          }
        });
  }

  // --- unary ------------------------------------------------------------------------------------

  /** A unary call under the retry policy, its response converted by {@code convert}. */
  <Req, Resp, T> CompletableFuture<T> unary(
      MethodDescriptor<Req, Resp> method, Req request, Duration timeout, Function<Resp, T> convert) {
    return retrying(timeout, deadline -> unaryOnce(method, request, deadline, convert));
  }

  private <Req, Resp, T> CompletableFuture<T> unaryOnce(
      MethodDescriptor<Req, Resp> method, Req request, Deadline deadline, Function<Resp, T> convert) {
    ClientCall<Req, Resp> call = channel.newCall(method, options(deadline));
    CallFuture<T> future = new CallFuture<>();
    call.start(
        new ClientCall.Listener<Resp>() {
          private Resp response;

          @Override
          public void onMessage(Resp message) {
            response = message;
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            if (!status.isOk()) {
              future.completeExceptionally(Errors.from(status, trailers, status.asRuntimeException(trailers)));
            } else if (response == null) {
              future.completeExceptionally(
                  Errors.local(Status.Code.INTERNAL, "memorid closed a unary call without an answer"));
            } else {
              try {
                future.complete(convert.apply(response));
              } catch (RuntimeException e) {
                future.completeExceptionally(e);
              }
            }
          }
        },
        new Metadata());
    future.onCancel(() -> call.cancel(CANCELLED_BY_CLIENT, null));
    call.sendMessage(request);
    call.halfClose();
    call.request(2);
    return future;
  }

  /** The health check: true when memorid reports SERVING. Never retried. */
  CompletableFuture<Boolean> health(Duration timeout) {
    return unaryOnce(HEALTH_CHECK, new byte[0], deadline(timeout), Calls::isServing)
        .exceptionally(failure -> false);
  }

  /**
   * {@code grpc.health.v1.HealthCheckResponse.status == SERVING}, read from its wire bytes (field
   * 1, a varint; SERVING is 1), so the client needs no health-checking package for one enum.
   */
  static boolean isServing(byte[] payload) {
    return payload.length >= 2 && payload[0] == 0x08 && payload[1] == 0x01;
  }

  // --- recall -----------------------------------------------------------------------------------

  /** Recall's hits, collected; retried only while no hit has arrived. */
  CompletableFuture<List<RecallHit>> recall(RecallRequest request, Duration timeout) {
    return retrying(timeout, deadline -> recallOnce(request, deadline));
  }

  private CompletableFuture<List<RecallHit>> recallOnce(RecallRequest request, Deadline deadline) {
    ClientCall<RecallRequest, RecallResponse> call =
        channel.newCall(MemoryServiceGrpc.getRecallMethod(), options(deadline));
    CallFuture<List<RecallHit>> future = new CallFuture<>();
    List<RecallHit> hits = new ArrayList<>();
    call.start(
        new ClientCall.Listener<RecallResponse>() {
          @Override
          public void onMessage(RecallResponse message) {
            hits.add(Convert.recallHit(message));
            call.request(1);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            if (status.isOk()) {
              future.complete(List.copyOf(hits));
              return;
            }
            MemoridException error = Errors.from(status, trailers, status.asRuntimeException(trailers));
            // A stream that yielded is never retried.
            future.completeExceptionally(hits.isEmpty() ? error : new NoRetry(error));
          }
        },
        new Metadata());
    future.onCancel(() -> call.cancel(CANCELLED_BY_CLIENT, null));
    call.sendMessage(request);
    call.halfClose();
    call.request(1);
    return future;
  }

  // --- attribute --------------------------------------------------------------------------------

  /**
   * Sends the turns in one stream and returns their results in order. Under the retry policy an
   * attempt resends only the turns not answered yet, under the same idempotency keys, so no turn
   * is stored twice.
   */
  CompletableFuture<List<AttributeResult>> attribute(
      List<AttributeRequest> requests, Duration timeout) {
    Map<String, AttributeResult> results = new ConcurrentHashMap<>();
    return retrying(timeout, deadline -> attributeOnce(requests, results, deadline));
  }

  private CompletableFuture<List<AttributeResult>> attributeOnce(
      List<AttributeRequest> requests, Map<String, AttributeResult> results, Deadline deadline) {
    List<AttributeRequest> pending = new ArrayList<>();
    for (AttributeRequest r : requests) {
      if (!results.containsKey(r.getIdempotencyKey())) {
        pending.add(r);
      }
    }
    CallFuture<List<AttributeResult>> future = new CallFuture<>();
    if (pending.isEmpty()) {
      future.complete(inOrder(requests, results));
      return future;
    }
    ClientCall<AttributeRequest, AttributeResponse> call =
        channel.newCall(MemoryServiceGrpc.getAttributeMethod(), options(deadline));
    Object sending = new Object();
    int[] sent = {0};
    boolean[] halfClosed = {false};
    Runnable pump =
        () -> {
          synchronized (sending) {
            while (!halfClosed[0] && sent[0] < pending.size() && call.isReady()) {
              call.sendMessage(pending.get(sent[0]++));
            }
            if (!halfClosed[0] && sent[0] == pending.size()) {
              halfClosed[0] = true;
              call.halfClose();
            }
          }
        };
    call.start(
        new ClientCall.Listener<AttributeResponse>() {
          @Override
          public void onMessage(AttributeResponse message) {
            AttributeResult result = Convert.attributeResult(message);
            results.put(result.idempotencyKey(), result);
            call.request(1);
          }

          @Override
          public void onReady() {
            pump.run();
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            if (!status.isOk()) {
              future.completeExceptionally(Errors.from(status, trailers, status.asRuntimeException(trailers)));
              return;
            }
            try {
              future.complete(inOrder(requests, results));
            } catch (MemoridException e) {
              future.completeExceptionally(e);
            }
          }
        },
        new Metadata());
    future.onCancel(() -> call.cancel(CANCELLED_BY_CLIENT, null));
    call.request(1);
    pump.run();
    return future;
  }

  private static List<AttributeResult> inOrder(
      List<AttributeRequest> requests, Map<String, AttributeResult> results) {
    List<AttributeResult> ordered = new ArrayList<>(requests.size());
    for (AttributeRequest r : requests) {
      AttributeResult result = results.get(r.getIdempotencyKey());
      if (result == null) {
        throw Errors.local(
            Status.Code.INTERNAL,
            "memorid answered " + results.size() + " of " + requests.size() + " turns");
      }
      ordered.add(result);
    }
    return ordered;
  }

  // --- chat -------------------------------------------------------------------------------------

  /** Starts a chat whose events the caller reads with a blocking {@link ChatStream}. */
  ChatStream chat(ChatRequest request, Duration timeout) {
    ClientCall<ChatRequest, ChatResponse> call =
        channel.newCall(ChatServiceGrpc.getChatMethod(), options(deadline(timeout)));
    return ChatStream.start(call, request);
  }

  /**
   * Starts a chat whose events go to {@code observer} (may be null) as they arrive; the returned
   * future completes with the whole turn, or fails with the error the observer was given.
   * Cancelling it cancels the call. Never retried.
   */
  CompletableFuture<ChatResult> chatAsync(
      ChatRequest request, Duration timeout, StreamObserver<ChatEvent> observer) {
    ClientCall<ChatRequest, ChatResponse> call =
        channel.newCall(ChatServiceGrpc.getChatMethod(), options(deadline(timeout)));
    CallFuture<ChatResult> future = new CallFuture<>();
    ChatAccumulator acc = new ChatAccumulator();
    call.start(
        new ClientCall.Listener<ChatResponse>() {
          private Throwable observerFailed;

          @Override
          public void onMessage(ChatResponse message) {
            if (observerFailed != null) {
              return;
            }
            ChatEvent event = Convert.chatEvent(message).orElse(null);
            if (event != null) {
              acc.add(event);
              if (observer != null) {
                try {
                  observer.onNext(event);
                } catch (Throwable t) {
                  // The observer gave up: so does the call, and the future says why.
                  observerFailed = t;
                  call.cancel("the chat observer failed", t);
                  future.completeExceptionally(t);
                  return;
                }
              }
            }
            call.request(1);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            if (observerFailed != null) {
              return;
            }
            MemoridException error = null;
            if (!status.isOk()) {
              error = Errors.from(status, trailers, status.asRuntimeException(trailers));
            } else if (acc.completed() == null) {
              error = Errors.local(
                  Status.Code.INTERNAL, "the chat stream ended without a completed event");
            }
            if (error != null) {
              if (observer != null) {
                observer.onError(error);
              }
              future.completeExceptionally(error);
              return;
            }
            if (observer != null) {
              observer.onCompleted();
            }
            future.complete(acc.result());
          }
        },
        new Metadata());
    future.onCancel(() -> call.cancel(CANCELLED_BY_CLIENT, null));
    call.sendMessage(request);
    call.halfClose();
    call.request(1);
    return future;
  }

  /** Raw bytes in and out, for the health check. */
  private enum BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("reading a health answer").withCause(e).asRuntimeException();
      }
    }
  }
}
