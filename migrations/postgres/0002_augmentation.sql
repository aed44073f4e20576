-- The augmentation stage: lease ownership on jobs, and what extraction
-- learns besides facts. Everything about an entity cascades from it.

ALTER TABLE augmentation_jobs ADD COLUMN lease_owner UUID;

CREATE TABLE triples (
    triple_id     UUID PRIMARY KEY,
    namespace     TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    predicate     TEXT NOT NULL,
    object        TEXT NOT NULL,
    normalized    TEXT NOT NULL,
    mention_count BIGINT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (namespace, entity_id, normalized),
    FOREIGN KEY (namespace, entity_id) REFERENCES entities (namespace, entity_id) ON DELETE CASCADE
);

-- What was learned about an agent or app itself.
CREATE TABLE process_attributes (
    namespace     TEXT NOT NULL,
    process_id    TEXT NOT NULL,
    content       TEXT NOT NULL,
    normalized    TEXT NOT NULL,
    mention_count BIGINT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace, process_id, normalized),
    FOREIGN KEY (namespace, process_id) REFERENCES processes (namespace, process_id) ON DELETE CASCADE
);

CREATE TABLE session_summaries (
    namespace   TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    summary     TEXT NOT NULL,
    turn_id     UUID NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace, entity_id, session_id),
    FOREIGN KEY (namespace, entity_id, session_id)
        REFERENCES sessions (namespace, entity_id, session_id) ON DELETE CASCADE
);
