//! `memorid eval recall DATASET`: how well a running server finds the
//! evidence for questions about past conversations.
//!
//! Against a server (over gRPC, like any client): each conversation of the
//! dataset is stored through Attribute as one entity (idempotency keys are
//! the dataset's turn ids, so a rerun with the same prefix stores nothing
//! twice), augmentation is waited for, each question is asked through
//! Recall (facts and messages), and the hits are scored against the
//! evidence (`score`). The entities are forgotten at the end unless kept.

pub mod dataset;
mod progress;
pub mod score;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio_stream::StreamExt;
use tonic::Request;
use tonic::transport::Channel;

use crate::console::Remote;
use crate::pb;
use crate::pb::memory_service_client::MemoryServiceClient;
use dataset::Dataset;
use progress::Progress;
use score::Report;

pub struct Options {
    pub dataset: PathBuf,
    /// e.g. `http://127.0.0.1:50051`.
    pub server: String,
    pub api_key: Option<String>,
    /// Entity ids are `{prefix}-{conversation}`.
    pub entity_prefix: String,
    /// Leave the entities in place after the run.
    pub keep: bool,
    /// How long augmentation may take, all conversations together.
    pub wait_timeout: Duration,
}

/// Hits asked of each recall: enough turns for recall@25.
const RECALL_LIMIT: u32 = 50;

struct Client {
    memory: MemoryServiceClient<Channel>,
    remote: Remote,
}

impl Client {
    fn request<T>(&self, message: T) -> Request<T> {
        self.remote.request(message)
    }
}

pub async fn run(options: Options) -> anyhow::Result<Report> {
    let dataset = Dataset::load(&options.dataset)?;
    let remote = Remote::connect(&options.server, options.api_key.as_deref()).await?;
    let mut client = Client {
        memory: remote.memory(),
        remote,
    };
    let entity = |conversation: &str| format!("{}-{conversation}", options.entity_prefix);
    let conversations: Vec<String> = dataset
        .conversations()
        .into_iter()
        .map(String::from)
        .collect();
    eprintln!(
        "{} turns in {} conversations, {} questions",
        dataset.turns.len(),
        conversations.len(),
        dataset.questions.len()
    );

    let started = Instant::now();
    let turn_names = ingest(&mut client, &dataset, &entity).await?;
    eprintln!(
        "stored in {:.1} s; waiting for augmentation",
        started.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + options.wait_timeout;
    for conversation in &conversations {
        wait_for_augmentation(&mut client, &entity(conversation), deadline).await?;
    }
    eprintln!(
        "augmented in {:.1} s after storing",
        started.elapsed().as_secs_f64()
    );

    let mut report = Report::default();
    let mut progress = Progress::new("asking", dataset.questions.len());
    for question in &dataset.questions {
        let request = client.request(pb::RecallRequest {
            attribution: Some(pb::Attribution {
                entity_id: entity(&question.conversation),
                ..Default::default()
            }),
            query: question.question.clone(),
            limit: RECALL_LIMIT,
            kinds: vec![pb::MemoryKind::Fact.into(), pb::MemoryKind::Message.into()],
            ..Default::default()
        });
        let hits: Vec<pb::RecallResponse> = client
            .memory
            .recall(request)
            .await
            .with_context(|| format!("recall for question {}", question.id))?
            .into_inner()
            .collect::<Result<_, _>>()
            .await
            .with_context(|| format!("recall for question {}", question.id))?;
        let turns = score::distinct_turns(hits.into_iter().flat_map(|hit| {
            let ids = match hit.hit {
                Some(pb::recall_response::Hit::Fact(fact)) => fact.source_turn_ids,
                Some(pb::recall_response::Hit::Message(message)) => vec![message.turn_id],
                None => Vec::new(),
            };
            ids.into_iter()
                .filter_map(|id| turn_names.get(&id).cloned())
                .collect::<Vec<_>>()
        }));
        report.add(&question.category, score::score(&turns, &question.evidence));
        progress.advance();
    }
    progress.finish();

    if !options.keep {
        for conversation in &conversations {
            let request = client.request(pb::ForgetEntityRequest {
                attribution: Some(whole_entity(entity(conversation))),
            });
            client
                .memory
                .forget_entity(request)
                .await
                .with_context(|| format!("forgetting {}", entity(conversation)))?;
        }
    }
    Ok(report)
}

/// Stores every turn, one Attribute stream per conversation; the server's
/// turn ids mapped to the dataset's.
async fn ingest(
    client: &mut Client,
    dataset: &Dataset,
    entity: &impl Fn(&str) -> String,
) -> anyhow::Result<HashMap<String, String>> {
    let mut names = HashMap::new();
    let mut progress = Progress::new("storing", dataset.turns.len());
    for conversation in dataset.conversations() {
        let requests: Vec<pb::AttributeRequest> = dataset
            .turns
            .iter()
            .filter(|t| t.conversation == conversation)
            .map(|turn| pb::AttributeRequest {
                attribution: Some(pb::Attribution {
                    entity_id: entity(conversation),
                    process_id: String::new(),
                    session_id: turn.session.clone().unwrap_or_default(),
                }),
                messages: turn
                    .messages
                    .iter()
                    .map(|m| pb::Message {
                        role: match m.role.as_str() {
                            "user" => pb::Role::User,
                            "assistant" => pb::Role::Assistant,
                            _ => pb::Role::System,
                        }
                        .into(),
                        content: m.content.clone(),
                        name: m.name.clone().unwrap_or_default(),
                        ..Default::default()
                    })
                    .collect(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: turn.occurred_at.timestamp(),
                    nanos: turn.occurred_at.timestamp_subsec_nanos() as i32,
                }),
                idempotency_key: turn.id.clone(),
                ..Default::default()
            })
            .collect();
        let request = client.request(tokio_stream::iter(requests));
        let mut answers = client
            .memory
            .attribute(request)
            .await
            .with_context(|| format!("storing conversation {conversation}"))?
            .into_inner();
        while let Some(answer) = answers.next().await {
            let answer = answer.with_context(|| format!("storing conversation {conversation}"))?;
            names.insert(answer.turn_id, answer.idempotency_key);
            progress.advance();
        }
    }
    progress.finish();
    Ok(names)
}

async fn wait_for_augmentation(
    client: &mut Client,
    entity_id: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("augmentation of {entity_id} did not finish within --wait-timeout-secs");
        }
        let request = client.request(pb::WaitForAugmentationRequest {
            attribution: Some(whole_entity(entity_id.to_string())),
            turn_ids: Vec::new(),
            timeout: Some(prost_types::Duration {
                seconds: left
                    .clamp(Duration::from_secs(1), Duration::from_secs(60))
                    .as_secs() as i64,
                nanos: 0,
            }),
        });
        let done = client
            .memory
            .wait_for_augmentation(request)
            .await
            .with_context(|| format!("waiting for augmentation of {entity_id}"))?
            .into_inner();
        if done.completed {
            if done.dead_jobs > 0 {
                eprintln!(
                    "warning: {} turns of {entity_id} could not be augmented (dead jobs); see the server's log",
                    done.dead_jobs
                );
            }
            return Ok(());
        }
    }
}

/// The attribution of a call that covers a whole entity.
fn whole_entity(entity_id: String) -> pb::Attribution {
    pb::Attribution {
        entity_id,
        ..pb::Attribution::default()
    }
}
