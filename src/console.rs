//! The terminal client for people: `memorid chat`, `memorid recall` and
//! `memorid facts` talk to a running server over gRPC with the generated
//! client, print tokens as they arrive and memories as readable tables
//! (or JSON lines with `--json`, for scripts). What an operator reaches for
//! to check a deployment by hand.
//!
//! Failures are one clear line on stderr and a non-zero exit: the server
//! cannot be reached, the key is refused, or the server's own error with
//! the field it names.

use std::io::{BufRead, Write};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::pb;
use crate::pb::chat_service_client::ChatServiceClient;
use crate::pb::memory_service_client::MemoryServiceClient;

/// A connection to a running server, with the caller's API key.
#[derive(Clone)]
pub struct Remote {
    server: String,
    channel: Channel,
    authorization: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl Remote {
    /// Connects to `server` (e.g. `http://127.0.0.1:50051`).
    pub async fn connect(server: &str, api_key: Option<&str>) -> anyhow::Result<Remote> {
        let endpoint = Channel::from_shared(server.to_string())
            .with_context(|| format!("--server {server:?} is not a URL"))?
            .connect_timeout(std::time::Duration::from_secs(5));
        let channel = endpoint.connect().await.map_err(|error| {
            anyhow::anyhow!("cannot reach memorid at {server}: {}", root_cause(&error))
        })?;
        let authorization = api_key
            .map(|key| format!("Bearer {key}").parse())
            .transpose()
            .context("--api-key must be printable ASCII")?;
        Ok(Remote {
            server: server.to_string(),
            channel,
            authorization,
        })
    }

    /// `message` as a request carrying the API key.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
    }

    pub fn memory(&self) -> MemoryServiceClient<Channel> {
        MemoryServiceClient::new(self.channel.clone())
    }

    fn chat_client(&self) -> ChatServiceClient<Channel> {
        ChatServiceClient::new(self.channel.clone())
    }

