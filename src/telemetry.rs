//! Prometheus metrics on their own port (`metrics.listen`).
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds`
//! histograms). Recording is a no-op until `install` ran, so code records
//! unconditionally and tests need no exporter.

use std::net::SocketAddr;

use metrics_exporter_prometheus::PrometheusBuilder;

pub const CHAT_TURNS: &str = "memorid_chat_turns_total";
pub const CHAT_TTFT: &str = "memorid_chat_time_to_first_token_seconds";
pub const CHAT_TOKENS: &str = "memorid_chat_tokens_total";
pub const JOBS: &str = "memorid_augmentation_jobs_total";
pub const BATCH_SECONDS: &str = "memorid_augmentation_batch_seconds";
pub const EXTRACTION_SECONDS: &str = "memorid_augmentation_extraction_seconds";
pub const EMBEDDING_SECONDS: &str = "memorid_embedding_seconds";
pub const QUEUE_DEPTH: &str = "memorid_augmentation_queue_depth";
pub const JOB_LAG: &str = "memorid_augmentation_oldest_job_age_seconds";
pub const DEAD_JOBS: &str = "memorid_augmentation_dead_jobs";
pub const RECALL_SECONDS: &str = "memorid_recall_seconds";
pub const RECALL_CACHE: &str = "memorid_recall_index_cache_total";
pub const RECALL_CACHE_BYTES: &str = "memorid_recall_index_cache_bytes";
pub const QUERY_VECTOR_CACHE: &str = "memorid_recall_query_vector_cache_total";
pub const FACT_DECISIONS: &str = "memorid_augmentation_fact_decisions_total";
pub const REPLANS: &str = "memorid_augmentation_replans_total";
pub const RPC_REQUESTS: &str = "memorid_grpc_requests_total";
pub const RPC_DURATION: &str = "memorid_grpc_request_duration_seconds";
pub const RPC_IN_FLIGHT: &str = "memorid_grpc_requests_in_flight";
pub const RPC_REJECTED: &str = "memorid_grpc_rejected_total";
pub const REEMBED_REMAINING: &str = "memorid_reembedding_remaining";
pub const REEMBEDDED: &str = "memorid_reembedded_total";

/// Starts the exporter's HTTP listener and installs the recorder.
pub fn install(listen: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ])?
        .install()
        .map_err(|e| anyhow::anyhow!("metrics.listen {listen}: {e}"))?;
    metrics::describe_counter!(CHAT_TURNS, "Chat turns by how they ended");
    metrics::describe_histogram!(
        CHAT_TTFT,
        "Time from a Chat call to the upstream's first chunk"
    );
    metrics::describe_counter!(CHAT_TOKENS, "Tokens reported by upstreams, by direction");
    metrics::describe_counter!(JOBS, "Augmentation jobs by outcome");
    metrics::describe_histogram!(BATCH_SECONDS, "Time to run one batch of augmentation jobs");
    metrics::describe_histogram!(EXTRACTION_SECONDS, "Time of one extraction model call");
    metrics::describe_histogram!(EMBEDDING_SECONDS, "Time of one embedding call");
    metrics::describe_gauge!(QUEUE_DEPTH, "Augmentation jobs pending or running");
    metrics::describe_gauge!(JOB_LAG, "Age of the oldest open augmentation job");
    metrics::describe_gauge!(
        DEAD_JOBS,
        "Augmentation jobs that ran out of attempts (memorid jobs retry-dead requeues them)"
    );
    metrics::describe_histogram!(
        RECALL_SECONDS,
        "Time of one recall, query embedding included"
    );
    metrics::describe_counter!(
        RECALL_CACHE,
        "Per-entity recall indexes used as cached (hit), updated with new rows (refresh) or loaded whole (load)"
    );
    metrics::describe_gauge!(RECALL_CACHE_BYTES, "Memory held by cached recall indexes");
    metrics::describe_counter!(
        QUERY_VECTOR_CACHE,
        "Query embeddings found in the cache (hit) or computed (miss)"
    );
    metrics::describe_counter!(
        FACT_DECISIONS,
        "Proposed facts by the rule that placed them: repeated (same text), merged (a paraphrase), superseded (replaced a known fact), kept_distinct (a near-duplicate kept as its own fact)"
    );
    metrics::describe_counter!(
        REPLANS,
        "Augmentation batches planned again because another batch wrote the same entity's memories meanwhile"
    );
    metrics::describe_gauge!(
        REEMBED_REMAINING,
        "Stored vectors of another embedding model still to re-embed with the current one"
    );
    metrics::describe_counter!(
        REEMBEDDED,
        "Stored vectors replaced with the current embedding model's"
    );
    metrics::describe_counter!(RPC_REQUESTS, "gRPC calls by method and status code");
    metrics::describe_histogram!(
        RPC_DURATION,
        "gRPC call duration by method, until the last response message (a Chat stream counts whole)"
    );
    metrics::describe_gauge!(RPC_IN_FLIGHT, "gRPC calls in flight by method");
    metrics::describe_counter!(
        RPC_REJECTED,
        "Calls turned away with RESOURCE_EXHAUSTED: overloaded (server.max_concurrent_calls), rate or concurrency (a key's limits)"
    );
    tracing::info!(%listen, "Prometheus metrics at /metrics");
    Ok(())
}
