//! How a batch of augmentation jobs' writes become rows: what several jobs
//! say about the same thing is merged (one fact learned twice is one row
//! mentioned twice, one triple or process attribute counted per mention,
//! the later summary of a session wins), an earlier job's new fact that a
//! later one mentions or replaces is found under its row, and once the
//! rows are stored, each replacement is resolved — where a later turn of
//! the batch restated a fact an earlier one replaced, the later word wins.
//!
//! Pure: storage writes these rows and reports back the ids they were
//! stored under; no SQL here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::Scope;
use crate::domain::jobs::ClaimedJob;
use crate::domain::memory::{AugmentationWrites, FactCategory, TurnToAugment, normalize};

/// One job's results and what they belong to.
pub type JobWrites<'a> = (&'a ClaimedJob, &'a TurnToAugment, &'a AugmentationWrites);

/// Rows of the batch, merged; built after the jobs' leases were checked.
#[derive(Default)]
pub struct Rows {
    pub model: String,
    pub messages: Vec<MessageRow>,
    pub facts: Vec<FactRow>,
    /// Every job's new fact id → its row in `facts`: a later job of the
    /// batch may mention or replace an earlier job's new fact, which is
    /// stored under its row's id.
    pub new_fact_rows: HashMap<Uuid, usize>,
    /// (index into `facts`, turn): each new fact's provenance.
    pub fact_turns: Vec<(usize, Uuid)>,
    pub superseded: Vec<Replacement>,
    /// When each known fact was last mentioned by a job of the batch.
    pub mentioned_at: HashMap<Uuid, DateTime<Utc>>,
    /// (known fact, turn) of every mention, repeats included.
    pub mentioned: Vec<(Uuid, Uuid)>,
    pub triples: Vec<CountedRow>,
    pub attributes: Vec<CountedRow>,
    pub summaries: Vec<SummaryRow>,
}

/// A job's replacement of a known fact by one of its new facts, or of one
/// of its new facts by a known fact a later turn said.
pub struct Replacement {
    pub old: Uuid,
    pub new: Replacer,
    pub scope: usize,
    /// When the replacing turn happened.
    pub at: DateTime<Utc>,
}

pub enum Replacer {
    /// One of the batch's new facts: its row in `facts`.
    Row(usize),
    /// A fact already stored.
    Known(Uuid),
}

pub struct MessageRow {
    pub message_id: Uuid,
    pub scope: usize,
    pub vector: Vec<f32>,
    pub dimension: i32,
}

pub struct FactRow {
    pub fact_id: Uuid,
    pub scope: usize,
    pub content: String,
    pub normalized: String,
    pub category: FactCategory,
    pub vector: Vec<f32>,
    pub dimension: i32,
    pub mentions: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// A triple (subject, predicate, object in `parts`) or a process attribute
/// (`parts[0]`), with how often the batch saw it.
pub struct CountedRow {
    pub owner: Owner,
    pub parts: [String; 3],
    pub normalized: String,
    pub mentions: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

pub enum Owner {
    Entity(usize),
    Process {
        namespace: String,
        process_id: String,
    },
}

pub struct SummaryRow {
    pub scope: usize,
    pub session_id: String,
    pub summary: String,
    pub turn_id: Uuid,
}

/// Mentions of existing facts, merged per fact.
pub struct MentionRow {
    pub fact_id: Uuid,
    pub scope: usize,
    pub mentions: i64,
    pub last_seen: DateTime<Utc>,
}

impl Rows {
    /// A fact id as stored: an earlier job's new fact under its row's
    /// stored id, any other id as it is.
    pub fn resolve(&self, fact_id: Uuid, stored: &[Uuid]) -> Uuid {
        self.new_fact_rows
            .get(&fact_id)
            .map_or(fact_id, |&index| stored[index])
    }