    /// A server status as one line a person can act on.
    pub fn explain(&self, status: Status) -> anyhow::Error {
        match status.code() {
            Code::Unauthenticated => anyhow::anyhow!(
                "memorid at {} refused the API key: {} (pass --api-key or set MEMORID_API_KEY)",
                self.server,
                status.message()
            ),
            Code::Unavailable => anyhow::anyhow!(
                "memorid at {} is unavailable: {}",
                self.server,
                status.message()
            ),
            code => anyhow::anyhow!("{code:?}: {}", status.message()),
        }
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Who a command is about.
pub struct Who {
    pub entity_id: String,
    pub process_id: Option<String>,
    pub session_id: Option<String>,
}

impl Who {
    fn attribution(&self) -> pb::Attribution {
        pb::Attribution {
            entity_id: self.entity_id.clone(),
            process_id: self.process_id.clone().unwrap_or_default(),
            session_id: self.session_id.clone().unwrap_or_default(),
        }
    }
}

/// `memorid chat`: one question, or (without one) a conversation read
/// line by line from stdin that keeps its session.
pub async fn chat(
    remote: &Remote,
    mut who: Who,
    model: &str,
    question: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(question) = question {
        return ask(remote, &mut who, model, question, json).await;
    }
    let stdin = std::io::stdin();
    let interactive = std::io::IsTerminal::is_terminal(&stdin);
    loop {
        if interactive {
            eprint!("> ");
        }
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        ask(remote, &mut who, model, line.to_string(), json).await?;
    }
}

/// One turn: prints each delta as it arrives; remembers the session.
async fn ask(
    remote: &Remote,
    who: &mut Who,
    model: &str,
    question: String,
    json: bool,
) -> anyhow::Result<()> {
    let request = pb::ChatRequest {
        attribution: Some(who.attribution()),
        model: model.to_string(),
        messages: vec![pb::Message {
            role: pb::Role::User.into(),
            content: question,
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut events = remote
        .chat_client()
        .chat(remote.request(request))
        .await
        .map_err(|status| remote.explain(status))?
        .into_inner();
    let mut out = std::io::stdout().lock();
    while let Some(event) = events.next().await {
        let event = event.map_err(|status| remote.explain(status))?;
        match event.event {
            Some(pb::chat_response::Event::Started(started)) => {
                who.session_id = Some(started.session_id.clone());
                if json {
                    let line = json!({"started": {"turn_id": started.turn_id,
                        "session_id": started.session_id, "model": started.model,
                        "recalled_memory_ids": started.recalled_memory_ids}});
                    writeln!(out, "{line}")?;
                }
            }
            Some(pb::chat_response::Event::Delta(delta)) => {
                if json {
                    writeln!(out, "{}", json!({"delta": {"text": delta.text}}))?;
                } else {
                    write!(out, "{}", delta.text)?;
                }
                out.flush()?;
            }
            Some(pb::chat_response::Event::Completed(completed)) => {
                if json {
                    let finish = pb::FinishReason::try_from(completed.finish_reason)
                        .map(|r| r.as_str_name())
                        .unwrap_or("FINISH_REASON_UNSPECIFIED");
                    let usage = completed.usage.map(|u| {
                        json!({"input_tokens": u.input_tokens, "output_tokens": u.output_tokens})
                    });
                    let line = json!({"completed": {"turn_id": completed.turn_id,
                        "finish_reason": finish, "usage": usage}});
                    writeln!(out, "{line}")?;
                } else {
                    writeln!(out)?;
                }
            }
            None => {}
        }
    }
    Ok(())
}

/// `memorid recall`: the best matching memories, best first.
pub async fn recall(
    remote: &Remote,
    who: Who,
    query: String,
    limit: u32,
    messages: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut kinds = vec![pb::MemoryKind::Fact as i32];
    if messages {
        kinds.push(pb::MemoryKind::Message as i32);
    }
    let request = pb::RecallRequest {
        attribution: Some(who.attribution()),
        query,
        limit,
        kinds,
        ..Default::default()
    };
    let hits: Vec<pb::RecallResponse> = remote
        .memory()
        .recall(remote.request(request))
        .await
        .map_err(|status| remote.explain(status))?
        .into_inner()
        .collect::<Result<_, _>>()
        .await
        .map_err(|status| remote.explain(status))?;
    let rows: Vec<Row> = hits.into_iter().filter_map(Row::of_hit).collect();
    print_rows(&rows, json, true)
}

/// `memorid facts`: the entity's facts, newest first (every page).
pub async fn facts(
    remote: &Remote,
    entity_id: String,
    superseded: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListFactsRequest {
            attribution: Some(pb::Attribution {
                entity_id: entity_id.clone(),
                ..Default::default()
            }),
            page_size: 500,
            page_token,
            include_superseded: superseded,
        };
        let page = remote
            .memory()
            .list_facts(remote.request(request))
            .await
            .map_err(|status| remote.explain(status))?
            .into_inner();
        rows.extend(page.facts.into_iter().map(|f| Row::of_fact(None, f)));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    print_rows(&rows, json, false)
}

/// One line of a table: a fact or a message, with its score in a recall.
struct Row {
    score: Option<f64>,
    kind: &'static str,
    content: String,
    when: Option<DateTime<Utc>>,
    /// "replaced" for a superseded fact, else empty.
    state: &'static str,
    sources: Vec<String>,
}

impl Row {
    fn of_hit(hit: pb::RecallResponse) -> Option<Row> {
        match hit.hit? {
            pb::recall_response::Hit::Fact(fact) => Some(Row::of_fact(Some(hit.score), fact)),
            pb::recall_response::Hit::Message(message) => Some(Row {
                score: Some(hit.score),
                kind: "message",
                content: message.content,
                when: message.occurred_at.and_then(time),
                state: "",
                sources: vec![message.turn_id],
            }),
        }
    }

    fn of_fact(score: Option<f64>, fact: pb::Fact) -> Row {
        Row {
            score,
            kind: "fact",
            content: fact.content,
            when: fact.last_seen_at.and_then(time),
            state: if fact.valid_until.is_some() {
                "replaced"
            } else {
                ""
            },
            sources: fact.source_turn_ids,
        }
    }
}

fn time(t: prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
}

/// Longest content shown in a table cell, in characters.
const CONTENT_WIDTH: usize = 72;

fn print_rows(rows: &[Row], json: bool, scored: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        for row in rows {
            let line = json!({"score": row.score, "kind": row.kind, "content": row.content,
                "when": row.when.map(|t| t.to_rfc3339()), "replaced": !row.state.is_empty(),
                "source_turn_ids": row.sources});
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "(no memories)")?;
        return Ok(());
    }
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                row.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
                format!(
                    "{}{}",
                    row.kind,
                    if row.state.is_empty() {
                        ""
                    } else {
                        " (replaced)"
                    }
                ),
                shorten(&row.content),
                row.when
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                row.sources.join(","),
            ]
        })
        .collect();
    let header = ["SCORE", "KIND", "CONTENT", "WHEN", "SOURCE TURNS"];
    let first = if scored { 0 } else { 1 };
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        (first..5)
            .map(|i| format!("{:<width$}", cells[i], width = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(&header.map(String::from)))?;
    for row in &cells {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

fn shorten(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= CONTENT_WIDTH {
        return flat;
    }
    let cut: String = flat.chars().take(CONTENT_WIDTH - 1).collect();
    format!("{cut}…")
}
