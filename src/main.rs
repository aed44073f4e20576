//! The `memorid` command line: `serve` and `migrate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use memorid::config::Config;
use tracing_subscriber::EnvFilter;

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
    /// Print the effective configuration (secrets are read from env/files
    /// and never part of it) and exit.
    Config,
}

fn init_logging(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
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
    init_logging(&config);
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("binding {}", config.server.listen))?;
            memorid::server::serve(config, listener, shutdown_signal()).await
        }
        Command::Migrate => {
            memorid::server::open_store(&config).await?;
            tracing::info!(url = %redact(&config.storage.url), "storage is migrated");
            Ok(())
        }
        Command::Config => {
            let mut shown = config.clone();
            shown.storage.url = redact(&shown.storage.url);
            for key in &mut shown.auth.keys {
                key.key = "<redacted>".into();
            }
            println!("{}", toml::to_string_pretty(&shown)?);
            Ok(())
        }
    }
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
