-- New augmentation jobs wake the workers of every replica at once: each
-- inserting statement sends one notification on `memorid_jobs`, delivered
-- when its transaction commits (replicas LISTEN; polling stays the
-- fallback). SQLite serves one process, which wakes its workers directly.

CREATE FUNCTION memorid_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('memorid_jobs', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER augmentation_jobs_notify
    AFTER INSERT ON augmentation_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION memorid_notify_jobs();
