-- Every query that finds messages by entity (a session's messages,
-- forgetting an entity, the message index) is served as well by
-- messages_by_memory_version, which starts with the same two columns;
-- nothing reads messages in occurred_at order through an index. Each
-- message written or given its vector updated one index more for nothing.
DROP INDEX messages_by_entity;
