//! The batch written on PostgreSQL, over arrays (`UNNEST`): finished jobs,
//! then the rows without a memory version, then one statement for all
//! versioned rows; mentions of known facts and replacements, when there
//! are any, follow it.
//!
//! Rows updated here are found by id, and their scope is checked on the
//! row found with `IS NOT DISTINCT FROM`, which no index serves: with a
//! plain `=`, a planner without fresh statistics (a new database, a queue
//! that just filled) looked them up through an entity's index instead and
//! walked all of that entity's rows for each one.

use super::*;
use crate::storage::memory::fact_from_row;

const FINISH_JOBS: &str = "DELETE FROM augmentation_jobs \
     WHERE job_id = ANY($1) AND lease_owner = $2 AND status = 'running' RETURNING job_id";

/// Everything stamped with a memory version, in one statement: the
/// entities' next versions (taken in the order given), the message vectors,
/// the new facts (an identical current fact is mentioned instead) and their
/// provenance, plus the provenance of facts mentioned again. Returns each
/// entity's version, then each fact row as stored.
const VERSIONED_WRITES: &str = "WITH bumped AS ( \
       INSERT INTO memory_versions (namespace, entity_id, version, reset_version) \
       SELECT namespace, entity_id, 1, 0 FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY \
         AS v(namespace, entity_id, n) ORDER BY n \
       ON CONFLICT (namespace, entity_id) DO UPDATE SET version = memory_versions.version + 1 \
       RETURNING namespace, entity_id, version), \
     embedded AS ( \
       UPDATE messages m SET embedding = v.embedding, embedding_model = $3, \
         embedding_dim = v.dim, memory_version = b.version \
       FROM UNNEST($5::uuid[], $6::text[], $7::text[], $8::bytea[], $9::int[]) \
         AS v(message_id, namespace, entity_id, embedding, dim) \
       JOIN bumped b ON b.namespace = v.namespace AND b.entity_id = v.entity_id \
       WHERE m.message_id = v.message_id \
         AND (m.namespace, m.entity_id) IS NOT DISTINCT FROM (v.namespace, v.entity_id)), \
     written AS ( \
       INSERT INTO facts (fact_id, namespace, entity_id, content, normalized, category, \
         embedding, embedding_model, embedding_dim, mention_count, first_seen_at, \
         last_seen_at, created_at, updated_at, memory_version) \
       SELECT v.fact_id, v.namespace, v.entity_id, v.content, v.normalized, v.category, \
         v.embedding, $3, v.dim, v.mentions, v.first_seen, v.last_seen, $4, $4, b.version \
       FROM UNNEST($10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[], \
         $15::text[], $16::bytea[], $17::int[], $18::bigint[], $19::timestamptz[], \
         $20::timestamptz[]) WITH ORDINALITY \
         AS v(fact_id, namespace, entity_id, content, normalized, category, embedding, dim, \
           mentions, first_seen, last_seen, n) \
       JOIN bumped b ON b.namespace = v.namespace AND b.entity_id = v.entity_id \
       ORDER BY v.n \
       ON CONFLICT (namespace, entity_id, normalized) WHERE valid_until IS NULL \
       DO UPDATE SET mention_count = facts.mention_count + excluded.mention_count, \
         last_seen_at = GREATEST(facts.last_seen_at, excluded.last_seen_at), \
         updated_at = excluded.updated_at, memory_version = excluded.memory_version \
       RETURNING fact_id, namespace, entity_id, normalized), \
     provenance AS ( \
       INSERT INTO fact_mentions (fact_id, turn_id) \
       SELECT w.fact_id, p.turn_id \
       FROM UNNEST($21::text[], $22::text[], $23::text[], $24::uuid[]) \
         AS p(namespace, entity_id, normalized, turn_id) \
       JOIN written w ON w.namespace = p.namespace AND w.entity_id = p.entity_id \
         AND w.normalized = p.normalized \
       UNION ALL \
       SELECT * FROM UNNEST($25::uuid[], $26::uuid[]) WHERE true \
       ON CONFLICT DO NOTHING) \
     SELECT namespace, entity_id, version, NULL::text AS normalized, NULL::uuid AS fact_id \
       FROM bumped \
     UNION ALL \
     SELECT namespace, entity_id, NULL, normalized, fact_id FROM written";

