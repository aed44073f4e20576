package io.memorid.client;

/** memorid's database is unreachable or its pool exhausted (reason {@code STORAGE_UNAVAILABLE}). */
public class StorageUnavailableException extends UnavailableException {

  private static final long serialVersionUID = 1L;

  StorageUnavailableException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
