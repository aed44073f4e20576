//! The index and its ranking, on small hand-made memories.
use chrono::Utc;

use super::vector::PARALLEL_FROM;
use super::*;
use crate::domain::Role;
use crate::domain::memory::{FactCategory, FactRecord, MessageMemory};

fn fact(text: &str, days_ago: i64, mentions: i64) -> Memory {
    let seen = Utc::now() - chrono::Duration::days(days_ago);
    Memory::Fact(FactRecord {
        fact_id: Uuid::new_v4(),
        content: text.into(),
        category: FactCategory::Other,
        mention_count: mentions,
        first_seen_at: seen,
        last_seen_at: seen,
        valid_until: None,
        superseded_by: None,
        embedding: None,
    })
}

fn message(text: &str, process: &str) -> Memory {
    Memory::Message(MessageMemory {
        message_id: Uuid::new_v4(),
        turn_id: Uuid::new_v4(),
        session_id: "s".into(),
        process_id: Some(process.into()),
        role: Role::User,
        content: text.into(),
        name: None,
        occurred_at: Utc::now(),
    })
}

fn index_of(memories: Vec<(Memory, [f32; 2])>) -> MemoryIndex {
    let mut index = MemoryIndex::default();
    for (memory, vector) in memories {
        index.upsert(memory, &vector).unwrap();
    }
    index
}

fn weights(dense: f64, lexical: f64) -> Weights {
    Weights {
        dense,
        lexical,
        recency: 0.0,
        mentions: 0.0,
        ..Weights::default()
    }
}

/// Scores in the index's order (every memory, no threshold).
fn scores(index: &MemoryIndex, text: &str, vector: &[f32], weights: &Weights) -> Vec<Score> {
    scores_filtered(index, text, vector, weights, &Filter::default())
}

fn scores_filtered(
    index: &MemoryIndex,
    text: &str,
    vector: &[f32],
    weights: &Weights,
    filter: &Filter,
) -> Vec<Score> {
    let mut found = search(
        &[index],
        &Search {
            text,
            vector,
            filter,
            weights,
            now: Utc::now(),
            min_score: f64::NEG_INFINITY,
            limit: usize::MAX,
        },
    );
    found.sort_by_key(|f| f.position);
    found.into_iter().map(|f| f.score).collect()
}

#[test]
fn bm25_prefers_rare_terms_and_shorter_memories() {
    let zero = [0.0, 0.0];
    let index = index_of(vec![
        (fact("planning a trip", 0, 1), zero),
        (fact("a trip to zanzibar next may", 0, 1), zero),
        (fact("zanzibar", 0, 1), zero),
        (fact("nothing related", 0, 1), zero),
    ]);
    let s = scores(&index, "zanzibar trip", &zero, &weights(0.0, 1.0));
    assert_eq!(s[3].lexical, 0.0);
    assert!(s[2].lexical > s[0].lexical, "rare beats common: {s:?}");
    assert!(s[1].lexical > s[0].lexical, "both terms beat one: {s:?}");
}

#[test]
fn lexical_only_finds_what_vectors_miss() {
    let zero = [0.0, 0.0];
    let index = index_of(vec![
        (fact("likes tea", 0, 1), zero),
        (fact("flight AB1234 on Monday", 0, 1), zero),
    ]);
    let s = scores(&index, "AB1234", &[1.0, 0.0], &weights(0.0, 1.0));
    assert!(s[1].total > 0.5, "{s:?}");
    assert_eq!(s[0].total, 0.0);
}

#[test]
fn dense_only_ranks_by_cosine_and_ignores_negative_similarity() {
    let index = index_of(vec![
        (fact("x", 0, 1), [0.6, 0.8]),
        (fact("y", 0, 1), [2.0, 0.0]),
        (fact("z", 0, 1), [-1.0, 0.0]),
    ]);
    let s = scores(&index, "q", &[3.0, 0.0], &weights(1.0, 0.0));
    assert!((s[1].total - 1.0).abs() < 1e-6, "lengths do not matter");
    assert!((s[0].total - 0.6).abs() < 1e-6);
    assert_eq!(s[2].total, 0.0);
}

