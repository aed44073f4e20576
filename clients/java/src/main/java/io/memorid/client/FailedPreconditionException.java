package io.memorid.client;

/** FAILED_PRECONDITION: the request cannot be served in the server's current state. */
public class FailedPreconditionException extends MemoridException {

  private static final long serialVersionUID = 1L;

  FailedPreconditionException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