    /// Gathers the owned jobs' writes; `scopes` indexes the entities.
    pub fn gather(items: &[JobWrites], scopes: &[Scope]) -> Rows {
        let scope_of = |scope: &Scope| scopes.iter().position(|s| s == scope).unwrap_or(0);
        let mut rows = Rows::default();
        let mut fact_index: HashMap<(usize, String), usize> = HashMap::new();
        let mut counted: HashMap<(bool, String, String, String), usize> = HashMap::new();
        let mut summaries: HashMap<(usize, String), usize> = HashMap::new();
        for (job, turn, writes) in items {
            let scope = scope_of(&job.scope);
            let seen = turn.occurred_at;
            rows.model.clone_from(&writes.embedding_model);
            for (message_id, vector) in &writes.message_embeddings {
                rows.messages.push(MessageRow {
                    message_id: *message_id,
                    scope,
                    vector: vector.clone(),
                    dimension: vector.len() as i32,
                });
            }
            // The job's new fact ids → their (possibly merged) rows.
            let mut own_rows: HashMap<Uuid, usize> = HashMap::new();
            for fact in &writes.new_facts {
                let key = (scope, fact.normalized.clone());
                let index = *fact_index.entry(key).or_insert_with(|| {
                    rows.facts.push(FactRow {
                        fact_id: fact.fact_id,
                        scope,
                        content: fact.content.clone(),
                        normalized: fact.normalized.clone(),
                        category: fact.category,
                        vector: fact.embedding.clone(),
                        dimension: fact.embedding.len() as i32,
                        mentions: 0,
                        first_seen: seen,
                        last_seen: seen,
                    });
                    rows.facts.len() - 1
                });
                let row = &mut rows.facts[index];
                row.mentions += 1;
                row.first_seen = row.first_seen.min(seen);
                row.last_seen = row.last_seen.max(seen);
                rows.fact_turns.push((index, turn.turn_id));
                own_rows.insert(fact.fact_id, index);
                rows.new_fact_rows.insert(fact.fact_id, index);
            }
            for (old, new) in &writes.superseded {
                let new = match own_rows.get(new) {
                    Some(&index) => Replacer::Row(index),
                    None => Replacer::Known(*new),
                };
                rows.superseded.push(Replacement {
                    old: *old,
                    new,
                    scope,
                    at: seen,
                });
            }
            for fact_id in &writes.mentioned {
                let at = rows.mentioned_at.entry(*fact_id).or_insert(seen);
                *at = (*at).max(seen);
                rows.mentioned.push((*fact_id, turn.turn_id));
            }
            let mut count = |rows: &mut Vec<CountedRow>,
                             owner: Owner,
                             parts: [String; 3],
                             normalized: String| {
                let owner_key = match &owner {
                    Owner::Entity(scope) => (true, scope.to_string(), String::new()),
                    Owner::Process {
                        namespace,
                        process_id,
                    } => (false, namespace.clone(), process_id.clone()),
                };
                let key = (owner_key.0, owner_key.1, owner_key.2, normalized.clone());
                let index = *counted.entry(key).or_insert_with(|| {
                    rows.push(CountedRow {
                        owner,
                        parts,
                        normalized,
                        mentions: 0,
                        first_seen: seen,
                        last_seen: seen,
                    });
                    rows.len() - 1
                });
                let row = &mut rows[index];
                row.mentions += 1;
                row.first_seen = row.first_seen.min(seen);
                row.last_seen = row.last_seen.max(seen);
            };
            for (subject, predicate, object) in &writes.triples {
                count(
                    &mut rows.triples,
                    Owner::Entity(scope),
                    [subject.clone(), predicate.clone(), object.clone()],
                    normalize(&format!("{subject}\u{1f}{predicate}\u{1f}{object}")),
                );
            }
            if let Some(process_id) = &turn.process_id {
                for attribute in &writes.process_attributes {
                    count(
                        &mut rows.attributes,
                        Owner::Process {
                            namespace: job.scope.namespace.clone(),
                            process_id: process_id.clone(),
                        },
                        [attribute.clone(), String::new(), String::new()],
                        normalize(attribute),
                    );
                }
            }
            if let Some(summary) = &writes.summary {
                let row = SummaryRow {
                    scope,
                    session_id: turn.session_id.clone(),
                    summary: summary.clone(),
                    turn_id: turn.turn_id,
                };
                // A later job of the same session has the later summary.
                match summaries.get(&(scope, turn.session_id.clone())) {
                    Some(&index) => rows.summaries[index] = row,
                    None => {
                        summaries.insert((scope, turn.session_id.clone()), rows.summaries.len());
                        rows.summaries.push(row);
                    }
                }
            }
        }
        rows
    }
}

/// Existing facts the jobs mentioned again, merged per fact, and every
/// (fact, turn) provenance pair; `stored` is each new fact row's id as
/// stored (an identical current fact's, if there was one).
pub fn mentions_and_provenance(
    items: &[JobWrites],
    scopes: &[Scope],
    rows: &Rows,
    stored: &[Uuid],
) -> (Vec<MentionRow>, Vec<(Uuid, Uuid)>) {
    let mut provenance: Vec<(Uuid, Uuid)> = rows
        .fact_turns
        .iter()
        .map(|(index, turn)| (stored[*index], *turn))
        .collect();
    let mut mentions: Vec<MentionRow> = Vec::new();
    let mut by_fact: HashMap<Uuid, usize> = HashMap::new();
    for (job, turn, writes) in items {
        let scope = scopes.iter().position(|s| *s == job.scope).unwrap_or(0);
        // A fact this job's own insert landed on is mentioned by it already.
        let own: Vec<Uuid> = rows
            .fact_turns
            .iter()
            .filter(|(_, t)| *t == turn.turn_id)
            .map(|(index, _)| stored[*index])
            .collect();
        let mentioned = writes.mentioned.iter().map(|id| rows.resolve(*id, stored));
        for fact_id in mentioned.filter(|id| !own.contains(id)) {
            provenance.push((fact_id, turn.turn_id));
            match by_fact.get(&fact_id) {
                Some(&index) => {
                    mentions[index].mentions += 1;
                    mentions[index].last_seen = mentions[index].last_seen.max(turn.occurred_at);
                }
                None => {
                    by_fact.insert(fact_id, mentions.len());
                    mentions.push(MentionRow {
                        fact_id,
                        scope,
                        mentions: 1,
                        last_seen: turn.occurred_at,
                    });
                }
            }
        }
    }
    (mentions, provenance)
}

/// (old, new, entity) of each replacement, with the new fact's id as
/// stored — the row it merged into may have met an identical current fact.
/// A fact "replaced" by itself is left alone.
///
/// The jobs of a batch are planned without seeing each other's writes, so
/// a later turn may restate a fact an earlier turn of the same batch
/// replaced. The later word wins: the replacement is then what is
/// superseded, by the restated fact.
pub fn superseding(rows: &Rows, stored: &[Uuid]) -> Vec<(Uuid, Uuid, usize)> {
    rows.superseded
        .iter()
        .map(|replacement| {
            let old = rows.resolve(replacement.old, stored);
            let new = match replacement.new {
                Replacer::Row(index) => stored[index],
                Replacer::Known(id) => rows.resolve(id, stored),
            };
            let restated = rows
                .mentioned_at
                .iter()
                .filter(|(id, _)| rows.resolve(**id, stored) == old)
                .map(|(_, at)| *at)
                .chain(
                    rows.facts
                        .iter()
                        .zip(stored)
                        .filter(|(_, id)| **id == old)
                        .map(|(row, _)| row.last_seen),
                )
                .max();
            if restated.is_some_and(|at| at > replacement.at) {
                (new, old, replacement.scope)
            } else {
                (old, new, replacement.scope)
            }
        })
        .filter(|(old, new, _)| old != new)
        .collect()
}

/// The entities of the batch, in the order their versions are taken.
pub fn sorted_scopes(items: &[JobWrites]) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = items.iter().map(|(job, _, _)| job.scope.clone()).collect();
    scopes.sort_by(|a, b| (&a.namespace, &a.entity_id).cmp(&(&b.namespace, &b.entity_id)));
    scopes.dedup();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::memory::NewFact;

