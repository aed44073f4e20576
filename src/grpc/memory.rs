//! `memori.v1.MemoryService`: Recall, Attribute, the augmentation and fact
//! management RPCs, sessions and forgetting.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{auth, convert};
use crate::domain::Scope;
use crate::error::Error;
use crate::ingest::{AttributedTurn, Ingestor};
use crate::pb;
use crate::recall::Recaller;
use crate::storage::Store;

pub struct MemoryApi {
    store: Store,
    ingestor: Ingestor,
    recaller: Recaller,
}

impl MemoryApi {
    pub fn new(store: Store, ingestor: Ingestor, recaller: Recaller) -> Self {
        MemoryApi {
            store,
            ingestor,
            recaller,
        }
    }
}

impl MemoryApi {
    /// Fills each fact's `source_turn_ids` (one query for all of them).
    async fn with_provenance<'a>(
        &self,
        scope: &Scope,
        facts: impl Iterator<Item = &'a mut pb::Fact>,
    ) -> Result<(), Status> {
        let mut facts: Vec<&mut pb::Fact> = facts.collect();
        let ids: Vec<uuid::Uuid> = facts.iter().filter_map(|f| f.id.parse().ok()).collect();
        let mut provenance = self.store.facts_provenance(scope, &ids).await?;
        for fact in &mut facts {
            let turns = fact
                .id
                .parse()
                .ok()
                .and_then(|id| provenance.remove(&id))
                .unwrap_or_default();
            fact.source_turn_ids = turns.iter().map(ToString::to_string).collect();
        }
        Ok(())
    }
}

