//! The storage suite, run against both backends through the public Store.

use chrono::Utc;
use memorid::config::StorageConfig;
use memorid::domain::jobs::JobCounts;
use memorid::domain::memory::{AugmentationWrites, FactCategory, MemoryKind, NewFact, normalize};
use memorid::domain::turns::TurnOutcome;
use memorid::domain::{
    Attribution, ChatMessage, FinishReason, Metadata, NewTurn, Role, Scope, TurnSource, TurnStatus,
    Usage,
};
use memorid::recall::cache::{Freshness, IndexCache};
use memorid::storage::{Applied, PlannedAt, Store};
use uuid::Uuid;

use crate::on_both_backends;
use crate::support::{Backend, fresh_storage};

on_both_backends!(
    streamed_turn_lifecycle,
    finishing_is_scoped_and_happens_once,
    failed_and_unaugmented_turns_get_no_job,
    idempotency_keys_are_per_entity,
    concurrent_turns_in_one_session_keep_distinct_order,
    forget_entity_leaves_other_entities_alone,
    abandoned_streaming_turns_are_swept,
    recall_indexes_follow_writes_incrementally,
    several_entities_indexes_are_brought_up_to_date_together,
    indexes_of_more_entities_than_one_statement_reads_are_each_their_own,
    the_job_queue_hands_out_oldest_first_retakes_expired_leases_and_forgets_finished_jobs,
    a_batch_is_sent_back_only_by_related_facts_written_since,
);

async fn open(backend: Backend) -> (Store, Option<tempfile::TempDir>) {
    let (url, dir) = fresh_storage(backend).await;
    let store = Store::connect(&StorageConfig {
        url,
        max_connections: 8,
        acquire_timeout_secs: 10,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    // Migrating twice is a no-op.
    store.migrate().await.unwrap();
    (store, dir)
}

fn new_turn(namespace: &str, entity: &str, session: Option<&str>, key: Option<&str>) -> NewTurn {
    NewTurn {
        namespace: namespace.into(),
        attribution: Attribution {
            entity_id: entity.into(),
            process_id: Some("agent-1".into()),
            session_id: session.map(String::from),
        },
        source: TurnSource::Chat,
        messages: vec![
            ChatMessage::text(Role::System, "be nice"),
            ChatMessage::text(Role::User, "hello"),
        ],
        model: Some("fake/m".into()),
        metadata: Metadata::from([("k".to_string(), "v".to_string())]),
        occurred_at: Utc::now(),
        idempotency_key: key.map(String::from),
        augment: true,
    }
}

fn scope(namespace: &str, entity: &str) -> Scope {
    Scope {
        namespace: namespace.into(),
        entity_id: entity.into(),
    }
}

fn completed(text: &str) -> TurnOutcome {
    TurnOutcome {
        status: TurnStatus::Completed,
        model: None,
        reply: Some(ChatMessage::text(Role::Assistant, text)),
        finish_reason: Some(FinishReason::Stop),
        usage: Some(Usage {
            input_tokens: 5,
            output_tokens: 2,
            cached_input_tokens: 1,
            reasoning_tokens: 0,
        }),
        error: None,
        enqueue_augmentation: true,
    }
}

async fn streamed_turn_lifecycle(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let inserted = store
        .insert_turn(&new_turn("ns", "u1", None, None), TurnStatus::Streaming)
        .await
        .unwrap();
    assert!(!inserted.duplicate);
    let s = scope("ns", "u1");
    let session = store
        .get_session(&s, &inserted.session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.process_id.as_deref(), Some("agent-1"));
    assert_eq!(session.turns[0].status, TurnStatus::Streaming);
    assert_eq!(session.turns[0].messages.len(), 2);
    assert_eq!(store.count_jobs(&s).await.unwrap(), JobCounts::default());

    store
        .finish_turn(&s, inserted.turn_id, &completed("hi!"))
        .await
        .unwrap();
    let session = store
        .get_session(&s, &inserted.session_id)
        .await
        .unwrap()
        .unwrap();
    let turn = &session.turns[0];
    assert_eq!(turn.status, TurnStatus::Completed);
    assert_eq!(turn.finish_reason, Some(FinishReason::Stop));
    assert_eq!(turn.usage.unwrap().cached_input_tokens, 1);
    assert_eq!(turn.metadata["k"], "v");
    let roles: Vec<Role> = turn.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, vec![Role::System, Role::User, Role::Assistant]);
    assert_eq!(turn.messages[2].content, "hi!");
    assert_eq!(store.count_jobs(&s).await.unwrap().pending, 1);
    store.close().await;
}

async fn finishing_is_scoped_and_happens_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let inserted = store
        .insert_turn(
            &new_turn("ns", "u1", Some("s"), None),
            TurnStatus::Streaming,
        )
        .await
        .unwrap();
    // Another entity or namespace cannot touch the turn.
    for wrong in [scope("ns", "u2"), scope("other", "u1")] {
        store
            .finish_turn(&wrong, inserted.turn_id, &completed("x"))
            .await
            .unwrap();
    }
    let s = scope("ns", "u1");
    let turn = store
        .get_session(&s, "s")
        .await
        .unwrap()
        .unwrap()
        .turns
        .remove(0);
    assert_eq!(turn.status, TurnStatus::Streaming);
    assert_eq!(turn.messages.len(), 2);

    store
        .finish_turn(&s, inserted.turn_id, &completed("first"))
        .await
        .unwrap();
    store
        .finish_turn(&s, inserted.turn_id, &completed("second"))
        .await
        .unwrap();
    let turn = store
        .get_session(&s, "s")
        .await
        .unwrap()
        .unwrap()
        .turns
        .remove(0);
    assert_eq!(turn.messages.len(), 3);
    assert_eq!(turn.messages[2].content, "first");
    assert_eq!(store.count_jobs(&s).await.unwrap().pending, 1);
    store.close().await;
}