    fn job(entity: &str) -> ClaimedJob {
        ClaimedJob {
            job_id: Uuid::now_v7(),
            turn_id: Uuid::now_v7(),
            scope: Scope {
                namespace: "ns".into(),
                entity_id: entity.into(),
            },
            attempts: 1,
            trace_parent: None,
        }
    }

    fn turn(job: &ClaimedJob, minutes: i64) -> TurnToAugment {
        TurnToAugment {
            turn_id: job.turn_id,
            session_id: "s1".into(),
            process_id: Some("app".into()),
            occurred_at: DateTime::UNIX_EPOCH + chrono::Duration::minutes(minutes),
            messages: Vec::new(),
            summary: None,
        }
    }

    fn learned(fact: &str, mentioned: &[Uuid], summary: &str) -> AugmentationWrites {
        AugmentationWrites {
            embedding_model: "m".into(),
            new_facts: vec![NewFact {
                fact_id: Uuid::now_v7(),
                content: fact.into(),
                normalized: normalize(fact),
                category: FactCategory::Other,
                embedding: vec![1.0],
            }],
            mentioned: mentioned.to_vec(),
            triples: vec![("user".into(), "likes".into(), "tea".into())],
            process_attributes: vec!["answers briefly".into()],
            summary: Some(summary.into()),
            ..AugmentationWrites::default()
        }
    }

