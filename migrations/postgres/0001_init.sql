-- memorid schema, PostgreSQL. Every memory row carries (namespace, entity_id)
-- so that every query can be scoped by both; child rows cascade from their
-- entity so that forgetting an entity leaves nothing behind.

CREATE TABLE namespaces (
    name        TEXT PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE entities (
    namespace   TEXT NOT NULL REFERENCES namespaces (name) ON DELETE CASCADE,
    entity_id   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace, entity_id)
);

CREATE TABLE processes (
    namespace   TEXT NOT NULL REFERENCES namespaces (name) ON DELETE CASCADE,
    process_id  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace, process_id)
);

CREATE TABLE sessions (
    namespace   TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    process_id  TEXT,
    turn_count  BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace, entity_id, session_id),
    FOREIGN KEY (namespace, entity_id) REFERENCES entities (namespace, entity_id) ON DELETE CASCADE
);

CREATE TABLE turns (
    turn_id             UUID PRIMARY KEY,
    namespace           TEXT NOT NULL,
    entity_id           TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    process_id          TEXT,
    seq                 BIGINT NOT NULL,
    source              TEXT NOT NULL CHECK (source IN ('chat', 'attribute')),
    status              TEXT NOT NULL CHECK (status IN ('streaming', 'completed', 'interrupted', 'failed')),
    model               TEXT,
    finish_reason       TEXT,
    input_tokens        BIGINT,
    output_tokens       BIGINT,
    cached_input_tokens BIGINT,
    reasoning_tokens    BIGINT,
    idempotency_key     TEXT,
    metadata            JSONB NOT NULL,
    error               TEXT,
    occurred_at         TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    completed_at        TIMESTAMPTZ,
    UNIQUE (namespace, entity_id, idempotency_key),
    FOREIGN KEY (namespace, entity_id, session_id)
        REFERENCES sessions (namespace, entity_id, session_id) ON DELETE CASCADE
);
CREATE INDEX turns_by_session ON turns (namespace, entity_id, session_id, seq);

CREATE TABLE messages (
    message_id      UUID PRIMARY KEY,
    turn_id         UUID NOT NULL REFERENCES turns (turn_id) ON DELETE CASCADE,
    namespace       TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    position        INTEGER NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    name            TEXT,
    tool_calls      JSONB,
    tool_call_id    TEXT,
    occurred_at     TIMESTAMPTZ NOT NULL,
    -- Filled by the augmentation stage (message index).
    embedding       BYTEA,
    embedding_model TEXT,
    embedding_dim   INTEGER,
    UNIQUE (turn_id, position)
);
CREATE INDEX messages_by_entity ON messages (namespace, entity_id, occurred_at);

CREATE TABLE facts (
    fact_id         UUID PRIMARY KEY,
    namespace       TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    content         TEXT NOT NULL,
    normalized      TEXT NOT NULL,
    category        TEXT NOT NULL,
    embedding       BYTEA,
    embedding_model TEXT,
    embedding_dim   INTEGER,
    mention_count   BIGINT NOT NULL,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    valid_until     TIMESTAMPTZ,
    superseded_by   UUID REFERENCES facts (fact_id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (namespace, entity_id) REFERENCES entities (namespace, entity_id) ON DELETE CASCADE
);
CREATE INDEX facts_by_entity ON facts (namespace, entity_id, last_seen_at);
CREATE UNIQUE INDEX facts_current_by_text ON facts (namespace, entity_id, normalized)
    WHERE valid_until IS NULL;

-- Provenance: which turns mentioned a fact.
CREATE TABLE fact_mentions (
    fact_id  UUID NOT NULL REFERENCES facts (fact_id) ON DELETE CASCADE,
    turn_id  UUID NOT NULL REFERENCES turns (turn_id) ON DELETE CASCADE,
    PRIMARY KEY (fact_id, turn_id)
);

-- The augmentation outbox: one job per completed turn, committed with it.
CREATE TABLE augmentation_jobs (
    job_id      UUID PRIMARY KEY,
    turn_id     UUID NOT NULL UNIQUE REFERENCES turns (turn_id) ON DELETE CASCADE,
    namespace   TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL,
    run_after   TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    last_error  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (namespace, entity_id) REFERENCES entities (namespace, entity_id) ON DELETE CASCADE
);
CREATE INDEX augmentation_jobs_ready ON augmentation_jobs (run_after)
    WHERE status IN ('pending', 'running');
CREATE INDEX augmentation_jobs_by_entity ON augmentation_jobs (namespace, entity_id, status);
