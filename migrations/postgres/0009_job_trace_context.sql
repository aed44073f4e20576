-- The W3C traceparent of the call that stored a turn, kept with its
-- augmentation job so the job's span continues that trace (NULL when
-- traces were not exported). The claim returns it.

ALTER TABLE augmentation_jobs ADD COLUMN trace_parent TEXT;

DROP FUNCTION memorid_claim_jobs(UUID, TIMESTAMPTZ, TIMESTAMPTZ, BIGINT);

CREATE FUNCTION memorid_claim_jobs(
    owner UUID, lease_end TIMESTAMPTZ, claimed_at TIMESTAMPTZ, wanted BIGINT
) RETURNS TABLE (job_id UUID, turn_id UUID, namespace TEXT, entity_id TEXT, attempts INTEGER,
                 trace_parent TEXT)
LANGUAGE plpgsql
SET enable_sort = off
AS $$
#variable_conflict use_column
BEGIN
    UPDATE augmentation_jobs SET status = 'pending', lease_owner = NULL, lease_until = NULL,
        updated_at = claimed_at
    WHERE status = 'running' AND lease_until < claimed_at;

    RETURN QUERY
    UPDATE augmentation_jobs SET status = 'running', attempts = attempts + 1,
        lease_owner = owner, lease_until = lease_end, updated_at = claimed_at
    WHERE job_id IN (
        SELECT job_id FROM augmentation_jobs
        WHERE status = 'pending' AND run_after <= claimed_at
        ORDER BY run_after LIMIT wanted
        FOR UPDATE SKIP LOCKED)
    RETURNING job_id, turn_id, namespace, entity_id, attempts, trace_parent;
END
$$;