    #[test]
    fn what_several_jobs_say_about_one_thing_becomes_one_row() {
        let known = Uuid::now_v7();
        let (a, b, c) = (job("u1"), job("u1"), job("u2"));
        let (ta, tb, tc) = (turn(&a, 1), turn(&b, 2), turn(&c, 3));
        let wa = learned("Likes tea", &[known], "first");
        let wb = learned("likes  tea.", &[known], "second");
        let wc = learned("likes tea", &[], "other entity");
        let items: Vec<JobWrites> = vec![(&a, &ta, &wa), (&b, &tb, &wb), (&c, &tc, &wc)];
        let scopes = sorted_scopes(&items);
        assert_eq!(scopes.len(), 2);
        let rows = Rows::gather(&items, &scopes);

        // One fact row per entity, seen twice for u1.
        assert_eq!(rows.facts.len(), 2);
        let u1 = rows.facts.iter().find(|f| f.scope == 0).unwrap();
        assert_eq!(u1.mentions, 2);
        assert_eq!(
            (u1.first_seen, u1.last_seen),
            (ta.occurred_at, tb.occurred_at)
        );
        assert_eq!(rows.fact_turns.len(), 3, "every turn is provenance");
        // Triples count per entity; the attribute is the process's, once.
        assert_eq!(rows.triples.len(), 2);
        assert_eq!(rows.attributes.len(), 1);
        assert_eq!(rows.attributes[0].mentions, 3);
        // The later job's summary wins within a session.
        let summary = rows.summaries.iter().find(|s| s.scope == 0).unwrap();
        assert_eq!(summary.summary, "second");

        let stored: Vec<Uuid> = rows.facts.iter().map(|f| f.fact_id).collect();
        let (mentions, provenance) = mentions_and_provenance(&items, &scopes, &rows, &stored);
        assert_eq!(mentions.len(), 1);
        assert_eq!(mentions[0].mentions, 2);
        assert_eq!(mentions[0].last_seen, tb.occurred_at);
        assert_eq!(provenance.len(), 5, "3 new-fact turns and 2 mentions");
    }

