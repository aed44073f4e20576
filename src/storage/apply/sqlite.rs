//! The batch written on SQLite, row by row: in-process, a statement costs
//! microseconds, not a round trip.

use super::*;
use crate::storage::memory::facts_written_since_sqlite;

const FINISH_JOB: &str = "DELETE FROM augmentation_jobs \
     WHERE job_id = $1 AND lease_owner = $2 AND status = 'running'";

const EMBED_MESSAGE: &str = "UPDATE messages SET embedding = $1, embedding_model = $2, \
     embedding_dim = $3, memory_version = $7 \
     WHERE message_id = $4 AND namespace = $5 AND entity_id = $6";

const UPSERT_FACT: &str = "INSERT INTO facts (fact_id, namespace, entity_id, content, normalized, \
     category, embedding, embedding_model, embedding_dim, mention_count, first_seen_at, \
     last_seen_at, created_at, updated_at, memory_version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) \
     ON CONFLICT (namespace, entity_id, normalized) WHERE valid_until IS NULL \
     DO UPDATE SET mention_count = facts.mention_count + excluded.mention_count, \
       last_seen_at = MAX(facts.last_seen_at, excluded.last_seen_at), \
       updated_at = excluded.updated_at, memory_version = excluded.memory_version \
     RETURNING fact_id";

const MENTION_FACT: &str = "UPDATE facts SET mention_count = mention_count + $1, \
     last_seen_at = MAX(last_seen_at, $2), updated_at = $3, memory_version = $4 \
     WHERE fact_id = $5 AND namespace = $6 AND entity_id = $7 AND valid_until IS NULL";

const INSERT_PROVENANCE: &str =
    "INSERT INTO fact_mentions (fact_id, turn_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

const UPSERT_TRIPLE: &str = "INSERT INTO triples (triple_id, namespace, entity_id, subject, \
     predicate, object, normalized, mention_count, first_seen_at, last_seen_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (namespace, entity_id, normalized) \
     DO UPDATE SET mention_count = triples.mention_count + excluded.mention_count, \
       last_seen_at = MAX(triples.last_seen_at, excluded.last_seen_at)";

const UPSERT_ATTRIBUTE: &str = "INSERT INTO process_attributes (namespace, process_id, content, \
     normalized, mention_count, first_seen_at, last_seen_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (namespace, process_id, normalized) \
     DO UPDATE SET mention_count = process_attributes.mention_count + excluded.mention_count, \
       last_seen_at = MAX(process_attributes.last_seen_at, excluded.last_seen_at)";

const UPSERT_SUMMARY: &str = "INSERT INTO session_summaries (namespace, entity_id, session_id, \
     summary, turn_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (namespace, entity_id, session_id) \
     DO UPDATE SET summary = excluded.summary, turn_id = excluded.turn_id, \
       updated_at = excluded.updated_at";

const VERSION: &str = "SELECT version, reset_version FROM memory_versions \
     WHERE namespace = $1 AND entity_id = $2";

