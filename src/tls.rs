//! TLS on the gRPC port: a rustls server config built from PEM files, swapped
//! for a new one when the files change, and the accept loop that hands
//! finished handshakes to tonic.
//!
//! Invariants:
//! - a handshake never holds up accepting: each runs in its own task, under
//!   a timeout, so a slow or silent client costs only its own connection;
//! - files that change into something unusable (a half-written renewal, a
//!   key that does not match) leave the last good config serving, and the
//!   log says why; the server never starts on files it cannot use;
//! - an open connection keeps the config it was accepted with; the next
//!   connection gets the newest.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::TlsConfig;

/// Longest a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The current server config, replaced when the files change.
#[derive(Clone)]
pub struct ReloadingTls {
    current: Arc<RwLock<Arc<ServerConfig>>>,
    files: TlsConfig,
}

impl ReloadingTls {
    /// Loads the files once; an error names the file and what is wrong.
    pub fn load(files: &TlsConfig) -> anyhow::Result<ReloadingTls> {
        let config = build(files)?;
        Ok(ReloadingTls {
            current: Arc::new(RwLock::new(config)),
            files: files.clone(),
        })
    }

    fn acceptor(&self) -> TlsAcceptor {
        let config = self.current.read().unwrap_or_else(|e| e.into_inner());
        TlsAcceptor::from(config.clone())
    }

    /// Checks the files every `reload_secs` and swaps in a config built from
    /// them when their contents changed, until `cancel`.
    pub fn spawn_reloader(&self, tasks: &TaskTracker, cancel: CancellationToken) {
        let tls = self.clone();
        tasks.spawn(async move {
            let period = Duration::from_secs(tls.files.reload_secs);
            let mut seen = fingerprint(&tls.files).ok();
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(period) => {}
                }
                let now = match fingerprint(&tls.files) {
                    Ok(now) => now,
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "server.tls: cannot read the files; serving the last good certificate");
                        continue;
                    }
                };
                if seen.as_ref() == Some(&now) {
                    continue;
                }
                match build(&tls.files) {
                    Ok(config) => {
                        *tls.current.write().unwrap_or_else(|e| e.into_inner()) = config;
                        seen = Some(now);
                        tracing::info!("server.tls: certificate files changed; new connections use them");
                    }
                    // Not remembered as seen: a renewal written in two steps
                    // is picked up once its second file lands.
                    Err(error) => tracing::warn!(
                        error = %format!("{error:#}"),
                        "server.tls: the changed files are unusable; serving the last good certificate"
                    ),
                }
            }
        });
    }

    /// Accepts TCP connections on `listener` and yields those whose TLS
    /// handshake completed, until the returned stream is dropped.
    pub fn incoming(
        &self,
        listener: TcpListener,
    ) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let tls = self.clone();
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    _ = sender.closed() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // Out of file descriptors and the like: pause
                            // rather than spin.
                            tracing::warn!(%error, "accepting a connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                // Deltas are small writes; Nagle would hold them back.
                let _ = stream.set_nodelay(true);
                let acceptor = tls.acceptor();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let _ = sender.send(Ok(stream)).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        ReceiverStream::new(receiver)
    }
}

/// A hash of the three files' contents: what a change is judged by (a
/// Kubernetes Secret update swaps a symlink, so times and inodes mislead).
fn fingerprint(files: &TlsConfig) -> anyhow::Result<[u8; 32]> {
    let mut hash = Sha256::new();
    for path in [
        Some(&files.cert_file),
        Some(&files.key_file),
        files.client_ca_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(hash.finalize().into())
}

fn build(files: &TlsConfig) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = read_certificates(&files.cert_file, "server.tls.cert_file")?;
    let key = PrivateKeyDer::from_pem_file(&files.key_file).map_err(|e| {
        anyhow::anyhow!(
            "server.tls.key_file {}: no usable private key ({e})",
            files.key_file.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &files.client_ca_file {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certificates(path, "server.tls.client_ca_file")? {
                roots.add(cert).map_err(|e| {
                    anyhow::anyhow!("server.tls.client_ca_file {}: {e}", path.display())
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    anyhow::anyhow!("server.tls.client_ca_file {}: {e}", path.display())
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        anyhow::anyhow!(
            "server.tls: {} and {} do not make a certificate and its key ({e})",
            files.cert_file.display(),
            files.key_file.display()
        )
    })?;
    // gRPC is HTTP/2 only.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

fn read_certificates(path: &Path, key: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{key} {}: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{key} {}: no PEM certificate in it", path.display());
    }
    Ok(certs)
}