    #[test]
    fn a_fact_a_job_landed_on_is_not_also_counted_as_its_mention() {
        let a = job("u1");
        let ta = turn(&a, 1);
        let existing = Uuid::now_v7();
        // The model both restated a known fact and referred to it.
        let wa = learned("likes tea", &[existing], "s");
        let items: Vec<JobWrites> = vec![(&a, &ta, &wa)];
        let scopes = sorted_scopes(&items);
        let rows = Rows::gather(&items, &scopes);
        // The insert met the identical current fact: it was stored as that.
        let (mentions, provenance) = mentions_and_provenance(&items, &scopes, &rows, &[existing]);
        assert!(mentions.is_empty(), "counted once, by the insert");
        assert_eq!(provenance, [(existing, ta.turn_id)]);
    }

    #[test]
    fn a_replacement_points_at_the_fact_as_stored() {
        let (a, b) = (job("u1"), job("u1"));
        let (ta, tb) = (turn(&a, 1), turn(&b, 2));
        let old = Uuid::now_v7();
        let mut wa = learned("lives in Lisbon", &[], "s");
        wa.superseded = vec![(old, wa.new_facts[0].fact_id)];
        let wb = learned("Lives in Lisbon.", &[], "s");
        let items: Vec<JobWrites> = vec![(&a, &ta, &wa), (&b, &tb, &wb)];
        let scopes = sorted_scopes(&items);
        let rows = Rows::gather(&items, &scopes);
        assert_eq!(rows.facts.len(), 1, "both jobs learned one fact");

        // The merged row met an identical current fact on insert.
        let existing = Uuid::now_v7();
        assert_eq!(superseding(&rows, &[existing]), [(old, existing, 0)]);
        // ... which was the very fact being replaced: nothing to supersede.
        assert!(superseding(&rows, &[old]).is_empty());
    }

    #[test]
    fn a_later_restatement_in_the_batch_outlives_the_replacement() {
        let (a, b) = (job("u1"), job("u1"));
        let paris = Uuid::now_v7();
        let mut moved = learned("lives in Berlin", &[], "s");
        let berlin = moved.new_facts[0].fact_id;
        moved.superseded = vec![(paris, berlin)];
        let mut again = learned("likes tea", &[paris], "s");
        again.new_facts.clear();

        // Berlin (minute 1), then Paris again (minute 2): Paris stays.
        let (ta, tb) = (turn(&a, 1), turn(&b, 2));
        let items: Vec<JobWrites> = vec![(&a, &ta, &moved), (&b, &tb, &again)];
        let scopes = sorted_scopes(&items);
        let rows = Rows::gather(&items, &scopes);
        assert_eq!(superseding(&rows, &[berlin]), [(berlin, paris, 0)]);

        // Paris (minute 1), then Berlin (minute 2): Berlin replaces it.
        let (ta, tb) = (turn(&a, 2), turn(&b, 1));
        let items: Vec<JobWrites> = vec![(&a, &ta, &moved), (&b, &tb, &again)];
        let rows = Rows::gather(&items, &scopes);
        assert_eq!(superseding(&rows, &[berlin]), [(paris, berlin, 0)]);

        // A later turn that learned Paris's very text (stored as Paris)
        // counts as restating it too.
        let restated = learned("lives in Paris", &[], "s");
        let (ta, tb) = (turn(&a, 1), turn(&b, 2));
        let items: Vec<JobWrites> = vec![(&a, &ta, &moved), (&b, &tb, &restated)];
        let rows = Rows::gather(&items, &scopes);
        let stored: Vec<Uuid> = rows
            .facts
            .iter()
            .map(|f| {
                if f.normalized == normalize("lives in Paris") {
                    paris
                } else {
                    f.fact_id
                }
            })
            .collect();
        assert_eq!(superseding(&rows, &stored), [(berlin, paris, 0)]);
    }
}
