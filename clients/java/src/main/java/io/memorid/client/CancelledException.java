package io.memorid.client;

/** CANCELLED: the call was cancelled (by {@code close()}, a cancelled future, an interrupted thread, or the server). */
public class CancelledException extends MemoridException {

  private static final long serialVersionUID = 1L;

  CancelledException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