/// The entities of `planned_at` whose facts written since change the plan
/// (or that had memories removed since).
pub(super) async fn moved(
    tx: &mut SqliteConnection,
    planned_at: &[(Scope, i64)],
    changes_plan: &(dyn Fn(&Scope, &[FactRecord]) -> bool + Sync),
) -> Result<Vec<Scope>> {
    let mut current = Vec::new();
    for (scope, _) in planned_at {
        let row = sqlx::query(VERSION)
            .bind(&scope.namespace)
            .bind(&scope.entity_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = row {
            current.push((
                scope.namespace.clone(),
                scope.entity_id.clone(),
                row.try_get("version")?,
                row.try_get("reset_version")?,
            ));
        }
    }
    let mut moved = Vec::new();
    for (scope, planned, reset) in moved_versions(planned_at, &current) {
        if reset > planned
            || changes_plan(
                &scope,
                &facts_written_since_sqlite(tx, &scope, planned).await?,
            )
        {
            moved.push(scope);
        }
    }
    Ok(moved)
}

/// The entities of `planned_at` whose version moved, with their current
/// (version, reset version); an entity without a version row is at 0.
fn moved_versions(
    planned_at: &[(Scope, i64)],
    current: &[(String, String, i64, i64)],
) -> Vec<(Scope, i64, i64)> {
    planned_at
        .iter()
        .filter_map(|(scope, planned)| {
            let (version, reset) = current
                .iter()
                .find(|(ns, entity, _, _)| *ns == scope.namespace && *entity == scope.entity_id)
                .map_or((0, 0), |(_, _, v, r)| (*v, *r));
            (version != *planned).then(|| (scope.clone(), *planned, reset))
        })
        .collect()
}

pub(super) async fn apply(
    tx: &mut SqliteConnection,
    owner: Uuid,
    items: &[JobWrites<'_>],
    scopes: &[Scope],
) -> Result<Vec<bool>> {
    let now = Utc::now();
    let mut done = Vec::new();
    for (job, _, _) in items {
        let finished = sqlx::query(FINISH_JOB)
            .bind(job.job_id)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if finished > 0 {
            done.push(job.job_id);
        }
    }
    let mut versions = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let version: i64 = sqlx::query(crate::storage::memory::BUMP_MEMORY_VERSION)
            .bind(&scope.namespace)
            .bind(&scope.entity_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        versions.push(version);
    }
    let (items, applied) = owned(items, &done);
    let rows = Rows::gather(&items, scopes);
    let ns = |scope: usize| scopes[scope].namespace.as_str();
    let entity = |scope: usize| scopes[scope].entity_id.as_str();

    for m in &rows.messages {
        sqlx::query(EMBED_MESSAGE)
            .bind(encode_vector(&m.vector))
            .bind(&rows.model)
            .bind(m.dimension)
            .bind(m.message_id)
            .bind(ns(m.scope))
            .bind(entity(m.scope))
            .bind(versions[m.scope])
            .execute(&mut *tx)
            .await?;
    }
    let mut stored = Vec::with_capacity(rows.facts.len());
    for f in &rows.facts {
        let fact_id: Uuid = sqlx::query(UPSERT_FACT)
            .bind(f.fact_id)
            .bind(ns(f.scope))
            .bind(entity(f.scope))
            .bind(&f.content)
            .bind(&f.normalized)
            .bind(f.category.as_str())
            .bind(encode_vector(&f.vector))
            .bind(&rows.model)
            .bind(f.dimension)
            .bind(f.mentions)
            .bind(f.first_seen)
            .bind(f.last_seen)
            .bind(now)
            .bind(versions[f.scope])
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        stored.push(fact_id);
    }
    let (mentions, provenance) = mentions_and_provenance(&items, scopes, &rows, &stored);
    for m in &mentions {
        sqlx::query(MENTION_FACT)
            .bind(m.mentions)
            .bind(m.last_seen)
            .bind(now)
            .bind(versions[m.scope])
            .bind(m.fact_id)
            .bind(ns(m.scope))
            .bind(entity(m.scope))
            .execute(&mut *tx)
            .await?;
    }
    for (fact_id, turn_id) in &provenance {
        sqlx::query(INSERT_PROVENANCE)
            .bind(fact_id)
            .bind(turn_id)
            .execute(&mut *tx)
            .await?;
    }
    for (old, new, scope) in superseding(&rows, &stored) {
        sqlx::query(SUPERSEDE_FACT)
            .bind(now)
            .bind(new)
            .bind(old)
            .bind(ns(scope))
            .bind(entity(scope))
            .bind(versions[scope])
            .execute(&mut *tx)
            .await?;
    }
    for t in &rows.triples {
        let Owner::Entity(scope) = t.owner else {
            continue;
        };
        sqlx::query(UPSERT_TRIPLE)
            .bind(Uuid::now_v7())
            .bind(ns(scope))
            .bind(entity(scope))
            .bind(&t.parts[0])
            .bind(&t.parts[1])
            .bind(&t.parts[2])
            .bind(&t.normalized)
            .bind(t.mentions)
            .bind(t.first_seen)
            .bind(t.last_seen)
            .execute(&mut *tx)
            .await?;
    }
    for a in &rows.attributes {
        let Owner::Process {
            namespace,
            process_id,
        } = &a.owner
        else {
            continue;
        };
        sqlx::query(UPSERT_ATTRIBUTE)
            .bind(namespace)
            .bind(process_id)
            .bind(&a.parts[0])
            .bind(&a.normalized)
            .bind(a.mentions)
            .bind(a.first_seen)
            .bind(a.last_seen)
            .execute(&mut *tx)
            .await?;
    }
    for s in &rows.summaries {
        sqlx::query(UPSERT_SUMMARY)
            .bind(ns(s.scope))
            .bind(entity(s.scope))
            .bind(&s.session_id)
            .bind(&s.summary)
            .bind(s.turn_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    Ok(applied)
}
