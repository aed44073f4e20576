package io.memorid.client;

/** INTERNAL: a bug or a broken invariant, in memorid or in this client. */
public class InternalException extends MemoridException {

  private static final long serialVersionUID = 1L;

  InternalException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
