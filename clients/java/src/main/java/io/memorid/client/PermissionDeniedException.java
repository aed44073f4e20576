package io.memorid.client;

/** PERMISSION_DENIED: the API key may not do this. */
public class PermissionDeniedException extends MemoridException {

  private static final long serialVersionUID = 1L;

  PermissionDeniedException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
