package io.memorid.client;

/** UNAUTHENTICATED: the API key is missing or unknown. */
public class UnauthenticatedException extends MemoridException {

  private static final long serialVersionUID = 1L;

  UnauthenticatedException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
