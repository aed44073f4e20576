//! MemoryService's operations beyond storing turns, as domain functions:
//! recall with the turns each fact came from, waiting for augmentation,
//! paging through facts, deleting a fact, forgetting an entity, reading a
//! session. The gRPC handlers validate the request's shape, convert and
//! delegate here, so no handler holds the store.

use std::collections::HashMap;
use std::time::Duration;

use uuid::Uuid;

use crate::domain::Scope;
use crate::domain::memory::FactRecord;
use crate::domain::turns::{ForgetCounts, SessionRecord};
use crate::error::{Error, Result};
use crate::recall::{Hit, Ranked, RecallQuery, Recaller};
use crate::storage::Store;

/// WaitForAugmentation's timeout when the caller sets none, and its cap.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// ListFacts' page size when the caller sets none, and its cap.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;

#[derive(Clone)]
pub struct Memories {
    store: Store,
    recaller: Recaller,
}

/// Where the awaited augmentation work stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaited {
    /// Jobs still pending or running.
    pub open: u64,
    /// Jobs that failed for good.
    pub dead: u64,
}

/// A fact with the turns that mentioned it, oldest first.
pub type WithSources<T> = (T, Vec<Uuid>);

/// One page of an entity's facts, newest first.
pub struct FactsPage {
    pub facts: Vec<WithSources<FactRecord>>,
    /// The last fact of this page, when another page follows.
    pub next_after: Option<Uuid>,
}

impl Memories {
    pub fn new(store: Store, recaller: Recaller) -> Self {
        Memories { store, recaller }
    }

    /// The best matching memories; facts carry their source turns.
    pub async fn recall(&self, query: RecallQuery) -> Result<Vec<WithSources<Ranked>>> {
        let scope = query.scope.clone();
        let ranked = self.recaller.recall(query).await?;
        let fact_ids: Vec<Uuid> = ranked
            .iter()
            .filter_map(|r| match &r.hit {
                Hit::Fact(fact) => Some(fact.fact_id),
                Hit::Message(_) => None,
            })
            .collect();
        let mut sources = self.sources(&scope, &fact_ids).await?;
        Ok(ranked
            .into_iter()
            .map(|r| {
                let turns = match &r.hit {
                    Hit::Fact(fact) => sources.remove(&fact.fact_id).unwrap_or_default(),
                    Hit::Message(_) => Vec::new(),
                };
                (r, turns)
            })
            .collect())
    }

    /// Polls the job table (so it sees work done by any replica) until
    /// nothing awaited is open, or `timeout` (capped) passes.
    pub async fn wait_for_augmentation(
        &self,
        scope: &Scope,
        turn_ids: &[Uuid],
        timeout: Option<Duration>,
    ) -> Result<Awaited> {
        let timeout = timeout.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(10);
        loop {
            let (open, dead) = self.store.open_jobs(scope, turn_ids).await?;
            let now = tokio::time::Instant::now();
            if open == 0 || now >= deadline {
                return Ok(Awaited { open, dead });
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// A page of the entity's facts after `after` (a previous page's last
    /// fact); `page_size` 0 takes the default, and it is capped.
    pub async fn list_facts(
        &self,
        scope: &Scope,
        include_superseded: bool,
        after: Option<Uuid>,
        page_size: usize,
    ) -> Result<FactsPage> {
        let size = match page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        // One more than asked tells whether another page follows.
        let mut facts = self
            .store
            .list_facts(scope, include_superseded, after, size + 1)
            .await?;
        let next_after = if facts.len() > size {
            facts.truncate(size);
            facts.last().map(|f| f.fact_id)
        } else {
            None
        };
        let ids: Vec<Uuid> = facts.iter().map(|f| f.fact_id).collect();
        let mut sources = self.sources(scope, &ids).await?;
        let facts = facts
            .into_iter()
            .map(|fact| {
                let turns = sources.remove(&fact.fact_id).unwrap_or_default();
                (fact, turns)
            })
            .collect();
        Ok(FactsPage { facts, next_after })
    }

    /// Deletes one of the entity's facts; NOT_FOUND when it has none such.
    pub async fn delete_fact(&self, scope: &Scope, fact_id: Uuid) -> Result<()> {
        if !self.store.delete_fact(scope, fact_id).await? {
            return Err(Error::NotFound(format!("fact {fact_id} does not exist")));
        }
        Ok(())
    }

    /// Deletes everything stored about the entity.
    pub async fn forget_entity(&self, scope: &Scope) -> Result<ForgetCounts> {
        let counts = self.store.forget_entity(scope).await?;
        tracing::info!(entity_id = %scope.entity_id, ?counts, "entity forgotten");
        Ok(counts)
    }

    /// One of the entity's sessions with its turns; NOT_FOUND otherwise.
    pub async fn get_session(&self, scope: &Scope, session_id: &str) -> Result<SessionRecord> {
        self.store
            .get_session(scope, session_id)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "session {session_id:?} of entity {:?} does not exist",
                    scope.entity_id
                ))
            })
    }

    /// The turns that mentioned each fact (one query for all of them).
    async fn sources(&self, scope: &Scope, fact_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>> {
        if fact_ids.is_empty() {
            return Ok(HashMap::new());
        }
        self.store.facts_provenance(scope, fact_ids).await
    }
}