const MENTION_FACTS: &str = "UPDATE facts f SET mention_count = f.mention_count + v.mentions, \
     last_seen_at = GREATEST(f.last_seen_at, v.last_seen), updated_at = $1, \
     memory_version = v.version \
     FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], \
       $7::bigint[]) AS v(fact_id, namespace, entity_id, mentions, last_seen, version) \
     WHERE f.fact_id = v.fact_id \
       AND (f.namespace, f.entity_id) IS NOT DISTINCT FROM (v.namespace, v.entity_id) \
       AND f.valid_until IS NULL";

const UPSERT_TRIPLES: &str = "INSERT INTO triples (triple_id, namespace, entity_id, subject, \
     predicate, object, normalized, mention_count, first_seen_at, last_seen_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], \
       $6::text[], $7::text[], $8::bigint[], $9::timestamptz[], $10::timestamptz[]) WHERE true \
     ON CONFLICT (namespace, entity_id, normalized) \
     DO UPDATE SET mention_count = triples.mention_count + excluded.mention_count, \
       last_seen_at = GREATEST(triples.last_seen_at, excluded.last_seen_at)";

const UPSERT_ATTRIBUTES: &str = "INSERT INTO process_attributes (namespace, process_id, content, \
     normalized, mention_count, first_seen_at, last_seen_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
       $6::timestamptz[], $7::timestamptz[]) WHERE true \
     ON CONFLICT (namespace, process_id, normalized) \
     DO UPDATE SET mention_count = process_attributes.mention_count + excluded.mention_count, \
       last_seen_at = GREATEST(process_attributes.last_seen_at, excluded.last_seen_at)";

const UPSERT_SUMMARIES: &str = "INSERT INTO session_summaries (namespace, entity_id, session_id, \
     summary, turn_id, updated_at) \
     SELECT v.namespace, v.entity_id, v.session_id, v.summary, v.turn_id, $1 \
     FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[]) \
       AS v(namespace, entity_id, session_id, summary, turn_id) WHERE true \
     ON CONFLICT (namespace, entity_id, session_id) \
     DO UPDATE SET summary = excluded.summary, turn_id = excluded.turn_id, \
       updated_at = excluded.updated_at";

/// The facts other batches wrote between the version a batch was planned
/// at and the version it just took (its own writes carry that one), with
/// each such entity's reset version: read after the batch's version bump,
/// which queues it behind every batch that bumped before, so their writes
/// are all visible here.
const WRITTEN_MEANWHILE: &str = "SELECT v.namespace, v.entity_id, NULL::uuid AS fact_id, \
       NULL AS content, NULL AS category, NULL::bigint AS mention_count, \
       NULL::timestamptz AS first_seen_at, NULL::timestamptz AS last_seen_at, \
       NULL::timestamptz AS valid_until, NULL::uuid AS superseded_by, NULL::bytea AS embedding, \
       mv.reset_version \
     FROM UNNEST($1::text[], $2::text[]) AS v(namespace, entity_id) \
     JOIN memory_versions mv ON mv.namespace = v.namespace AND mv.entity_id = v.entity_id \
     UNION ALL \
     SELECT f.namespace, f.entity_id, f.fact_id, f.content, f.category, f.mention_count, \
       f.first_seen_at, f.last_seen_at, f.valid_until, f.superseded_by, f.embedding, NULL \
     FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[]) \
       AS v(namespace, entity_id, after, taken) \
     JOIN facts f ON f.namespace = v.namespace AND f.entity_id = v.entity_id \
       AND f.memory_version > v.after AND f.memory_version < v.taken";

