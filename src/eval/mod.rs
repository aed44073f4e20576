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

pub async fn run(options: Options) -> anyhow::Result<Evaluation> {
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

    let stages = stages();
    let mut reports: Vec<Report> = stages.iter().map(|_| Report::default()).collect();
    let mut progress = Progress::new("asking", dataset.questions.len());
    for question in &dataset.questions {
        for ((_, ranking), report) in stages.iter().zip(&mut reports) {
            let turns = ask(
                &mut client,
                &entity(&question.conversation),
                question,
                *ranking,
                &turn_names,
            )
            .await?;
            report.add(&question.category, score::score(&turns, &question.evidence));
        }
        progress.advance();
    }
    progress.finish();
    let evaluation = Evaluation {
        stages: stages
            .iter()
            .map(|(name, _)| name.to_string())
            .zip(reports)
            .collect(),
    };

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
    Ok(evaluation)
}

/// The rankings compared in one run: the server's own first, then each
/// relevance signal alone (messages alone, no session context), the two
/// fusions without context, and the session signals added one at a time
/// (at the server's weights for them), so a change is judged by what each
/// part contributes.
fn stages() -> Vec<(&'static str, Option<pb::Ranking>)> {
    let alone = |dense: f64, lexical: f64| pb::Ranking {
        dense_weight: Some(dense),
        lexical_weight: Some(lexical),
        recency_weight: Some(0.0),
        mentions_weight: Some(0.0),
        context_weight: Some(0.0),
        neighbour_weight: Some(0.0),
        ..Default::default()
    };
    let fused = |fusion: pb::Fusion| pb::Ranking {
        fusion: fusion.into(),
        context_weight: Some(0.0),
        neighbour_weight: Some(0.0),
        ..Default::default()
    };
    vec![
        ("server's ranking", None),
        ("lexical only", Some(alone(0.0, 1.0))),
        ("dense only", Some(alone(1.0, 0.0))),
        ("fused, absolute scales", Some(fused(pb::Fusion::Absolute))),
        ("fused, min-max scales", Some(fused(pb::Fusion::MinMax))),
        (
            "fused + context",
            Some(pb::Ranking {
                neighbour_weight: Some(0.0),
                ..Default::default()
            }),
        ),
        ("fused + context + neighbours", Some(pb::Ranking::default())),
    ]
}

/// One question asked under one ranking: the distinct dataset turns its
/// hits came from, best first.
async fn ask(
    client: &mut Client,
    entity: &str,
    question: &dataset::Question,
    ranking: Option<pb::Ranking>,
    turn_names: &HashMap<String, String>,
) -> anyhow::Result<Vec<String>> {
    let request = client.request(pb::RecallRequest {
        attribution: Some(pb::Attribution {
            entity_id: entity.to_string(),
            ..Default::default()
        }),
        query: question.question.clone(),
        limit: RECALL_LIMIT,
        kinds: vec![pb::MemoryKind::Fact.into(), pb::MemoryKind::Message.into()],
        ranking,
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
    Ok(score::distinct_turns(hits.into_iter().flat_map(|hit| {
        let ids = match hit.hit {
            Some(pb::recall_response::Hit::Fact(fact)) => fact.source_turn_ids,
            Some(pb::recall_response::Hit::Message(message)) => vec![message.turn_id],
            None => Vec::new(),
        };
        ids.into_iter()
            .filter_map(|id| turn_names.get(&id).cloned())
            .collect::<Vec<_>>()
    })))
}

/// The scores of a run: per ranking stage, the server's own first.
pub struct Evaluation {
    pub stages: Vec<(String, Report)>,
}

impl Evaluation {
    /// The scores under the server's own ranking.
    pub fn defaults(&self) -> &Report {
        &self.stages[0].1
    }
}

impl std::fmt::Display for Evaluation {
    /// The server's ranking per category, then every stage overall.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.defaults())?;
        writeln!(
            f,
            "{:<30} {:>7} {:>7} {:>7} {:>7}",
            "ranking", "R@5", "R@10", "R@25", "MRR"
        )?;
        for (name, report) in &self.stages {
            let (_, s) = report.overall();
            writeln!(
                f,
                "{name:<30} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
                s.recall_at[0], s.recall_at[1], s.recall_at[2], s.reciprocal_rank
            )?;
        }
        Ok(())
    }
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
