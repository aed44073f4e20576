package io.memorid.client;

/** RESOURCE_EXHAUSTED: the upstream is rate-limiting (reason {@code UPSTREAM_RATE_LIMITED}); {@link #retryDelay()} says how long it asked to wait, when it said. */
public class QuotaExceededException extends MemoridException {

  private static final long serialVersionUID = 1L;

  QuotaExceededException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
