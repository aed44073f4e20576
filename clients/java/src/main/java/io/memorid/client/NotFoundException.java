package io.memorid.client;

/** NOT_FOUND: the session or fact does not exist, or (reason {@code UPSTREAM_NOT_FOUND}) the model. */
public class NotFoundException extends MemoridException {

  private static final long serialVersionUID = 1L;

  NotFoundException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
