-- A claim of augmentation jobs is one statement: leases that ran out go
-- back to the queue, then up to `wanted` ready jobs are leased to `owner`,
-- oldest first, skipping jobs another replica is claiming at that moment.
--
-- `enable_sort = off` makes the claim walk the pending index in order and
-- stop after `wanted` jobs. With statistics older than a backlog (a queue
-- that filled since the last ANALYZE), the planner read every pending job
-- and sorted them instead: 4 ms a claim at 10,000 pending, growing with
-- the backlog.

CREATE FUNCTION memorid_claim_jobs(
    owner UUID, lease_end TIMESTAMPTZ, claimed_at TIMESTAMPTZ, wanted BIGINT
) RETURNS TABLE (job_id UUID, turn_id UUID, namespace TEXT, entity_id TEXT, attempts INTEGER)
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
    RETURNING job_id, turn_id, namespace, entity_id, attempts;
END
$$;