/// WaitForAugmentation's timeout when the caller sets none, and its cap.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);
const MAX_WAIT: Duration = Duration::from_secs(300);
/// ListFacts' page size when the caller sets none, and its cap.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::memory_service_server::MemoryService for MemoryApi {
    type RecallStream = BoxStream<pb::RecallResponse>;
    type AttributeStream = BoxStream<pb::AttributeResponse>;

    /// Ranks all of the entity's matching memories, then streams the best
    /// `limit` of them, best first.
    async fn recall(
        &self,
        request: Request<pb::RecallRequest>,
    ) -> Result<Response<Self::RecallStream>, Status> {
        let namespace = auth::namespace(&request)?;
        let (query, include_parts) = convert::recall_query(namespace, request.into_inner())?;
        let scope = query.scope.clone();
        let ranked = self.recaller.recall(query).await?;
        let mut responses: Vec<pb::RecallResponse> = ranked
            .into_iter()
            .map(|r| convert::recall_response(r, include_parts))
            .collect();
        let facts = responses.iter_mut().filter_map(|r| match &mut r.hit {
            Some(pb::recall_response::Hit::Fact(fact)) => Some(fact),
            _ => None,
        });
        self.with_provenance(&scope, facts).await?;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            responses.into_iter().map(Ok),
        ))))
    }

    /// Turns are stored one after another in arrival order; each answer
    /// goes out only after its turn is committed. A bad turn ends the
    /// stream with INVALID_ARGUMENT; the turns before it stay stored.
    async fn attribute(
        &self,
        request: Request<Streaming<pb::AttributeRequest>>,
    ) -> Result<Response<Self::AttributeStream>, Status> {
        let namespace = auth::namespace(&request)?;
        let mut incoming = request.into_inner();
        let ingestor = self.ingestor.clone();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(next) = incoming.next().await {
                let answer = match next {
                    Ok(request) => {
                        let key = request.idempotency_key.clone();
                        match AttributedTurn::try_from(request) {
                            Ok(turn) => ingestor.ingest(&namespace, turn).await,
                            Err(error) => Err(error),
                        }
                        .map(|stored| pb::AttributeResponse {
                            idempotency_key: key,
                            turn_id: stored.turn_id.to_string(),
                            session_id: stored.session_id,
                            duplicate: stored.duplicate,
                        })
                        .map_err(Status::from)
                    }
                    Err(status) => Err(status),
                };
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    /// Polls the job table (so it sees work done by any replica) until
    /// nothing awaited is pending, or the timeout passes.
    async fn wait_for_augmentation(
        &self,
        request: Request<pb::WaitForAugmentationRequest>,
    ) -> Result<Response<pb::WaitForAugmentationResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::WaitForAugmentationRequest {
            attribution,
            turn_ids,
            timeout,
        } = request.into_inner();
        let (scope, _) = convert::entity_scope(namespace, attribution, false)?;
        let turn_ids = turn_ids
            .iter()
            .enumerate()
            .map(|(i, id)| convert::uuid_field(&format!("turn_ids[{i}]"), id))
            .collect::<Result<Vec<_>, Error>>()?;
        let timeout = match timeout {
            None => DEFAULT_WAIT,
            Some(t) => Duration::try_from(t)
                .map_err(|_| Error::invalid("timeout", "must not be negative"))?
                .min(MAX_WAIT),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(10);
        loop {
            let (open, dead) = self.store.open_jobs(&scope, &turn_ids).await?;
            let now = tokio::time::Instant::now();
            if open == 0 || now >= deadline {
                let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
                return Ok(Response::new(pb::WaitForAugmentationResponse {
                    completed: open == 0,
                    pending_jobs: clamp(open),
                    dead_jobs: clamp(dead),
                }));
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    async fn list_facts(
        &self,
        request: Request<pb::ListFactsRequest>,
    ) -> Result<Response<pb::ListFactsResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::ListFactsRequest {
            attribution,
            page_size,
            page_token,
            include_superseded,
        } = request.into_inner();
        let (scope, _) = convert::entity_scope(namespace, attribution, false)?;
        let after = (!page_token.is_empty())
            .then(|| convert::uuid_field("page_token", &page_token))
            .transpose()?;
        let size = match page_size {
            0 => DEFAULT_PAGE,
            n => (n as usize).min(MAX_PAGE),
        };
        // One more than asked tells whether another page follows.
        let mut facts = self
            .store
            .list_facts(&scope, include_superseded, after, size + 1)
            .await?;
        let next_page_token = if facts.len() > size {
            facts.truncate(size);
            facts
                .last()
                .map(|f| f.fact_id.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut facts: Vec<pb::Fact> = facts.into_iter().map(pb::Fact::from).collect();
        self.with_provenance(&scope, facts.iter_mut()).await?;
        Ok(Response::new(pb::ListFactsResponse {
            facts,
            next_page_token,
        }))
    }

    async fn delete_fact(
        &self,
        request: Request<pb::DeleteFactRequest>,
    ) -> Result<Response<pb::DeleteFactResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::DeleteFactRequest {
            attribution,
            fact_id,
        } = request.into_inner();
        let (scope, _) = convert::entity_scope(namespace, attribution, false)?;
        let id = convert::uuid_field("fact_id", &fact_id)?;
        if !self.store.delete_fact(&scope, id).await? {
            return Err(Error::NotFound(format!("fact {fact_id:?} does not exist")).into());
        }
        Ok(Response::new(pb::DeleteFactResponse {}))
    }

    async fn forget_entity(
        &self,
        request: Request<pb::ForgetEntityRequest>,
    ) -> Result<Response<pb::ForgetEntityResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::ForgetEntityRequest { attribution } = request.into_inner();
        let (scope, _) = convert::entity_scope(namespace, attribution, false)?;
        let counts = self.store.forget_entity(&scope).await?;
        tracing::info!(entity_id = %scope.entity_id, ?counts, "entity forgotten");
        Ok(Response::new(counts.into()))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::GetSessionRequest { attribution } = request.into_inner();
        let (scope, session_id) = convert::entity_scope(namespace, attribution, true)?;
        let session_id = session_id.unwrap_or_default();
        let session = self
            .store
            .get_session(&scope, &session_id)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "session {session_id:?} of entity {:?} does not exist",
                    scope.entity_id
                ))
            })?;
        Ok(Response::new(session.into()))
    }
}
