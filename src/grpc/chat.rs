//! `memori.v1.ChatService`.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::{auth, deadline};
use crate::chat::{ChatEngine, ChatTurn};
use crate::pb;

pub struct ChatApi {
    engine: ChatEngine,
}

impl ChatApi {
    pub fn new(engine: ChatEngine) -> Self {
        ChatApi { engine }
    }
}

type ChatStream = Pin<Box<dyn Stream<Item = Result<pb::ChatResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::chat_service_server::ChatService for ChatApi {
    type ChatStream = ChatStream;

    async fn chat(
        &self,
        request: Request<pb::ChatRequest>,
    ) -> Result<Response<ChatStream>, Status> {
        let namespace = auth::namespace(&request)?;
        let deadline = deadline::deadline(&request);
        let turn = ChatTurn::try_from(request.into_inner())?;
        let events = self.engine.start(namespace, turn, deadline).await?;
        let stream = events.map(|event| event.map(pb::ChatResponse::from).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }
}
