package io.memorid.client;

/** The upstream model rejected the request (reason {@code UPSTREAM_REJECTED}: an HTTP 4xx other than 401, 403, 404 and 429). */
public class UpstreamRejectedException extends InvalidArgumentException {

  private static final long serialVersionUID = 1L;

  UpstreamRejectedException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
