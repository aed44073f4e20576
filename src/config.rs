//! Layered configuration: defaults in code < an optional TOML file <
//! `MEMORID_SECTION__KEY` environment variables.
//!
//! Unknown keys are rejected (`deny_unknown_fields`), and `validate` checks
//! the values once at start, so a typo fails loudly with the key's name
//! instead of being silently ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    pub chat: ChatConfig,
    pub routing: RoutingConfig,
    pub augmentation: AugmentationConfig,
    pub recall: RecallConfig,
    pub embeddings: EmbeddingsConfig,
    pub metrics: MetricsConfig,
    pub telemetry: TelemetryConfig,
    pub log: LogConfig,
    /// Upstream providers by name; a model `name/model` goes to `name`.
    pub providers: BTreeMap<String, ProviderConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The gRPC listen address.
    pub listen: SocketAddr,
    /// How long in-flight calls may run on after a shutdown signal.
    pub shutdown_grace_secs: u64,
    /// memori.v1 calls (Chat streams included) in flight at once, over all
    /// callers; one more is answered RESOURCE_EXHAUSTED at once (load
    /// shedding) rather than queued. 0 = no limit.
    pub max_concurrent_calls: usize,
    /// Largest request message accepted, in bytes; a larger one is
    /// answered RESOURCE_EXHAUSTED.
    pub max_request_bytes: usize,
    /// A second, plaintext port that serves grpc.health.v1 only: for the
    /// kubelet, whose gRPC probes cannot speak TLS. Unset = none.
    pub health_listen: Option<SocketAddr>,
    /// TLS on `listen`; unset serves plaintext.
    pub tls: Option<TlsConfig>,
}

/// Certificate and key from PEM files, re-read when they change (a renewed
/// cert-manager Secret); with `client_ca_file`, callers must present a
/// certificate that CA signed (mTLS).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// CA certificates that sign client certificates; set = mTLS.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// How often the files are checked for changes.
    #[serde(default = "default_tls_reload_secs")]
    pub reload_secs: u64,
}

fn default_tls_reload_secs() -> u64 {
    10
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `postgres://...` or `sqlite://path` (created if missing).
    pub url: String,
    /// Pool size; on PostgreSQL a replica that augments keeps one of them
    /// listening for new jobs.
    pub max_connections: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted `content` of one message, in bytes.
    pub max_content_bytes: usize,
    /// Most messages accepted in one request.
    pub max_messages: usize,
    /// Most metadata entries on one turn.
    pub max_metadata_entries: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// API keys and the namespace each one opens. Auth is on when any key
    /// is configured here, in `keys_file`, or was ever created in storage
    /// (`memorid keys create`); with none, every caller uses the namespace
    /// `default`.
    pub keys: Vec<ApiKeyConfig>,
    /// A file of `namespace:sha256:<hex>` lines (or, deprecated,
    /// `namespace:<key>`), blank lines and `#` comments skipped, e.g. a
    /// mounted Kubernetes secret. Re-read on every reload.
    pub keys_file: Option<PathBuf>,
    /// How often the keys (file and storage) are re-read, and when key use
    /// is recorded for `memorid keys list`.
    pub reload_secs: u64,
    /// Limits of keys that set none (configured, file and stored keys).
    pub requests_per_second: Option<f64>,
    pub max_concurrent_calls: Option<u32>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            keys: Vec::new(),
            keys_file: None,
            reload_secs: 5,
            requests_per_second: None,
            max_concurrent_calls: None,
        }
    }
}