/// The entities of `planned_at` whose plan facts written meanwhile change
/// (or that had memories removed meanwhile), given the versions the batch
/// took (`versions`, by `scopes`). Only entities whose version jumped by
/// more than the batch's own bump are read.
async fn moved(
    tx: &mut PgConnection,
    scopes: &[Scope],
    versions: &[i64],
    planned_at: &[(Scope, i64)],
    changes_plan: &(dyn Fn(&Scope, &[FactRecord]) -> bool + Sync),
) -> Result<Vec<Scope>> {
    let jumped: Vec<(&Scope, i64, i64)> = planned_at
        .iter()
        .filter_map(|(scope, planned)| {
            let taken = versions[scopes.iter().position(|s| s == scope)?];
            (taken != planned + 1).then_some((scope, *planned, taken))
        })
        .collect();
    if jumped.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(WRITTEN_MEANWHILE)
        .bind(
            jumped
                .iter()
                .map(|(s, _, _)| s.namespace.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            jumped
                .iter()
                .map(|(s, _, _)| s.entity_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            jumped
                .iter()
                .map(|(_, planned, _)| *planned)
                .collect::<Vec<_>>(),
        )
        .bind(
            jumped
                .iter()
                .map(|(_, _, taken)| *taken)
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
    let mut moved = Vec::new();
    for (scope, planned, _) in jumped {
        let mut written = Vec::new();
        let mut removed = false;
        for row in &rows {
            let (namespace, entity_id): (String, String) =
                (row.try_get("namespace")?, row.try_get("entity_id")?);
            if namespace != scope.namespace || entity_id != scope.entity_id {
                continue;
            }
            match row.try_get::<Option<i64>, _>("reset_version")? {
                Some(reset) => removed |= reset > planned,
                None => written.push(fact_from_row(row)?),
            }
        }
        if removed || changes_plan(scope, &written) {
            moved.push(scope.clone());
        }
    }
    Ok(moved)
}

/// Writes the batch; `Applied::Moved` when facts written meanwhile change
/// its plan, and then the caller must not commit.
pub(super) async fn apply(
    tx: &mut PgConnection,
    owner: Uuid,
    items: &[JobWrites<'_>],
    scopes: &[Scope],
    planned_at: &[(Scope, i64)],
    changes_plan: &(dyn Fn(&Scope, &[FactRecord]) -> bool + Sync),
) -> Result<Applied> {
    let now = Utc::now();
    let job_ids: Vec<Uuid> = items.iter().map(|(job, _, _)| job.job_id).collect();
    let done: Vec<Uuid> = sqlx::query(FINISH_JOBS)
        .bind(&job_ids)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("job_id"))
        .collect::<Result<_, sqlx::Error>>()?;
    let (items, applied) = owned(items, &done);
    let rows = Rows::gather(&items, scopes);
    // Rows without a memory version first: the versions taken next are
    // held until commit, so that stretch is one statement in the common
    // case (plus mentions and replacements when there are any).
    write_unversioned(tx, &rows, scopes, now).await?;
    let (versions, stored) = write_versioned(tx, &rows, scopes, now).await?;
    let moved = moved(tx, scopes, &versions, planned_at, changes_plan).await?;
    if !moved.is_empty() {
        return Ok(Applied::Moved(moved));
    }

    let ns = |scope: usize| scopes[scope].namespace.as_str();
    let entity = |scope: usize| scopes[scope].entity_id.as_str();
    let (mentions, _) = mentions_and_provenance(&items, scopes, &rows, &stored);
    if !mentions.is_empty() {
        sqlx::query(MENTION_FACTS)
            .bind(now)
            .bind(mentions.iter().map(|r| r.fact_id).collect::<Vec<_>>())
            .bind(mentions.iter().map(|r| ns(r.scope)).collect::<Vec<_>>())
            .bind(mentions.iter().map(|r| entity(r.scope)).collect::<Vec<_>>())
            .bind(mentions.iter().map(|r| r.mentions).collect::<Vec<_>>())
            .bind(mentions.iter().map(|r| r.last_seen).collect::<Vec<_>>())
            .bind(
                mentions
                    .iter()
                    .map(|r| versions[r.scope])
                    .collect::<Vec<_>>(),
            )
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
    Ok(Applied::Done(applied))
}

/// Triples, process attributes and session summaries: no memory version.
async fn write_unversioned(
    tx: &mut PgConnection,
    rows: &Rows,
    scopes: &[Scope],
    now: DateTime<Utc>,
) -> Result<()> {
    let ns = |scope: usize| scopes[scope].namespace.as_str();
    let entity = |scope: usize| scopes[scope].entity_id.as_str();
    if !rows.triples.is_empty() {
        let t = &rows.triples;
        let scope_of = |r: &CountedRow| match r.owner {
            Owner::Entity(scope) => scope,
            Owner::Process { .. } => 0,
        };
        sqlx::query(UPSERT_TRIPLES)
            .bind(t.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
            .bind(t.iter().map(|r| ns(scope_of(r))).collect::<Vec<_>>())
            .bind(t.iter().map(|r| entity(scope_of(r))).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.parts[0].as_str()).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.parts[1].as_str()).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.parts[2].as_str()).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.normalized.as_str()).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.mentions).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.first_seen).collect::<Vec<_>>())
            .bind(t.iter().map(|r| r.last_seen).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    if !rows.attributes.is_empty() {
        let a = &rows.attributes;
        fn process(row: &CountedRow) -> (&str, &str) {
            match &row.owner {
                Owner::Process {
                    namespace,
                    process_id,
                } => (namespace, process_id),
                Owner::Entity(_) => ("", ""),
            }
        }
        sqlx::query(UPSERT_ATTRIBUTES)
            .bind(a.iter().map(|r| process(r).0).collect::<Vec<_>>())
            .bind(a.iter().map(|r| process(r).1).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.parts[0].as_str()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.normalized.as_str()).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.mentions).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.first_seen).collect::<Vec<_>>())
            .bind(a.iter().map(|r| r.last_seen).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    if !rows.summaries.is_empty() {
        let s = &rows.summaries;
        sqlx::query(UPSERT_SUMMARIES)
            .bind(now)
            .bind(s.iter().map(|r| ns(r.scope)).collect::<Vec<_>>())
            .bind(s.iter().map(|r| entity(r.scope)).collect::<Vec<_>>())
            .bind(s.iter().map(|r| r.session_id.as_str()).collect::<Vec<_>>())
            .bind(s.iter().map(|r| r.summary.as_str()).collect::<Vec<_>>())
            .bind(s.iter().map(|r| r.turn_id).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Runs `VERSIONED_WRITES`; returns each entity's new version (in the
/// order of `scopes`) and each fact row's id as stored.
async fn write_versioned(
    tx: &mut PgConnection,
    rows: &Rows,
    scopes: &[Scope],
    now: DateTime<Utc>,
) -> Result<(Vec<i64>, Vec<Uuid>)> {
    let ns = |scope: usize| scopes[scope].namespace.as_str();
    let entity = |scope: usize| scopes[scope].entity_id.as_str();
    let (m, f) = (&rows.messages, &rows.facts);
    let new_fact_turns: Vec<(&FactRow, Uuid)> = rows
        .fact_turns
        .iter()
        .map(|(index, turn)| (&f[*index], *turn))
        .collect();
    // Provenance of the facts mentioned again; repeats are ignored.
    let mentioned = &rows.mentioned;
    let returned = sqlx::query(VERSIONED_WRITES)
        .bind(
            scopes
                .iter()
                .map(|s| s.namespace.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            scopes
                .iter()
                .map(|s| s.entity_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(&rows.model)
        .bind(now)
        .bind(m.iter().map(|r| r.message_id).collect::<Vec<_>>())
        .bind(m.iter().map(|r| ns(r.scope)).collect::<Vec<_>>())
        .bind(m.iter().map(|r| entity(r.scope)).collect::<Vec<_>>())
        .bind(
            m.iter()
                .map(|r| encode_vector(&r.vector))
                .collect::<Vec<_>>(),
        )
        .bind(m.iter().map(|r| r.dimension).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.fact_id).collect::<Vec<_>>())
        .bind(f.iter().map(|r| ns(r.scope)).collect::<Vec<_>>())
        .bind(f.iter().map(|r| entity(r.scope)).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.content.as_str()).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.normalized.as_str()).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.category.as_str()).collect::<Vec<_>>())
        .bind(
            f.iter()
                .map(|r| encode_vector(&r.vector))
                .collect::<Vec<_>>(),
        )
        .bind(f.iter().map(|r| r.dimension).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.mentions).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.first_seen).collect::<Vec<_>>())
        .bind(f.iter().map(|r| r.last_seen).collect::<Vec<_>>())
        .bind(
            new_fact_turns
                .iter()
                .map(|(r, _)| ns(r.scope))
                .collect::<Vec<_>>(),
        )
        .bind(
            new_fact_turns
                .iter()
                .map(|(r, _)| entity(r.scope))
                .collect::<Vec<_>>(),
        )
        .bind(
            new_fact_turns
                .iter()
                .map(|(r, _)| r.normalized.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            new_fact_turns
                .iter()
                .map(|(_, turn)| *turn)
                .collect::<Vec<_>>(),
        )
        .bind(mentioned.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(mentioned.iter().map(|p| p.1).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
    let mut versions = vec![0i64; scopes.len()];
    let mut stored: Vec<Uuid> = f.iter().map(|r| r.fact_id).collect();
    for row in returned {
        let namespace: String = row.try_get("namespace")?;
        let entity_id: String = row.try_get("entity_id")?;
        let normalized: Option<String> = row.try_get("normalized")?;
        match normalized {
            None => {
                if let Some(i) = scopes
                    .iter()
                    .position(|s| s.namespace == namespace && s.entity_id == entity_id)
                {
                    versions[i] = row.try_get("version")?;
                }
            }
            Some(normalized) => {
                if let Some(i) = f.iter().position(|r| {
                    ns(r.scope) == namespace
                        && entity(r.scope) == entity_id
                        && r.normalized == normalized
                }) {
                    stored[i] = row.try_get("fact_id")?;
                }
            }
        }
    }
    Ok((versions, stored))
}