async fn failed_and_unaugmented_turns_get_no_job(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let s = scope("ns", "u1");
    let failed = store
        .insert_turn(
            &new_turn("ns", "u1", Some("a"), None),
            TurnStatus::Streaming,
        )
        .await
        .unwrap();
    let outcome = TurnOutcome {
        status: TurnStatus::Failed,
        model: None,
        reply: None,
        finish_reason: None,
        usage: None,
        error: Some("upstream said no".into()),
        enqueue_augmentation: true,
    };
    store
        .finish_turn(&s, failed.turn_id, &outcome)
        .await
        .unwrap();
    let mut quiet = new_turn("ns", "u1", Some("b"), Some("k"));
    quiet.augment = false;
    store
        .insert_turn(&quiet, TurnStatus::Completed)
        .await
        .unwrap();
    assert_eq!(store.count_jobs(&s).await.unwrap(), JobCounts::default());
    let turn = store
        .get_session(&s, "a")
        .await
        .unwrap()
        .unwrap()
        .turns
        .remove(0);
    assert_eq!(turn.status, TurnStatus::Failed);
    assert_eq!(turn.error.as_deref(), Some("upstream said no"));
    assert!(turn.usage.is_none());
    store.close().await;
}

async fn idempotency_keys_are_per_entity(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let first = store
        .insert_turn(
            &new_turn("ns", "u1", Some("s"), Some("key")),
            TurnStatus::Completed,
        )
        .await
        .unwrap();
    let again = store
        .insert_turn(
            &new_turn("ns", "u1", Some("other"), Some("key")),
            TurnStatus::Completed,
        )
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.turn_id, again.session_id.as_str()),
        (first.turn_id, "s")
    );
    // The duplicate did not create its session.
    assert!(
        store
            .get_session(&scope("ns", "u1"), "other")
            .await
            .unwrap()
            .is_none()
    );
    for (ns, entity) in [("ns", "u2"), ("ns2", "u1")] {
        let elsewhere = store
            .insert_turn(
                &new_turn(ns, entity, Some("s"), Some("key")),
                TurnStatus::Completed,
            )
            .await
            .unwrap();
        assert!(!elsewhere.duplicate);
    }
    assert_eq!(
        store.count_jobs(&scope("ns", "u1")).await.unwrap().pending,
        1
    );
    store.close().await;
}

async fn concurrent_turns_in_one_session_keep_distinct_order(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut turn = new_turn("ns", "u1", Some("busy"), Some(&format!("k{i}")));
            turn.messages = vec![ChatMessage::text(Role::User, format!("m{i}"))];
            store
                .insert_turn(&turn, TurnStatus::Completed)
                .await
                .unwrap()
        });
    }
    let mut ids: Vec<_> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|t| t.turn_id)
        .collect();
    let session = store
        .get_session(&scope("ns", "u1"), "busy")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.turns.len(), 20);
    let mut stored: Vec<_> = session.turns.iter().map(|t| t.turn_id).collect();
    ids.sort();
    stored.sort();
    assert_eq!(ids, stored);
    assert_eq!(
        store.count_jobs(&scope("ns", "u1")).await.unwrap().pending,
        20
    );
    store.close().await;
}

