package io.memorid.client;

/** DEADLINE_EXCEEDED: the call's deadline passed, or the upstream timed out. */
public class DeadlineExceededException extends MemoridException {

  private static final long serialVersionUID = 1L;

  DeadlineExceededException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
