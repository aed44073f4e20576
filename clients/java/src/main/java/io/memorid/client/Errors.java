package io.memorid.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns a failed call's status and trailers into the most specific {@link MemoridException}.
 *
 * <p>memorid puts a {@code google.rpc.Status} in the {@code grpc-status-details-bin} trailer with
 * an {@code ErrorInfo} (domain {@code memorid}, a stable reason), a {@code BadRequest} for invalid
 * input and a {@code RetryInfo} for rate limits and outages.
 */
final class Errors {

  private Errors() {}

  /** The typed error for whatever a call or a future failed with. */
  static MemoridException from(Throwable error) {
    if (error instanceof MemoridException typed) {
      return typed;
    }
    if ((error instanceof CompletionException || error instanceof ExecutionException)
        && error.getCause() != null) {
      return from(error.getCause());
    }
    if (error instanceof CancellationException) {
      return from(Status.CANCELLED.withDescription("cancelled by the client"), null, error);
    }
    return from(Status.fromThrowable(error), Status.trailersFromThrowable(error), error);
  }

  static MemoridException from(Status status, Metadata trailers, Throwable cause) {
    Status.Code code = status.getCode();
    String message = status.getDescription();
    if (message == null || message.isEmpty()) {
      message = status.getCause() != null && status.getCause().getMessage() != null
          ? status.getCause().getMessage()
          : code.name();
    }
    String reason = "";
    String domain = "";
    Map<String, String> metadata = Map.of();
    List<FieldViolation> violations = new ArrayList<>();
    Duration retryDelay = null;
    com.google.rpc.Status details = null;
    if (trailers != null) {
      try {
        details = StatusProto.fromStatusAndTrailers(status, trailers);
      } catch (RuntimeException garbled) {
        // A garbled trailer must not hide the error itself.
        details = null;
      }
    }
    if (details != null) {
      if (!details.getMessage().isEmpty()) {
        message = details.getMessage();
      }
      for (Any any : details.getDetailsList()) {
        try {
          if (any.is(ErrorInfo.class)) {
            ErrorInfo info = any.unpack(ErrorInfo.class);
            reason = info.getReason();
            domain = info.getDomain();
            metadata = info.getMetadataMap();
          } else if (any.is(BadRequest.class)) {
            for (BadRequest.FieldViolation v : any.unpack(BadRequest.class).getFieldViolationsList()) {
              violations.add(new FieldViolation(v.getField(), v.getDescription()));
            }
          } else if (any.is(RetryInfo.class)) {
            RetryInfo retry = any.unpack(RetryInfo.class);
            if (retry.hasRetryDelay()) {
              retryDelay = Duration.ofSeconds(
                  retry.getRetryDelay().getSeconds(), retry.getRetryDelay().getNanos());
            }
          }
        } catch (InvalidProtocolBufferException garbled) {
          // One unreadable detail leaves the others.
        }
      }
    }
    if (code == Status.Code.CANCELLED && "Timeout expired".equals(message) && reason.isEmpty()) {
      // Workaround: tonic answers a call whose grpc-timeout passed before the response headers
      // with CANCELLED "Timeout expired" (racing the client's own DEADLINE_EXCEEDED); gRPC
      // defines that case as DEADLINE_EXCEEDED, so report it as such.
      code = Status.Code.DEADLINE_EXCEEDED;
    }
    ErrorDetails d =
        new ErrorDetails(code, message, reason, domain, metadata, violations, retryDelay);
    return create(d, cause);
  }

  static MemoridException create(ErrorDetails d, Throwable cause) {
    switch (d.reason()) {
      case "UPSTREAM_REJECTED":
        if (d.code() == Status.Code.INVALID_ARGUMENT) {
          return new UpstreamRejectedException(d, cause);
        }
        break;
      case "UPSTREAM_UNAVAILABLE":
        if (d.code() == Status.Code.UNAVAILABLE) {
          return new UpstreamUnavailableException(d, cause);
        }
        break;
      case "STORAGE_UNAVAILABLE":
        if (d.code() == Status.Code.UNAVAILABLE) {
          return new StorageUnavailableException(d, cause);
        }
        break;
      case "UPSTREAM_UNAUTHENTICATED":
        if (d.code() == Status.Code.FAILED_PRECONDITION) {
          return new UpstreamUnauthenticatedException(d, cause);
        }
        break;
      default:
        break;
    }
    switch (d.code()) {
      case INVALID_ARGUMENT:
      case OUT_OF_RANGE:
        return new InvalidArgumentException(d, cause);
      case UNAUTHENTICATED:
        return new UnauthenticatedException(d, cause);
      case PERMISSION_DENIED:
        return new PermissionDeniedException(d, cause);
      case NOT_FOUND:
        return new NotFoundException(d, cause);
      case RESOURCE_EXHAUSTED:
        return new QuotaExceededException(d, cause);
      case UNAVAILABLE:
        return new UnavailableException(d, cause);
      case DEADLINE_EXCEEDED:
        return new DeadlineExceededException(d, cause);
      case FAILED_PRECONDITION:
        return new FailedPreconditionException(d, cause);
      case CANCELLED:
        return new CancelledException(d, cause);
      case INTERNAL:
        return new InternalException(d, cause);
      default:
        return new MemoridException(d, cause);
    }
  }

  /** A client-side error of this code (no server status behind it). */
  static MemoridException local(Status.Code code, String message) {
    return create(ErrorDetails.of(code, message), null);
  }
}
