package io.memorid.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** What a failed call's status and its {@code grpc-status-details-bin} trailer said. */
record ErrorDetails(
    Status.Code code,
    String message,
    String reason,
    String domain,
    Map<String, String> metadata,
    List<FieldViolation> violations,
    Duration retryDelay) {

  ErrorDetails {
    metadata = Map.copyOf(metadata);
    violations = List.copyOf(violations);
  }

  static ErrorDetails of(Status.Code code, String message) {
    return new ErrorDetails(code, message, "", "", Map.of(), List.of(), null);
  }
}