#[test]
fn priors_break_ties_toward_recent_and_often_mentioned() {
    let v = [1.0, 0.0];
    let index = index_of(vec![
        (fact("same", 90, 1), v),
        (fact("same", 0, 1), v),
        (fact("same", 90, 9), v),
    ]);
    let s = scores(&index, "same", &v, &Weights::default());
    assert!(s[1].total > s[0].total, "recent wins: {s:?}");
    assert!(s[2].total > s[0].total, "mentioned wins: {s:?}");
    assert!((s[1].recency - 1.0).abs() < 1e-3);
    assert!((s[0].recency - 0.125).abs() < 1e-3, "three half-lives");
    assert!((s[2].mentions - 1.0).abs() < 1e-9);
}

#[test]
fn a_common_word_alone_is_a_weak_lexical_match() {
    let zero = [0.0, 0.0];
    let index = index_of(vec![
        (fact("my daughter plays the violin", 0, 1), zero),
        (fact("likes tea", 0, 1), zero),
        (fact("lives in Lisbon", 0, 1), zero),
    ]);
    let s = scores(
        &index,
        "which language does the user like",
        &[1.0, 0.0],
        &Weights::default(),
    );
    assert!(s[0].lexical < 0.2, "{s:?}");
}

#[test]
fn fusion_combines_both_signals() {
    let index = index_of(vec![
        (fact("prefers async Python", 0, 1), [0.9, 0.436]),
        (fact("python python python", 0, 1), [0.0, 1.0]),
    ]);
    let s = scores(&index, "async python", &[1.0, 0.0], &Weights::default());
    assert!(s[0].total > s[1].total, "{s:?}");
    assert!(s[0].lexical > 0.0 && s[1].lexical > 0.0);
}

#[test]
fn filters_leave_out_superseded_facts_other_processes_and_other_times() {
    let v = [1.0, 0.0];
    let mut old = fact("lived in Porto", 10, 1);
    if let Memory::Fact(f) = &mut old {
        f.valid_until = Some(Utc::now());
    }
    let facts = index_of(vec![(old, v), (fact("lives in Lisbon", 1, 1), v)]);
    let messages = index_of(vec![
        (message("moving to Lisbon", "app-a"), v),
        (message("Lisbon flat hunting", "app-b"), v),
    ]);
    let run = |filter: Filter| {
        let found = search(
            &[&facts, &messages],
            &Search {
                text: "lisbon",
                vector: &v,
                filter: &filter,
                weights: &Weights::default(),
                now: Utc::now(),
                min_score: 0.0,
                limit: 10,
            },
        );
        let mut texts: Vec<String> = found
            .iter()
            .map(|f| {
                [&facts, &messages][f.part]
                    .memory(f.position)
                    .text()
                    .to_string()
            })
            .collect();
        texts.sort();
        texts
    };
    assert_eq!(
        run(Filter::default()),
        ["Lisbon flat hunting", "lives in Lisbon", "moving to Lisbon"]
    );
    assert!(
        run(Filter {
            include_superseded: true,
            ..Filter::default()
        })
        .contains(&"lived in Porto".to_string())
    );
    assert_eq!(
        run(Filter {
            process_id: Some("app-a".into()),
            ..Filter::default()
        }),
        ["lives in Lisbon", "moving to Lisbon"]
    );
    assert_eq!(
        run(Filter {
            before: Some(Utc::now() - chrono::Duration::hours(1)),
            ..Filter::default()
        }),
        ["lives in Lisbon"]
    );
}

#[test]
fn limit_and_min_score_cut_the_list_best_first() {
    let index = index_of(
        (0..20)
            .map(|i| {
                let angle = i as f32 * 0.07;
                (fact(&format!("m{i}"), 0, 1), [angle.cos(), angle.sin()])
            })
            .collect(),
    );
    let run = |min_score: f64, limit: usize| {
        search(
            &[&index],
            &Search {
                text: "q",
                vector: &[1.0, 0.0],
                filter: &Filter::default(),
                weights: &weights(1.0, 0.0),
                now: Utc::now(),
                min_score,
                limit,
            },
        )
    };
    let top = run(0.0, 5);
    let positions: Vec<usize> = top.iter().map(|f| f.position).collect();
    assert_eq!(positions, [0, 1, 2, 3, 4]);
    // The threshold is on the absolute score (here the cosine alone), not
    // on the per-query scale the ranking uses.
    let above = run(0.95, 100);
    assert!(above.iter().all(|f| f.score.dense >= 0.95));
    assert_eq!(above.len(), 5, "cos(0.28) ≥ 0.95 > cos(0.35)");
    assert!(above[0].score.total > above[4].score.total);
}