/// A key in the config: its SHA-256 (`key_sha256`, what `memorid keys
/// hash` prints), or, deprecated, the key itself (`key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub namespace: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub key_sha256: Option<String>,
    /// Shown in logs instead of the key.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    #[serde(default)]
    pub max_concurrent_calls: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Deltas buffered between the upstream reader and a slow caller.
    pub stream_buffer: usize,
    /// Facts recalled into the prompt at most (per-request `recall_limit`
    /// overrides it).
    pub recall_limit: u32,
    /// Facts scoring below this are not injected.
    pub recall_min_score: f64,
    /// A turn still streaming after this long was abandoned by a replica
    /// that stopped; it is marked interrupted.
    pub abandoned_after_secs: u64,
    /// Tokens of stored session history prepended at most (per-request
    /// `history_token_budget` overrides it).
    pub history_token_budget: u32,
}

/// How model names map to providers, and how hard to try before the first
/// token (never after it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Provider used for a model name without a `provider/` prefix.
    pub default_provider: Option<String>,
    /// Alias → `provider/model` names tried in order (fallbacks).
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Attempts per route on 429 / 5xx / connection errors (1 = no retry).
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// An upstream asking (retry-after) for longer than this is not retried.
    pub max_retry_after_secs: u64,
}

/// The background stage that turns turns into memories.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentationConfig {
    /// Run workers in this replica (the queue fills either way).
    pub enabled: bool,
    /// Jobs processed at once by this replica.
    pub workers: usize,
    /// Jobs run together as one batch at most (they share the loads, the
    /// embedding passes and one write transaction).
    pub batch_size: usize,
    /// How often the queue is polled when nothing woke the workers.
    pub poll_interval_ms: u64,
    /// How long a claimed job stays reserved without news from its
    /// replica: renewed every third of it while the job runs, so it is
    /// how soon a dead replica's jobs are retaken.
    pub lease_secs: u64,
    /// Bound on one call to the extraction model.
    pub extraction_timeout_secs: u64,
    /// Attempts before a job is dead.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub retry_backoff_ms: u64,
    /// On shutdown, how long in-flight jobs may run on.
    pub drain_timeout_secs: u64,
    /// `provider/model` that extracts facts; unset turns extraction off
    /// (messages are still indexed).
    pub extraction_model: Option<String>,
    /// Cosine similarity from which a new fact is compared with an existing
    /// one word by word: it merges only as a true paraphrase; a changed
    /// value is asked about (see `memory::paraphrase`).
    pub near_duplicate_threshold: f32,
    /// Existing facts shown to the extraction model.
    pub closest_facts: usize,
}

