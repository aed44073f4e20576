//! `memori.v1.MemoryService`.
//!
//! Recall, WaitForAugmentation, ListFacts and DeleteFact need the
//! augmentation and recall stages, which are not built yet: they answer
//! UNIMPLEMENTED and say so.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::auth;
use crate::domain::{self, Scope};
use crate::error::Error;
use crate::ingest::{AttributedTurn, Ingestor};
use crate::pb;
use crate::storage::Store;

pub struct MemoryApi {
    store: Store,
    ingestor: Ingestor,
}

impl MemoryApi {
    pub fn new(store: Store, ingestor: Ingestor) -> Self {
        MemoryApi { store, ingestor }
    }
}

fn scope(namespace: String, entity_id: String) -> Result<Scope, Status> {
    domain::validate_id("entity_id", &entity_id, true)?;
    Ok(Scope {
        namespace,
        entity_id,
    })
}

fn not_yet(what: &str) -> Status {
    Status::unimplemented(format!(
        "{what} is not implemented yet: it arrives with the augmentation and recall stages"
    ))
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::memory_service_server::MemoryService for MemoryApi {
    type RecallStream = BoxStream<pb::RecallResponse>;
    type AttributeStream = BoxStream<pb::AttributeResponse>;

    async fn recall(
        &self,
        _request: Request<pb::RecallRequest>,
    ) -> Result<Response<Self::RecallStream>, Status> {
        Err(not_yet("Recall"))
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
        _request: Request<pb::WaitForAugmentationRequest>,
    ) -> Result<Response<pb::WaitForAugmentationResponse>, Status> {
        Err(not_yet("WaitForAugmentation"))
    }

    async fn list_facts(
        &self,
        _request: Request<pb::ListFactsRequest>,
    ) -> Result<Response<pb::ListFactsResponse>, Status> {
        Err(not_yet("ListFacts"))
    }

    async fn delete_fact(
        &self,
        _request: Request<pb::DeleteFactRequest>,
    ) -> Result<Response<pb::DeleteFactResponse>, Status> {
        Err(not_yet("DeleteFact"))
    }

    async fn forget_entity(
        &self,
        request: Request<pb::ForgetEntityRequest>,
    ) -> Result<Response<pb::ForgetEntityResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::ForgetEntityRequest { entity_id } = request.into_inner();
        let scope = scope(namespace, entity_id)?;
        let counts = self.store.forget_entity(&scope).await?;
        tracing::info!(entity_id = %scope.entity_id, ?counts, "entity forgotten");
        Ok(Response::new(counts.into()))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let namespace = auth::namespace(&request)?;
        let pb::GetSessionRequest {
            entity_id,
            session_id,
        } = request.into_inner();
        let scope = scope(namespace, entity_id)?;
        domain::validate_id("session_id", &session_id, true)?;
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
