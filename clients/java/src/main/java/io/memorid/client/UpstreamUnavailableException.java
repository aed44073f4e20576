package io.memorid.client;

/** The upstream model failed (reason {@code UPSTREAM_UNAVAILABLE}: a 5xx, a refused connection, or a stream cut off or errored mid-way). */
public class UpstreamUnavailableException extends UnavailableException {

  private static final long serialVersionUID = 1L;

  UpstreamUnavailableException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
