package io.memorid.client;

/** UNAVAILABLE: memorid, its database or its upstream cannot be reached right now; retrying later may help. Without a {@link #reason()}, memorid itself was unreachable. */
public class UnavailableException extends MemoridException {

  private static final long serialVersionUID = 1L;

  UnavailableException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
