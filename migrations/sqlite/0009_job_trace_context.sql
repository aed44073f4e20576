-- The W3C traceparent of the call that stored a turn, kept with its
-- augmentation job so the job's span continues that trace (NULL when
-- traces were not exported).

ALTER TABLE augmentation_jobs ADD COLUMN trace_parent TEXT;