/// How recall ranks memories, and how much it keeps in memory to be fast.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecallConfig {
    /// Weight of the cosine similarity of query and memory vectors.
    pub dense_weight: f64,
    /// Weight of BM25 (scaled by the score of a full match of the query).
    pub lexical_weight: f64,
    /// Weight of recency (1 for now, halving every half-life).
    pub recency_weight: f64,
    /// Weight of how often a fact was mentioned (log-scaled).
    pub mentions_weight: f64,
    pub recency_half_life_days: f64,
    /// How the dense and lexical lists share a scale before the weighted
    /// sum: `absolute` (the default: on the tuning split it matched or beat
    /// `min_max`, recall@10 0.779 vs 0.757) or `min_max` per query.
    /// `min_score` thresholds always apply to the absolute score.
    pub fusion: RecallFusion,
    /// BM25 term-frequency saturation.
    pub bm25_k1: f64,
    /// BM25 length normalization, 0 (none) to 1 (full).
    pub bm25_b: f64,
    /// A message's window (itself and up to two earlier messages of its
    /// session, scored by their mean cosine): its share of the dense cosine, 0 to 1.
    pub context_weight: f64,
    /// The share of the stronger neighbouring message's relevance (the
    /// previous or next of its session) added to a message's own.
    pub neighbour_weight: f64,
    /// Memory for per-entity indexes (vectors and term statistics), in MiB;
    /// the least recently used entities are dropped beyond it.
    pub index_cache_mib: usize,
    /// Query embeddings kept for repeated queries.
    pub query_cache_entries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallFusion {
    MinMax,
    Absolute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingBackend {
    /// A model inside memorid, on CPU (`builtin_model`).
    Builtin,
    /// An OpenAI-compatible `/embeddings` endpoint.
    Openai,
}

/// The models memorid can run itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuiltinModel {
    /// intfloat/e5-small-v2, int8 ONNX through ONNX Runtime (the default:
    /// by far the better recall on long conversations).
    #[serde(rename = "e5-small-v2")]
    E5SmallV2,
    /// sentence-transformers/all-MiniLM-L6-v2 on candle (no native
    /// library; runs on any CPU architecture).
    #[serde(rename = "all-MiniLM-L6-v2")]
    AllMiniLmL6V2,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddingsConfig {
    pub backend: EmbeddingBackend,
    /// Built-in: which model. Vectors record their model, so changing it
    /// re-embeds stored memories in the background.
    pub builtin_model: BuiltinModel,
    /// Built-in: where the model files are (default: the user's cache).
    pub model_dir: Option<PathBuf>,
    /// Built-in: download the model (with pip, sha256-checked) if missing.
    pub auto_install: bool,
    /// OpenAI-compatible: the API base, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: Option<String>,
    /// OpenAI-compatible: the embedding model's name.
    pub model: Option<String>,
    /// OpenAI-compatible: the environment variable holding the key.
    pub api_key_env: Option<String>,
}

impl Default for AugmentationConfig {
    fn default() -> Self {
        AugmentationConfig {
            enabled: true,
            // Jobs mostly wait on the extraction model (a replica does at
            // most workers / model latency jobs a second: 128 at 1 s), and
            // more batches in flight keep the embedder and the database
            // busy (with an instant model, 8 batches of 16 left 3-5% of
            // the benchmark machine idle, 4 batches 8-14%).
            workers: 128,
            batch_size: 16,
            poll_interval_ms: 500,
            lease_secs: 30,
            extraction_timeout_secs: 120,
            max_attempts: 5,
            retry_backoff_ms: 1000,
            drain_timeout_secs: 10,
            extraction_model: None,
            near_duplicate_threshold: 0.92,
            closest_facts: 20,
        }
    }
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        EmbeddingsConfig {
            backend: EmbeddingBackend::Builtin,
            builtin_model: BuiltinModel::E5SmallV2,
            model_dir: None,
            auto_install: true,
            base_url: None,
            model: None,
            api_key_env: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where to serve Prometheus metrics (`/metrics`); unset turns them off.
    pub listen: Option<SocketAddr>,
}

/// OpenTelemetry traces (see `traces`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// An OTLP/gRPC collector, e.g. `http://otel-collector:4317`; unset
    /// exports no traces.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Share of traces memorid starts that are sampled (0–1); a caller's
    /// `traceparent` decides for its own calls.
    pub sampling_ratio: f64,
    /// Finished spans held for export at most; more are dropped.
    pub max_queued_spans: usize,
    /// How often queued spans are sent.
    pub export_interval_ms: u64,
    /// How long one export may take.
    pub export_timeout_secs: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            service_name: "memorid".into(),
            sampling_ratio: 1.0,
            max_queued_spans: 2048,
            export_interval_ms: 1000,
            export_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info,memorid=debug`; `RUST_LOG` wins if set.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// The API base, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// Name of the environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A file holding the API key (e.g. a mounted secret).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// API version for providers that take one in the URL (Azure OpenAI).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Seconds to wait for a TCP/TLS connection.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI Chat Completions and compatible servers.
    Openai,
    /// Azure OpenAI: deployments URL form and `api-key` header; the model
    /// name is the deployment name.
    AzureOpenai,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini (generativelanguage API).
    Gemini,
}

fn default_connect_timeout_secs() -> u64 {
    10
}

impl Default for Config {
    fn default() -> Self {
        let mut providers = BTreeMap::new();
        providers.insert(
            "openai".to_string(),
            ProviderConfig {
                kind: ProviderKind::Openai,
                base_url: "https://api.openai.com/v1".into(),
                api_key_env: Some("OPENAI_API_KEY".into()),
                api_key_file: None,
                api_version: None,
                connect_timeout_secs: default_connect_timeout_secs(),
            },
        );
        providers.insert(
            "anthropic".to_string(),
            ProviderConfig {
                kind: ProviderKind::Anthropic,
                base_url: "https://api.anthropic.com".into(),
                api_key_env: Some("ANTHROPIC_API_KEY".into()),
                api_key_file: None,
                api_version: None,
                connect_timeout_secs: default_connect_timeout_secs(),
            },
        );
        providers.insert(
            "gemini".to_string(),
            ProviderConfig {
                kind: ProviderKind::Gemini,
                base_url: "https://generativelanguage.googleapis.com".into(),
                api_key_env: Some("GEMINI_API_KEY".into()),
                api_key_file: None,
                api_version: None,
                connect_timeout_secs: default_connect_timeout_secs(),
            },
        );
        Config {
            server: ServerConfig::default(),
            storage: StorageConfig::default(),
            limits: LimitsConfig::default(),
            auth: AuthConfig::default(),
            chat: ChatConfig::default(),
            routing: RoutingConfig::default(),
            augmentation: AugmentationConfig::default(),
            recall: RecallConfig::default(),
            embeddings: EmbeddingsConfig::default(),
            metrics: MetricsConfig::default(),
            telemetry: TelemetryConfig::default(),
            log: LogConfig::default(),
            providers,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            shutdown_grace_secs: 30,
            max_concurrent_calls: 2048,
            max_request_bytes: 4 * 1024 * 1024,
            health_listen: None,
            tls: None,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            url: "sqlite://memorid.db".into(),
            max_connections: 16,
            acquire_timeout_secs: 5,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_content_bytes: 256 * 1024,
            max_messages: 256,
            max_metadata_entries: 64,
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            stream_buffer: 64,
            recall_limit: 5,
            recall_min_score: 0.3,
            history_token_budget: 2000,
            abandoned_after_secs: 3600,
        }
    }
}

impl Default for RecallConfig {
    fn default() -> Self {
        RecallConfig {
            // Chosen on the tuning split, for MiniLM and again for e5 (its
            // cosines scaled from its floor, `embed::similarity_floor`):
            // 0.6 / 0.3 had e5's best MRR, 0.5 / 0.4 and 0.75 / 0.15 were
            // within 0.01 of its recall@10.
            dense_weight: 0.6,
            lexical_weight: 0.3,
            recency_weight: 0.05,
            mentions_weight: 0.05,
            recency_half_life_days: 30.0,
            fusion: RecallFusion::Absolute,
            bm25_k1: 0.9,
            bm25_b: 0.4,
            // Chosen on the tuning split with e5, the best recall@10 whose
            // MRR stays within 0.02 of none's (R@10 / MRR): none 0.757 /
            // 0.694; neighbours 0.2 alone 0.794 / 0.697, 0.3 alone 0.790 /
            // 0.684; context 0.15 + neighbours 0.25 0.801 / 0.681; 0.3 +
            // 0.2 0.790 / 0.663; 0.3 + 0.3 0.812 / 0.654; 0.5 + 0.2
            // 0.743 / 0.632.
            context_weight: 0.15,
            neighbour_weight: 0.25,
            index_cache_mib: 256,
            query_cache_entries: 4096,
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            default_provider: None,
            aliases: BTreeMap::new(),
            max_attempts: 3,
            initial_backoff_ms: 250,
            max_backoff_ms: 4000,
            max_retry_after_secs: 20,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` if given, then `MEMORID_*` variables from
    /// the process environment, and validates the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Self::load_from(file, Env::prefixed("MEMORID_"))
    }

    fn load_from(file: Option<&Path>, env: Env) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        // MEMORID_CONFIG names the file itself, MEMORID_ADDRESS and
        // MEMORID_API_KEY the server and key of the terminal client: the
        // CLI reads them, the configuration never has them.
        let env = env.split("__").ignore(&["config", "address", "api_key"]);
        let config: Config = figment
            .merge(env)
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        let url = &self.storage.url;
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            anyhow::bail!("storage.url must start with postgres:// or sqlite:, got {url:?}");
        }
        if let Some(tls) = &self.server.tls
            && tls.reload_secs == 0
        {
            anyhow::bail!("server.tls.reload_secs must be at least 1");
        }
        if self.server.health_listen == Some(self.server.listen) {
            anyhow::bail!("server.health_listen must differ from server.listen");
        }
        let telemetry = &self.telemetry;
        if !(0.0..=1.0).contains(&telemetry.sampling_ratio) {
            anyhow::bail!("telemetry.sampling_ratio must be between 0 and 1");
        }
        if let Some(endpoint) = &telemetry.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            anyhow::bail!("telemetry.otlp_endpoint must be an http(s) URL, got {endpoint:?}");
        }
        if telemetry.max_queued_spans == 0
            || telemetry.export_interval_ms == 0
            || telemetry.export_timeout_secs == 0
        {
            anyhow::bail!(
                "telemetry.max_queued_spans, telemetry.export_interval_ms and telemetry.export_timeout_secs must be at least 1"
            );
        }
        if self.storage.max_connections == 0 {
            anyhow::bail!("storage.max_connections must be at least 1");
        }
        if self.limits.max_content_bytes == 0 || self.limits.max_messages == 0 {
            anyhow::bail!("limits.max_content_bytes and limits.max_messages must be at least 1");
        }
        if self.chat.stream_buffer == 0 {
            anyhow::bail!("chat.stream_buffer must be at least 1");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            anyhow::bail!("log.format must be \"text\" or \"json\"");
        }
        if let Some(name) = &self.routing.default_provider
            && !self.providers.contains_key(name)
        {
            anyhow::bail!("routing.default_provider {name:?} is not a configured provider");
        }
        let augmentation = &self.augmentation;
        if augmentation.workers == 0
            || augmentation.max_attempts == 0
            || augmentation.batch_size == 0
        {
            anyhow::bail!(
                "augmentation.workers, augmentation.batch_size and augmentation.max_attempts must be at least 1"
            );
        }
        if augmentation.lease_secs == 0 || augmentation.extraction_timeout_secs == 0 {
            anyhow::bail!(
                "augmentation.lease_secs and augmentation.extraction_timeout_secs must be at least 1"
            );
        }
        if !(0.0..=1.0).contains(&augmentation.near_duplicate_threshold) {
            anyhow::bail!("augmentation.near_duplicate_threshold must be between 0 and 1");
        }
        let recall = &self.recall;
        for (key, weight) in [
            ("dense_weight", recall.dense_weight),
            ("lexical_weight", recall.lexical_weight),
            ("recency_weight", recall.recency_weight),
            ("mentions_weight", recall.mentions_weight),
        ] {
            if !(weight.is_finite() && weight >= 0.0) {
                anyhow::bail!("recall.{key} must be a finite number ≥ 0, got {weight}");
            }
        }
        if !(recall.bm25_k1.is_finite() && recall.bm25_k1 >= 0.0) {
            anyhow::bail!("recall.bm25_k1 must be a finite number ≥ 0");
        }
        if !(0.0..=1.0).contains(&recall.bm25_b) {
            anyhow::bail!("recall.bm25_b must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&recall.context_weight) {
            anyhow::bail!("recall.context_weight must be between 0 and 1");
        }
        if !(recall.neighbour_weight.is_finite() && recall.neighbour_weight >= 0.0) {
            anyhow::bail!("recall.neighbour_weight must be a finite number ≥ 0");
        }
        if !(recall.recency_half_life_days.is_finite() && recall.recency_half_life_days > 0.0) {
            anyhow::bail!("recall.recency_half_life_days must be a positive number");
        }
        if self.routing.max_attempts == 0 {
            anyhow::bail!("routing.max_attempts must be at least 1");
        }
        for (alias, targets) in &self.routing.aliases {
            if self.providers.contains_key(alias) || alias.contains('/') {
                anyhow::bail!("routing.aliases.{alias}: an alias must not look like a provider");
            }
            if targets.is_empty() {
                anyhow::bail!("routing.aliases.{alias} lists no models");
            }
        }
        for (name, provider) in &self.providers {
            if name.is_empty() || name.contains('/') {
                anyhow::bail!("providers.{name}: a provider name must be non-empty without '/'");
            }
            if !(provider.base_url.starts_with("http://")
                || provider.base_url.starts_with("https://"))
            {
                anyhow::bail!("providers.{name}.base_url must be an http(s) URL");
            }
        }
        for (i, key) in self.auth.keys.iter().enumerate() {
            if key.namespace.is_empty() {
                anyhow::bail!("auth.keys[{i}].namespace must be non-empty");
            }
            match (&key.key, &key.key_sha256) {
                (Some(k), None) if !k.is_empty() => {}
                (None, Some(h)) if crate::keys::secret::parse_sha256(h).is_some() => {}
                (None, Some(_)) => anyhow::bail!(
                    "auth.keys[{i}].key_sha256 must be 64 hex digits (what `memorid keys hash` prints)"
                ),
                _ => anyhow::bail!("auth.keys[{i}]: set exactly one of key_sha256 and key"),
            }
            if key
                .requests_per_second
                .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
            {
                anyhow::bail!("auth.keys[{i}].requests_per_second must be a positive number");
            }
        }
        if self
            .auth
            .requests_per_second
            .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
        {
            anyhow::bail!("auth.requests_per_second must be a positive number");
        }
        if self.auth.reload_secs == 0 {
            anyhow::bail!("auth.reload_secs must be at least 1");
        }
        if self.server.max_request_bytes < 1024 {
            anyhow::bail!("server.max_request_bytes must be at least 1024");
        }
        Ok(())
    }
}

