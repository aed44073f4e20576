-- A finished job's row is deleted in the transaction that applies its
-- writes: nothing reads it again, and updating it to 'done' left a dead
-- row version and index entries behind for every turn.
DELETE FROM augmentation_jobs WHERE status = 'done';

-- Claims read pending jobs only, oldest first; leases that ran out are
-- found through their own index and handed back to the queue first.
DROP INDEX augmentation_jobs_ready;
CREATE INDEX augmentation_jobs_pending ON augmentation_jobs (run_after)
    WHERE status = 'pending';
CREATE INDEX augmentation_jobs_leased ON augmentation_jobs (lease_until)
    WHERE status = 'running';