async fn forget_entity_leaves_other_entities_alone(backend: Backend) {
    let (store, _dir) = open(backend).await;
    for (ns, entity) in [("ns", "u1"), ("ns", "u2"), ("ns2", "u1")] {
        store
            .insert_turn(
                &new_turn(ns, entity, Some("s"), None),
                TurnStatus::Completed,
            )
            .await
            .unwrap();
    }
    let counts = store.forget_entity(&scope("ns", "u1")).await.unwrap();
    assert_eq!(
        (counts.sessions, counts.turns, counts.messages, counts.jobs),
        (1, 1, 2, 1)
    );
    assert!(
        store
            .get_session(&scope("ns", "u1"), "s")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_session(&scope("ns", "u2"), "s")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get_session(&scope("ns2", "u1"), "s")
            .await
            .unwrap()
            .is_some()
    );
    let again = store.forget_entity(&scope("ns", "u1")).await.unwrap();
    assert_eq!(again.turns, 0);
    store.close().await;
}

async fn abandoned_streaming_turns_are_swept(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let s = scope("ns", "u1");
    let live = store
        .insert_turn(
            &new_turn("ns", "u1", Some("a"), None),
            TurnStatus::Streaming,
        )
        .await
        .unwrap();
    // Not old enough: untouched.
    assert_eq!(
        store
            .sweep_abandoned_turns(std::time::Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .sweep_abandoned_turns(std::time::Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    let turn = store
        .get_session(&s, "a")
        .await
        .unwrap()
        .unwrap()
        .turns
        .remove(0);
    assert_eq!(turn.status, TurnStatus::Interrupted);
    assert!(turn.error.unwrap().contains("abandoned"));
    assert_eq!(turn.messages.len(), 2, "the user's messages stay");
    // A late finish by a replica that was only slow changes nothing now.
    store
        .finish_turn(&s, live.turn_id, &completed("late"))
        .await
        .unwrap();
    assert_eq!(store.count_jobs(&s).await.unwrap(), JobCounts::default());
    store.close().await;
}

/// One turn in, its job claimed and applied with one new fact, as the
/// augmentation stage does.
async fn learn(store: &Store, entity: &str, fact: &str) {
    let mut turn = new_turn("ns", entity, Some("s1"), None);
    turn.source = TurnSource::Attribute;
    store
        .insert_turn(&turn, TurnStatus::Completed)
        .await
        .unwrap();
    let owner = Uuid::now_v7();
    let jobs = store
        .claim_jobs(owner, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let wanted: Vec<(Scope, Uuid)> = jobs.iter().map(|j| (j.scope.clone(), j.turn_id)).collect();
    let turns = store.turns_to_augment(&wanted).await.unwrap();
    let writes = AugmentationWrites {
        embedding_model: "test-2d".into(),
        new_facts: vec![NewFact {
            fact_id: Uuid::now_v7(),
            content: fact.into(),
            normalized: normalize(fact),
            category: FactCategory::Preference,
            embedding: vec![1.0, 0.0],
        }],
        ..AugmentationWrites::default()
    };
    let applied = store
        .apply_augmentations(
            owner,
            &[(&jobs[0], &turns[&jobs[0].turn_id], &writes)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(applied, Applied::Done(vec![true]));
}

/// A cached index is used while the entity's version stands, updated with
/// only the new rows after a write, and loaded again after a removal.
async fn recall_indexes_follow_writes_incrementally(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let cache = IndexCache::new(store.clone(), 64 << 20);
    let u1 = scope("ns", "u1");
    let index = |at| cache.index(&u1, MemoryKind::Facts, "test-2d", at);

    let at = store.memory_version(&u1).await.unwrap();
    let (facts, how) = index(at).await.unwrap();
    assert!(facts.is_empty());
    assert_eq!(how, Freshness::Loaded);

    learn(&store, "u1", "likes tea").await;
    learn(&store, "u2", "likes chess").await;
    let at = store.memory_version(&u1).await.unwrap();
    let (facts, how) = index(at).await.unwrap();
    assert_eq!((facts.len(), how), (1, Freshness::Refreshed));
    let (_, how) = index(at).await.unwrap();
    assert_eq!(how, Freshness::Cached);

    learn(&store, "u1", "likes coffee").await;
    let at = store.memory_version(&u1).await.unwrap();
    let (facts, how) = index(at).await.unwrap();
    assert_eq!((facts.len(), how), (2, Freshness::Refreshed));
    let coffee = (0..2)
        .map(|i| facts.memory(i))
        .find(|m| m.text() == "likes coffee")
        .unwrap()
        .id();

    assert!(store.delete_fact(&u1, coffee).await.unwrap());
    let at = store.memory_version(&u1).await.unwrap();
    assert_eq!(at.reset, at.version, "a removal resets");
    let (facts, how) = index(at).await.unwrap();
    assert_eq!((facts.len(), how), (1, Freshness::Loaded));
    assert_eq!(facts.memory(0).text(), "likes tea");

    // Deleting nothing moves nothing.
    assert!(!store.delete_fact(&u1, coffee).await.unwrap());
    assert_eq!(store.memory_version(&u1).await.unwrap(), at);
}

/// Several entities' indexes asked for at once, as an augmentation batch
/// does: each comes back as it would alone (kept, refreshed or loaded),
/// holding its own entity's facts only.
async fn several_entities_indexes_are_brought_up_to_date_together(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let cache = IndexCache::new(store.clone(), 64 << 20);
    let (u1, u2, u3) = (scope("ns", "u1"), scope("ns", "u2"), scope("ns", "u3"));
    learn(&store, "u1", "likes tea").await;
    learn(&store, "u2", "likes chess").await;
    let versions = async |scopes: [&Scope; 3]| {
        let mut at = Vec::new();
        for scope in scopes {
            at.push(store.memory_version(scope).await.unwrap());
        }
        at
    };
    let at = versions([&u1, &u2, &u3]).await;
    cache
        .indexes(&[(&u1, at[0]), (&u2, at[1])], MemoryKind::Facts, "test-2d")
        .await
        .unwrap();

    // u1 unchanged since, u2 learned more, u3 never loaded.
    learn(&store, "u2", "likes go").await;
    learn(&store, "u3", "likes jazz").await;
    let at = versions([&u1, &u2, &u3]).await;
    let found = cache
        .indexes(
            &[(&u1, at[0]), (&u2, at[1]), (&u3, at[2])],
            MemoryKind::Facts,
            "test-2d",
        )
        .await
        .unwrap();
    let texts = |n: usize| {
        let mut texts: Vec<String> = (0..found[n].0.len())
            .map(|i| found[n].0.memory(i).text().to_string())
            .collect();
        texts.sort();
        texts
    };
    let how: Vec<Freshness> = found.iter().map(|(_, how)| *how).collect();
    assert_eq!(
        how,
        [Freshness::Cached, Freshness::Refreshed, Freshness::Loaded]
    );
    assert_eq!(texts(0), ["likes tea"]);
    assert_eq!(texts(1), ["likes chess", "likes go"]);
    assert_eq!(texts(2), ["likes jazz"]);
}

/// More entities than one read statement covers (64) land in two
/// statements; each index still holds its own entity's facts.
async fn indexes_of_more_entities_than_one_statement_reads_are_each_their_own(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let cache = IndexCache::new(store.clone(), 64 << 20);
    let scopes: Vec<Scope> = (0..70).map(|e| scope("ns", &format!("u{e}"))).collect();
    let mut wanted = Vec::new();
    for (e, scope) in scopes.iter().enumerate() {
        learn(&store, &scope.entity_id, &format!("likes the number {e}")).await;
        wanted.push((scope, store.memory_version(scope).await.unwrap()));
    }
    let found = cache
        .indexes(&wanted, MemoryKind::Facts, "test-2d")
        .await
        .unwrap();
    assert_eq!(found.len(), 70);
    for (e, (index, how)) in found.iter().enumerate() {
        assert_eq!(*how, Freshness::Loaded);
        assert_eq!(index.len(), 1, "entity {e}");
        assert_eq!(index.memory(0).text(), format!("likes the number {e}"));
    }
}

/// Stores `n` completed turns of one entity, each with its job, in order.
async fn store_turns(store: &Store, entity: &str, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let mut turn = new_turn("ns", entity, Some("s1"), None);
        turn.source = TurnSource::Attribute;
        ids.push(
            store
                .insert_turn(&turn, TurnStatus::Completed)
                .await
                .unwrap()
                .turn_id,
        );
    }
    ids
}

async fn the_job_queue_hands_out_oldest_first_retakes_expired_leases_and_forgets_finished_jobs(
    backend: Backend,
) {
    let (store, _dir) = open(backend).await;
    let s = scope("ns", "u1");
    let turns = store_turns(&store, "u1", 3).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());

    // A lease of zero runs out at once: the next claim retakes the job.
    let first = store
        .claim_jobs(a, 1, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].turn_id, turns[0], "oldest first");
    let held = store
        .claim_jobs(b, 2, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    // (A claim's jobs come back in no particular order.)
    let mut held_turns: Vec<(Uuid, i32)> = held.iter().map(|j| (j.turn_id, j.attempts)).collect();
    held_turns.sort();
    assert_eq!(
        held_turns,
        [(turns[0], 2), (turns[1], 1)],
        "the expired job, taken again, and the next oldest"
    );
    assert_eq!(store.count_jobs(&s).await.unwrap().running, 2);
    assert_eq!(store.count_jobs(&s).await.unwrap().pending, 1);

    let wanted: Vec<(Scope, Uuid)> = turns.iter().map(|t| (s.clone(), *t)).collect();
    let loaded = store.turns_to_augment(&wanted).await.unwrap();
    let writes = AugmentationWrites {
        embedding_model: "test-2d".into(),
        ..AugmentationWrites::default()
    };
    // The first owner lost its lease: nothing of its is applied.
    let stale = store
        .apply_augmentations(a, &[(&first[0], &loaded[&turns[0]], &writes)], None)
        .await
        .unwrap();
    assert_eq!(stale, Applied::Done(vec![false]));
    let items: Vec<_> = held
        .iter()
        .map(|job| (job, &loaded[&job.turn_id], &writes))
        .collect();
    assert_eq!(
        store.apply_augmentations(b, &items, None).await.unwrap(),
        Applied::Done(vec![true, true])
    );
    // Finished jobs are gone, the third still waits.
    assert_eq!(
        store.count_jobs(&s).await.unwrap(),
        JobCounts {
            pending: 1,
            ..JobCounts::default()
        }
    );
    store.close().await;
}

/// A batch planned against an entity's memories is sent back when facts
/// written since change its plan: it writes nothing (its job stays leased,
/// to be planned again) and names the entity; unrelated writes let it
/// apply.
async fn a_batch_is_sent_back_only_by_related_facts_written_since(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let s = scope("ns", "u1");
    let mut turn = new_turn("ns", "u1", Some("s1"), None);
    turn.source = TurnSource::Attribute;
    store
        .insert_turn(&turn, TurnStatus::Completed)
        .await
        .unwrap();
    let owner = Uuid::now_v7();
    let jobs = store
        .claim_jobs(owner, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let wanted: Vec<(Scope, Uuid)> = jobs.iter().map(|j| (j.scope.clone(), j.turn_id)).collect();
    let turns = store.turns_to_augment(&wanted).await.unwrap();
    let planned_at = store
        .memory_versions(std::slice::from_ref(&s))
        .await
        .unwrap()[&s]
        .version;
    assert_eq!(planned_at, 0, "a new entity has no memories yet");

    // Another batch learns a fact of the entity meanwhile.
    learn(&store, "u1", "likes tea").await;
    let writes = AugmentationWrites {
        embedding_model: "test-2d".into(),
        new_facts: vec![NewFact {
            fact_id: Uuid::now_v7(),
            content: "likes coffee".into(),
            normalized: normalize("likes coffee"),
            category: FactCategory::Preference,
            embedding: vec![0.0, 1.0],
        }],
        ..AugmentationWrites::default()
    };
    let items = [(&jobs[0], &turns[&jobs[0].turn_id], &writes)];
    let versions = [(s.clone(), planned_at)];
    let seen = std::sync::Mutex::new(Vec::new());
    let related = |_: &Scope, written: &[memorid::domain::memory::FactRecord]| {
        seen.lock()
            .unwrap()
            .extend(written.iter().map(|f| f.content.clone()));
        true
    };
    let planned = PlannedAt {
        versions: &versions,
        changes_plan: &related,
    };
    let moved = store
        .apply_augmentations(owner, &items, Some(&planned))
        .await
        .unwrap();
    assert_eq!(moved, Applied::Moved(vec![s.clone()]));
    assert_eq!(
        *seen.lock().unwrap(),
        ["likes tea"],
        "the facts written since"
    );
    let facts = store.list_facts(&s, true, None, 10).await.unwrap();
    assert_eq!(facts.len(), 1, "only the other batch's fact: {facts:?}");
    assert_eq!(
        store.count_jobs(&s).await.unwrap().running,
        1,
        "the job is still held"
    );

    // Writes that do not change the plan do not send it back.
    let unrelated = |_: &Scope, _: &[memorid::domain::memory::FactRecord]| false;
    let planned = PlannedAt {
        versions: &versions,
        changes_plan: &unrelated,
    };
    let applied = store
        .apply_augmentations(owner, &items, Some(&planned))
        .await
        .unwrap();
    assert_eq!(applied, Applied::Done(vec![true]));
    assert_eq!(store.list_facts(&s, true, None, 10).await.unwrap().len(), 2);
    store.close().await;
}
