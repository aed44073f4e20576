//! `memori.v1.MemoryService`: Recall, Attribute, the augmentation and fact
//! management RPCs, sessions and forgetting. Each handler reads the
//! caller's namespace, converts the request and delegates to `Memories`
//! (or, for Attribute, the `Ingestor`).

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{auth, convert};
use crate::error::Error;
use crate::ingest::{AttributedTurn, Ingestor};
use crate::memories::Memories;
use crate::pb;

pub struct MemoryApi {
    memories: Memories,
    ingestor: Ingestor,
}

impl MemoryApi {
    pub fn new(memories: Memories, ingestor: Ingestor) -> Self {
        MemoryApi { memories, ingestor }
    }
}

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
        let responses: Vec<Result<pb::RecallResponse, Status>> = self
            .memories
            .recall(query)
            .await?
            .into_iter()
            .map(|(ranked, sources)| Ok(convert::recall_response(ranked, sources, include_parts)))
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(responses))))
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
        let timeout = timeout
            .map(|t| {
                Duration::try_from(t).map_err(|_| Error::invalid("timeout", "must not be negative"))
            })
            .transpose()?;
        let awaited = self
            .memories
            .wait_for_augmentation(&scope, &turn_ids, timeout)
            .await?;
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(pb::WaitForAugmentationResponse {
            completed: awaited.open == 0,
            pending_jobs: clamp(awaited.open),
            dead_jobs: clamp(awaited.dead),
        }))
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
        let page = self
            .memories
            .list_facts(&scope, include_superseded, after, page_size as usize)
            .await?;
        Ok(Response::new(pb::ListFactsResponse {
            facts: page
                .facts
                .into_iter()
                .map(|(fact, sources)| convert::fact_with_sources(fact, sources))
                .collect(),
            next_page_token: page.next_after.map(|id| id.to_string()).unwrap_or_default(),
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
        self.memories.delete_fact(&scope, id).await?;
        Ok(Response::new(pb::DeleteFactResponse {}))
    }

    async fn forget_entity(
        &self,
        request: Request<pb::ForgetEntityRequest>,
    ) -> Result<Response<pb::ForgetEntityResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::ForgetEntityRequest { attribution } = request.into_inner();
        let (scope, _) = convert::entity_scope(namespace, attribution, false)?;
        let counts = self.memories.forget_entity(&scope).await?;
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
        let session = self.memories.get_session(&scope, &session_id).await?;
        Ok(Response::new(session.into()))
    }
}
