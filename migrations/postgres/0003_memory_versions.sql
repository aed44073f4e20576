-- Recall keeps each entity's memories indexed in memory; these versions
-- tell a replica cheaply whether its index is current. Every write to an
-- entity's facts or message vectors takes the next version and records it
-- on the rows it writes, so a stale index reads only the rows written
-- since; a removal also moves reset_version, which forces a full reload.
-- Not tied to entities: a forgotten entity's versions must keep growing.

CREATE TABLE memory_versions (
    namespace     TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    version       BIGINT NOT NULL,
    reset_version BIGINT NOT NULL,
    PRIMARY KEY (namespace, entity_id)
);

ALTER TABLE facts ADD COLUMN memory_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN memory_version BIGINT NOT NULL DEFAULT 0;

CREATE INDEX facts_by_memory_version ON facts (namespace, entity_id, memory_version);
CREATE INDEX messages_by_memory_version ON messages (namespace, entity_id, memory_version);