#[cfg(test)]
// figment::Jail closures return figment::Error, which is large by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn env_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MEMORID_STORAGE__URL", "postgres://db/memorid");
            jail.set_env("MEMORID_PROVIDERS__LOCAL__KIND", "openai");
            jail.set_env(
                "MEMORID_PROVIDERS__LOCAL__BASE_URL",
                "http://127.0.0.1:8080/v1",
            );
            let config = Config::load_from(None, Env::prefixed("MEMORID_")).unwrap();
            assert_eq!(config.storage.url, "postgres://db/memorid");
            assert_eq!(
                config.providers["local"].base_url,
                "http://127.0.0.1:8080/v1"
            );
            assert!(config.providers.contains_key("openai"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MEMORID_SERVER__LISTNE", "0.0.0.0:1");
            let err = Config::load_from(None, Env::prefixed("MEMORID_"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("listne"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn file_layer_sits_between_defaults_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "memorid.toml",
                "[limits]\nmax_messages = 5\nmax_content_bytes = 10\n",
            )?;
            jail.set_env("MEMORID_LIMITS__MAX_MESSAGES", "7");
            let config =
                Config::load_from(Some(Path::new("memorid.toml")), Env::prefixed("MEMORID_"))
                    .unwrap();
            assert_eq!(config.limits.max_messages, 7);
            assert_eq!(config.limits.max_content_bytes, 10);
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut config = Config::default();
        config.storage.url = "mysql://x".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("storage.url"), "{err}");

        let mut config = Config::default();
        config.augmentation.lease_secs = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("augmentation.lease_secs"), "{err}");

        let mut config = Config::default();
        config.augmentation.extraction_timeout_secs = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("augmentation.extraction_timeout_secs"),
            "{err}"
        );
    }
}