#[test]
fn replacing_a_memory_updates_its_terms_and_vector() {
    let mut index = index_of(vec![(fact("likes tea", 0, 1), [1.0, 0.0])]);
    let Memory::Fact(mut changed) = index.memory(0).clone() else {
        unreachable!()
    };
    changed.content = "likes coffee".into();
    changed.mention_count = 3;
    index.upsert(Memory::Fact(changed), &[0.0, 1.0]).unwrap();
    assert_eq!(index.len(), 1);
    let s = scores(&index, "tea", &[0.0, 1.0], &weights(0.5, 0.5));
    assert_eq!(s[0].lexical, 0.0, "the old text is gone");
    assert!((s[0].dense - 1.0).abs() < 1e-6, "the new vector is used");
    let s = scores(&index, "coffee", &[1.0, 0.0], &weights(0.0, 1.0));
    assert!(s[0].lexical > 0.0);
    assert!(index.upsert(fact("x", 0, 1), &[1.0]).is_err());
}

#[test]
fn dot_products_match_plain_sums_also_when_split_across_threads() {
    let dimension = 387;
    let count = PARALLEL_FROM + 3;
    let query: Vec<f32> = (0..dimension).map(|i| (i as f32 * 0.37).sin()).collect();
    let vectors: Vec<f32> = (0..dimension * count)
        .map(|i| (i as f32 * 0.11).cos())
        .collect();
    let mut out = Vec::new();
    dots(&query, &vectors, &mut out);
    assert_eq!(out.len(), count);
    for (i, value) in out.iter().enumerate() {
        let plain: f32 = query
            .iter()
            .zip(&vectors[i * dimension..(i + 1) * dimension])
            .map(|(x, y)| x * y)
            .sum();
        assert!(
            (value - plain).abs() < 1e-2,
            "vector {i}: {value} vs {plain}"
        );
    }
}

#[test]
fn a_message_is_found_by_its_speakers_name() {
    let mut by_caroline = message("I went to a support group yesterday", "p");
    if let Memory::Message(m) = &mut by_caroline {
        m.name = Some("Caroline".into());
    }
    let to_caroline = message("Caroline, how was the support group?", "p");
    let index = index_of(vec![(by_caroline, [1.0, 0.0]), (to_caroline, [1.0, 0.0])]);
    let found = scores(
        &index,
        "caroline support group",
        &[1.0, 0.0],
        &weights(0.0, 1.0),
    );
    // Both hold every term; the shorter, spoken one ranks at least as high.
    assert!(
        found[0].lexical > 0.0 && found[1].lexical > 0.0,
        "{found:?}"
    );
    let alone = scores(&index, "caroline", &[1.0, 0.0], &weights(0.0, 1.0));
    assert!(
        alone[0].lexical > 0.0,
        "the speaker's name is not indexed: {alone:?}"
    );
}

#[test]
fn min_max_fusion_puts_both_lists_on_one_scale_per_query() {
    // Cosines crowd into a narrow band; BM25 spreads widely. Absolute
    // fusion lets the lexical list decide; min-max weighs both as set.
    let index = index_of(vec![
        (fact("sailing boats on weekends", 0, 1), [0.60, 0.80]),
        (fact("boats", 0, 1), [0.55, 0.835]),
        (fact("unrelated", 0, 1), [0.50, 0.866]),
    ]);
    let both = Weights {
        dense: 0.5,
        lexical: 0.5,
        recency: 0.0,
        mentions: 0.0,
        fusion: Fusion::MinMax,
        ..Weights::default()
    };
    let min_max = scores(&index, "sailing", &[1.0, 0.0], &both);
    // The best of each list scores 1 on its scale, the weakest 0.
    assert!((min_max[0].total - 1.0).abs() < 1e-9, "{min_max:?}");
    assert!(min_max[2].total.abs() < 1e-9, "{min_max:?}");
    let absolute = scores(
        &index,
        "sailing",
        &[1.0, 0.0],
        &Weights {
            fusion: Fusion::Absolute,
            ..both
        },
    );
    // The parts callers see are the same either way.
    for (a, m) in absolute.iter().zip(&min_max) {
        assert_eq!((a.dense, a.lexical), (m.dense, m.lexical));
    }
    // Absolutely, "unrelated" keeps half its cosine; min-max gives it none.
    assert!(absolute[2].total > 0.2, "{absolute:?}");
}

