//! Where each message sits in its session, for ranking's two context
//! signals: the *window* (a message with up to two earlier messages of its
//! session, scored by their mean cosine) and the *neighbours* whose
//! relevance it shares.
//!
//! In long conversations the answer is often spread over consecutive
//! turns ("We got a puppy!" — "What breed?" — "A beagle"): the turn that
//! names the beagle never says "puppy". The window's similarity to a query
//! is the mean of its messages' cosines, computed from the stored vectors
//! at search time with no second embedding per message. (The cosine of the
//! messages' vector *sum* was tried first: a sum of two similar unit
//! vectors is closer to every query than either, so a content-free "Noted."
//! after a relevant message outranked the message itself.)
//!
//! Invariants: built from the index's messages as they are (the index
//! drops it on every change); facts have no session, so their window is
//! themselves alone and they have no neighbours.

use std::collections::HashMap;

use crate::domain::memory::Memory;

/// Earlier messages in a window besides the message itself.
const EARLIER: usize = 2;

#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    /// Up to two earlier messages of the session, nearest first.
    pub earlier: [Option<u32>; EARLIER],
    /// The next message of the session.
    pub later: Option<u32>,
}

/// Each memory's place, by position.
pub(super) fn places(memories: &[Memory]) -> Vec<Place> {
    let mut places = vec![
        Place {
            earlier: [None; EARLIER],
            later: None,
        };
        memories.len()
    ];
    let mut sessions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (position, memory) in memories.iter().enumerate() {
        if let Memory::Message(message) = memory {
            sessions
                .entry(message.session_id.as_str())
                .or_default()
                .push(position);
        }
    }
    for mut order in sessions.into_values() {
        // Time order; a turn's messages share a time, so ids break ties
        // (message ids are time-ordered UUIDv7s).
        order.sort_by_key(|&position| match &memories[position] {
            Memory::Message(m) => Some((m.occurred_at, m.message_id)),
            Memory::Fact(_) => None,
        });
        for (rank, &position) in order.iter().enumerate() {
            let place = &mut places[position];
            for back in 0..EARLIER {
                let Some(&earlier) = rank.checked_sub(back + 1).and_then(|r| order.get(r)) else {
                    break;
                };
                place.earlier[back] = Some(earlier as u32);
            }
            place.later = order.get(rank + 1).map(|&p| p as u32);
        }
    }
    places
}
