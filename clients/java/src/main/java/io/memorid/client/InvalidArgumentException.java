package io.memorid.client;

/** INVALID_ARGUMENT: the request was malformed; {@link #violations()} name the fields. */
public class InvalidArgumentException extends MemoridException {

  private static final long serialVersionUID = 1L;

  InvalidArgumentException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