/// A message of session `session`, `minutes` after a fixed start.
fn said(text: &str, session: &str, minutes: i64) -> Memory {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    Memory::Message(MessageMemory {
        message_id: Uuid::now_v7(),
        turn_id: Uuid::now_v7(),
        session_id: session.into(),
        process_id: None,
        role: Role::User,
        content: text.into(),
        name: None,
        occurred_at: start + chrono::Duration::minutes(minutes),
    })
}

#[test]
fn a_message_window_carries_what_its_earlier_messages_of_the_session_said() {
    // "A beagle" says nothing of a puppy; the message before it does.
    // Stored out of time order, with another session in between.
    let index = index_of(vec![
        (said("A beagle, of course", "s1", 2), [0.0, 1.0]),
        (said("We got a puppy!", "s1", 0), [1.0, 0.0]),
        (said("A beagle show on TV", "s2", 1), [0.0, 1.0]),
        (said("What breed?", "s1", 1), [0.0, 1.0]),
    ]);
    let query = [1.0, 0.0];
    let alone = scores(&index, "", &query, &weights(1.0, 0.0));
    assert_eq!(alone[0].dense, 0.0);
    let with_context = Weights {
        context: 0.5,
        ..weights(1.0, 0.0)
    };
    let s = scores(&index, "", &query, &with_context);
    // Window of "A beagle": its own, "What breed?" and "We got a puppy!",
    // the mean cosine (0 + 0 + 1) / 3, blended half and half with its own 0.
    let window = 1.0 / 3.0;
    assert!((s[0].dense - 0.5 * window).abs() < 1e-6, "{s:?}");
    // The other session's message is not in the window.
    assert_eq!(s[2].dense, 0.0);
    // The first message of a session is its own window.
    assert!((s[1].dense - 1.0).abs() < 1e-6, "{s:?}");
}

#[test]
fn a_message_shares_in_its_stronger_neighbours_relevance() {
    let index = index_of(vec![
        (said("We got a puppy!", "s1", 0), [1.0, 0.0]),
        (said("What breed?", "s1", 1), [0.0, 1.0]),
        (said("Unrelated chat", "s1", 9), [0.0, 1.0]),
        (said("Later, another day", "s2", 2), [0.0, 1.0]),
    ]);
    let query = [1.0, 0.0];
    let sharing = Weights {
        neighbours: 0.2,
        ..weights(1.0, 0.0)
    };
    let s = scores(&index, "", &query, &sharing);
    // "What breed?" follows the strong message: a fifth of its relevance.
    assert!((s[1].total - 0.2).abs() < 1e-6, "{s:?}");
    // Its own neighbours are weak (0 and 0.2 from it): it keeps its own.
    assert!((s[0].total - 1.0).abs() < 1e-6, "{s:?}");
    // Two steps away, or in another session: nothing shared.
    assert_eq!(s[2].total, 0.0);
    assert_eq!(s[3].total, 0.0);
    // Score parts stay the message's own.
    assert_eq!(s[1].dense, 0.0);
    // A neighbour the filter leaves out shares nothing.
    let after = Filter {
        after: Some(
            chrono::DateTime::parse_from_rfc3339("2026-01-01T10:00:30Z")
                .unwrap()
                .with_timezone(&Utc),
        ),
        ..Filter::default()
    };
    let filtered = scores_filtered(&index, "", &query, &sharing, &after);
    assert_eq!(filtered[0].total, 0.0, "{filtered:?}");
}
