package io.memorid.client;

/** Where a stored turn stands. */
public enum TurnStatus {
  /** The upstream is still answering. */
  STREAMING,
  /** The turn completed and its answer is stored. */
  COMPLETED,
  /** The stream ended early (client gone, deadline, upstream error); what had arrived is stored. */
  INTERRUPTED,
  /** The upstream failed before answering. */
  FAILED,
  UNSPECIFIED
}
