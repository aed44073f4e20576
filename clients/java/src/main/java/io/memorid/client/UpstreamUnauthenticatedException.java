package io.memorid.client;

/** The upstream refused memorid's own credentials (reason {@code UPSTREAM_UNAUTHENTICATED}): an operator's problem, not the caller's. */
public class UpstreamUnauthenticatedException extends FailedPreconditionException {

  private static final long serialVersionUID = 1L;

  UpstreamUnauthenticatedException(ErrorDetails details, Throwable cause) {
    super(details, cause);
  }
}
