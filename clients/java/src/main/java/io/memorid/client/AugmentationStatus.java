package io.memorid.client;

/**
 * Where an entity's background memory work stands.
 *
 * @param completed true when no awaited work is pending any more
 * @param pendingJobs awaited jobs still pending or running
 * @param deadJobs awaited jobs that failed for good
 */
public record AugmentationStatus(boolean completed, int pendingJobs, int deadJobs) {}
