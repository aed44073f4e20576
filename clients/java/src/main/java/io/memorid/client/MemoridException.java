package io.memorid.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The base of every error a failed call raises, carrying what the server sent: the gRPC {@link
 * #code()}, the {@link #reason()} of its {@code google.rpc.ErrorInfo} (a stable UPPER_SNAKE name
 * such as {@code UPSTREAM_RATE_LIMITED}), the {@link #violations()} of its {@code BadRequest} and
 * the {@link #retryDelay()} of its {@code RetryInfo}.
 *
 * <p>Catch by meaning with the subclasses ({@link QuotaExceededException}, {@link
 * InvalidArgumentException}, {@link NotFoundException}, ...) or by code with {@link #code()}.
 * Unchecked, like gRPC's own {@code StatusRuntimeException}.
 */
public class MemoridException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final transient ErrorDetails details;

  /** An error of this code and message, without details (for tests and adapters). */
  public MemoridException(Status.Code code, String message) {
    this(ErrorDetails.of(code, message), null);
  }

  MemoridException(ErrorDetails details, Throwable cause) {
    super(label(details) + ": " + details.message(), cause);
    this.details = details;
  }

  private static String label(ErrorDetails details) {
    return details.reason().isEmpty() ? details.code().name() : details.reason();
  }

  /** The gRPC status code. */
  public Status.Code code() {
    return details.code();
  }

  /** The status message, as the server wrote it. */
  public String statusMessage() {
    return details.message();
  }

  /**
   * The {@code ErrorInfo} reason, e.g. {@code UPSTREAM_RATE_LIMITED}; empty when the status did
   * not come from memorid (e.g. memorid could not be reached).
   */
  public String reason() {
    return details.reason();
  }

  /** The {@code ErrorInfo} domain: {@code memorid} for memorid's own errors. */
  public String domain() {
    return details.domain();
  }

  /** The {@code ErrorInfo} metadata. */
  public Map<String, String> errorMetadata() {
    return details.metadata();
  }

  /** The bad request fields, from {@code BadRequest}; empty for other errors. */
  public List<FieldViolation> violations() {
    return details.violations();
  }

  /** How long the server asked to wait before retrying ({@code RetryInfo}), when it said. */
  public Optional<Duration> retryDelay() {
    return Optional.ofNullable(details.retryDelay());
  }

  ErrorDetails details() {
    return details;
  }
}
