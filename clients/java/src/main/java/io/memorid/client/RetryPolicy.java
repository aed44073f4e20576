package io.memorid.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Opt-in retries ({@link MemoridClient.Builder#retry(RetryPolicy)}; off by default).
 *
 * <p>They apply to unary calls, to recall before any hit arrived, and to attribute (each turn has
 * an idempotency key and only the turns not yet answered are resent, so a turn is never stored
 * twice). A chat stream is never retried: memorid already retried its upstream before the first
 * token, and a stream that yielded must not be replayed.
 *
 * <p>The delay before attempt n+1 is {@code initialBackoff * multiplier^(n-1)}, capped at {@code
 * maxBackoff}, its upper half jittered. When the server sent a {@code RetryInfo} delay the client
 * waits at least that long, and does not retry at all when it is longer than {@code
 * maxRetryAfter}. Retries stop when the call's deadline would pass before the next attempt, when
 * its future is cancelled, or when the waiting thread is interrupted.
 */
public final class RetryPolicy {

  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final double multiplier;
  private final Duration maxRetryAfter;
  private final Set<Status.Code> retryOn;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.multiplier = b.multiplier;
    this.maxRetryAfter = b.maxRetryAfter;
    this.retryOn = Set.copyOf(b.retryOn);
  }

  /**
   * 4 attempts, 250 ms doubling to at most 8 s, on UNAVAILABLE and RESOURCE_EXHAUSTED, honouring
   * server delays up to 60 s.
   */
  public static RetryPolicy defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public int maxAttempts() {
    return maxAttempts;
  }

  public Duration initialBackoff() {
    return initialBackoff;
  }

  public Duration maxBackoff() {
    return maxBackoff;
  }

  public double multiplier() {
    return multiplier;
  }

  public Duration maxRetryAfter() {
    return maxRetryAfter;
  }

  public Set<Status.Code> retryOn() {
    return retryOn;
  }

  /**
   * How long to wait before the next attempt after attempt {@code attempt} (1-based) failed with
   * {@code error}; empty to give up.
   */
  public Optional<Duration> delayAfter(int attempt, MemoridException error) {
    if (attempt >= maxAttempts || !retryOn.contains(error.code())) {
      return Optional.empty();
    }
    double backoffNanos =
        Math.min(
            (double) maxBackoff.toNanos(),
            initialBackoff.toNanos() * Math.pow(multiplier, attempt - 1));
    long half = (long) (backoffNanos / 2);
    long delay = half + (half > 0 ? ThreadLocalRandom.current().nextLong(half + 1) : 0);
    Optional<Duration> asked = error.retryDelay();
    if (asked.isPresent()) {
      if (asked.get().compareTo(maxRetryAfter) > 0) {
        return Optional.empty();
      }
      delay = Math.max(delay, asked.get().toNanos());
    }
    return Optional.of(Duration.ofNanos(delay));
  }

  @Override
  public String toString() {
    return "RetryPolicy[maxAttempts=" + maxAttempts + ", initialBackoff=" + initialBackoff
        + ", maxBackoff=" + maxBackoff + ", multiplier=" + multiplier + ", maxRetryAfter="
        + maxRetryAfter + ", retryOn=" + retryOn + "]";
  }

  /** Builds a {@link RetryPolicy}. */
  public static final class Builder {
    private int maxAttempts = 4;
    private Duration initialBackoff = Duration.ofMillis(250);
    private Duration maxBackoff = Duration.ofSeconds(8);
    private double multiplier = 2.0;
    private Duration maxRetryAfter = Duration.ofSeconds(60);
    private Set<Status.Code> retryOn =
        EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED);

    private Builder() {}

    /** Attempts in all, the first one included; 1 means no retry. */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1");
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    public Builder initialBackoff(Duration backoff) {
      this.initialBackoff = requireNotNegative(backoff, "initialBackoff");
      return this;
    }

    public Builder maxBackoff(Duration backoff) {
      this.maxBackoff = requireNotNegative(backoff, "maxBackoff");
      return this;
    }

    public Builder multiplier(double multiplier) {
      if (!(multiplier >= 1.0)) {
        throw new IllegalArgumentException("multiplier must be at least 1");
      }
      this.multiplier = multiplier;
      return this;
    }

    /** A server asking to wait longer than this is not retried. */
    public Builder maxRetryAfter(Duration maxRetryAfter) {
      this.maxRetryAfter = requireNotNegative(maxRetryAfter, "maxRetryAfter");
      return this;
    }

    /** The status codes worth a retry (default UNAVAILABLE and RESOURCE_EXHAUSTED). */
    public Builder retryOn(Set<Status.Code> codes) {
      this.retryOn = Set.copyOf(codes);
      return this;
    }

    public RetryPolicy build() {
      return new RetryPolicy(this);
    }

    private static Duration requireNotNegative(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative()) {
        throw new IllegalArgumentException(name + " must not be negative");
      }
      return d;
    }
  }
}
