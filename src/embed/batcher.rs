//! Runs the built-in model on one dedicated thread and coalesces the
//! requests waiting for it into one forward pass.
//!
//! Augmentation workers each embed a few sentences per job; one at a time
//! the model would spend most of its time on tiny batches. Here, whatever
//! arrived while the previous pass ran goes into the next one (up to
//! `MAX_BATCH` sentences), so throughput approaches the model's batched
//! rate. The request queue is bounded: callers wait when it is full.
//!
//! Queries (a recall's one sentence, on the chat path) have a thread and
//! a model instance of their own, so they never wait behind a background
//! batch; they are embedded in the query role, everything else as
//! passages.

use tokio::sync::{mpsc, oneshot};

use super::Role;

/// A model that runs in-process, one call at a time per instance.
pub trait LocalModel: Send + 'static {
    fn embed(&mut self, texts: &[String], role: Role) -> anyhow::Result<Vec<Vec<f32>>>;
}

/// Most sentences in one forward pass.
const MAX_BATCH: usize = 64;
/// Requests waiting for the model at most.
const QUEUE: usize = 256;

type Reply = oneshot::Sender<anyhow::Result<Vec<Vec<f32>>>>;

struct Request {
    texts: Vec<String>,
    reply: Reply,
}

#[derive(Clone)]
pub struct Batcher {
    requests: mpsc::Sender<Request>,
    queries: mpsc::Sender<Request>,
}

impl Batcher {
    /// Starts the two threads: `query_model` answers queries,
    /// `background_model` everything else.
    pub fn start(
        mut query_model: Box<dyn LocalModel>,
        mut background_model: Box<dyn LocalModel>,
    ) -> anyhow::Result<Batcher> {
        let (requests, mut queue) = mpsc::channel::<Request>(QUEUE);
        let (queries, mut query_queue) = mpsc::channel::<Request>(QUEUE);
        std::thread::Builder::new()
            .name("memorid-query-embedder".into())
            .spawn(move || {
                while let Some(first) = query_queue.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match query_queue.try_recv() {
                            Ok(request) => batch.push(request),
                            Err(_) => break,
                        }
                    }
                    run(query_model.as_mut(), Role::Query, batch);
                }
            })?;
        std::thread::Builder::new()
            .name("memorid-embedder".into())
            .spawn(move || {
                while let Some(first) = queue.blocking_recv() {
                    let mut batch = vec![first];
                    let mut sentences = batch[0].texts.len();
                    while sentences < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(request) => {
                                sentences += request.texts.len();
                                batch.push(request);
                            }
                            Err(_) => break,
                        }
                    }
                    run(background_model.as_mut(), Role::Passage, batch);
                }
            })?;
        Ok(Batcher { requests, queries })
    }

    /// Background work (augmentation): batched with other such requests.
    pub async fn embed(&self, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        Self::send(&self.requests, texts).await
    }

    /// A query someone is waiting for: on the query thread.
    pub async fn embed_query(&self, text: String) -> anyhow::Result<Vec<f32>> {
        let mut vectors = Self::send(&self.queries, vec![text]).await?;
        vectors
            .pop()
            .ok_or_else(|| anyhow::anyhow!("the embedder returned no vector"))
    }

    async fn send(
        queue: &mpsc::Sender<Request>,
        texts: Vec<String>,
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let (reply, answer) = oneshot::channel();
        queue
            .send(Request { texts, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the embedder thread stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the embedder thread dropped a request"))?
    }
}

/// One forward pass for the whole batch, answers split back per request.
fn run(model: &mut dyn LocalModel, role: Role, batch: Vec<Request>) {
    let all: Vec<String> = batch.iter().flat_map(|r| r.texts.iter().cloned()).collect();
    match model.embed(&all, role) {
        Ok(vectors) => {
            let mut vectors = vectors.into_iter();
            for request in batch {
                let mine: Vec<Vec<f32>> = vectors.by_ref().take(request.texts.len()).collect();
                let _ = request.reply.send(Ok(mine));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for request in batch {
                let _ = request.reply.send(Err(anyhow::anyhow!("{message}")));
            }
        }
    }
}
