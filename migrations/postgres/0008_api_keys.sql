-- API keys created with `memorid keys create`. Only a key's SHA-256 is
-- stored; the key itself is shown once, when it is created. A revoked key
-- keeps its row (revoked_at set), so `memorid keys list` can show it and a
-- table that ever held a key keeps auth on.
CREATE TABLE api_keys (
    key_id                UUID PRIMARY KEY,
    name                  TEXT NOT NULL,
    namespace             TEXT NOT NULL,
    key_sha256            TEXT NOT NULL UNIQUE,
    requests_per_second   DOUBLE PRECISION,
    max_concurrent_calls  INTEGER,
    created_at            TIMESTAMPTZ NOT NULL,
    last_used_at          TIMESTAMPTZ,
    revoked_at            TIMESTAMPTZ
);

-- A name picks one key among the active ones (for revoke).
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
