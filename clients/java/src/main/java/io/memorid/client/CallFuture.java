package io.memorid.client;

import java.util.concurrent.CompletableFuture;

/**
 * A {@link CompletableFuture} whose {@link #cancel(boolean)} also cancels the gRPC call (or the
 * retry loop) behind it, so memorid stops working on a call nobody waits for any more.
 */
final class CallFuture<T> extends CompletableFuture<T> {

  private volatile Runnable onCancel = () -> {};

  /** Runs {@code action} when this future is cancelled (at once if it already was). */
  void onCancel(Runnable action) {
    onCancel = action;
    if (isCancelled()) {
      action.run();
    }
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    boolean cancelled = super.cancel(mayInterruptIfRunning);
    if (cancelled) {
      onCancel.run();
    }
    return cancelled;
  }

  @Override
  public <U> CompletableFuture<U> newIncompleteFuture() {
    return new CompletableFuture<>();
  }
}
