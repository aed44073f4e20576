//! A small least-recently-used map bounded by a weight (bytes, or 1 per
//! entry for a count bound).
//!
//! Invariants: `weight` is the sum of the weights of the entries held and
//! never exceeds `capacity` after an insert returns; an entry heavier than
//! the whole capacity is not kept at all. Eviction scans for the oldest
//! use, which is linear in the number of entries: the caches built on it
//! hold hundreds to a few thousand entries, and evict only on insert.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

struct Slot<V> {
    value: V,
    weight: usize,
    used: u64,
}

pub struct Lru<K, V> {
    slots: HashMap<K, Slot<V>>,
    capacity: usize,
    weight: usize,
    clock: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub fn new(capacity: usize) -> Self {
        Lru {
            slots: HashMap::new(),
            capacity,
            weight: 0,
            clock: 0,
        }
    }

    /// The value, marked as just used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.clock += 1;
        let clock = self.clock;
        self.slots.get_mut(key).map(|slot| {
            slot.used = clock;
            &slot.value
        })
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.slots.remove(key)?;
        self.weight -= slot.weight;
        Some(slot.value)
    }

    /// Keeps the value (replacing any under the same key), evicting the
    /// least recently used entries until the total fits; false if the
    /// value alone is heavier than the capacity and was not kept.
    pub fn insert(&mut self, key: K, value: V, weight: usize) -> bool {
        self.remove(&key);
        if weight > self.capacity {
            return false;
        }
        while self.weight + weight > self.capacity {
            let Some(oldest) = self
                .slots
                .iter()
                .min_by_key(|(_, slot)| slot.used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
        self.clock += 1;
        self.weight += weight;
        self.slots.insert(
            key,
            Slot {
                value,
                weight,
                used: self.clock,
            },
        );
        true
    }

    pub fn weight(&self) -> usize {
        self.weight
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_until_the_weight_fits() {
        let mut lru = Lru::new(10);
        assert!(lru.insert("a", 1, 4));
        assert!(lru.insert("b", 2, 4));
        assert_eq!(lru.get("a"), Some(&1), "a is now the most recent");
        assert!(lru.insert("c", 3, 4));
        assert_eq!(lru.get("b"), None, "b was the least recently used");
        assert_eq!(lru.get("a"), Some(&1));
        assert_eq!(lru.get("c"), Some(&3));
        assert_eq!(lru.weight(), 8);
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn an_entry_heavier_than_the_capacity_is_not_kept() {
        let mut lru = Lru::new(10);
        assert!(lru.insert("a", 1, 5));
        assert!(!lru.insert("big", 2, 11));
        assert_eq!(lru.get("big"), None);
        assert_eq!(lru.get("a"), Some(&1), "nothing was evicted for it");
    }

    #[test]
    fn replacing_a_key_replaces_its_weight() {
        let mut lru = Lru::new(10);
        lru.insert("a", 1, 6);
        lru.insert("a", 2, 3);
        assert_eq!(lru.weight(), 3);
        assert_eq!(lru.remove("a"), Some(2));
        assert_eq!(lru.weight(), 0);
        assert!(lru.is_empty());
    }
}
