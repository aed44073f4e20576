//! API keys → namespaces, with per-key limits.
//!
//! Keys come from three sources, merged into one snapshot on start and on
//! every reload (`auth.reload_secs`): `auth.keys` in the config,
//! `auth.keys_file` (a mounted Secret that may change under us), and the
//! `api_keys` table that `memorid keys create/revoke` writes. A revoked or
//! removed key stops opening new calls at the next reload, on every
//! replica; calls already running are not cut.
//!
//! Only SHA-256 hashes are held: a presented key is hashed and looked up.
//! Auth is on when the config names any key or a keys file, or the table
//! ever held a key (so revoking the last key never opens the server); with
//! auth off, every caller is in the namespace `default`.
//!
//! A reload that fails (unreadable file, storage down) keeps the previous
//! snapshot and says so in the log; only the first load is fatal.

pub mod admin;
pub mod file;
pub mod limiter;
pub mod secret;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::config::AuthConfig;
use crate::domain::keys::KeyLimits;
use crate::storage::Store;
use limiter::{CallPermit, Limiter, Refusal};
use secret::{KeyHash, parse_sha256};

/// The namespace of every caller when auth is off.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A call let in.
#[derive(Debug)]
pub struct Admitted {
    pub namespace: String,
    /// Held until the call ends.
    pub permit: CallPermit,
}

/// Why a call was turned away.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// Auth is on and the call carried no key.
    Missing,
    /// The key is not (or no longer) valid.
    Unknown,
    /// The key is over one of its limits.
    Limited { key: String, refusal: Refusal },
}

/// One key as the snapshot holds it; carried over reloads while its hash
/// and limits stay the same, so its rate and in-flight count survive.
#[derive(Debug)]
struct LiveKey {
    /// What logs and metrics call the key (never the key).
    name: String,
    namespace: String,
    /// The table row, for recording use.
    stored_id: Option<Uuid>,
    limiter: Limiter,
    used: AtomicBool,
}

#[derive(Debug, Default)]
struct Snapshot {
    /// False only before the first load.
    loaded: bool,
    enabled: bool,
    keys: HashMap<KeyHash, Arc<LiveKey>>,
}

/// The keys in force; cheap to clone, shared by every call.
#[derive(Debug, Clone)]
pub struct KeyRing {
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    config: Arc<AuthConfig>,
    store: Store,
    /// The plain-text keys last warned about, so the warning is given
    /// once, and again only when they change.
    warned_plain_text: Arc<Mutex<Vec<String>>>,
}

/// A key before it becomes live.
struct Entry {
    hash: KeyHash,
    name: String,
    namespace: String,
    stored_id: Option<Uuid>,
    limits: KeyLimits,
}

impl KeyRing {
    /// Loads every source; any failure here stops the start.
    pub async fn load(config: &AuthConfig, store: Store) -> anyhow::Result<KeyRing> {
        let ring = KeyRing {
            snapshot: Arc::default(),
            config: Arc::new(config.clone()),
            store,
            warned_plain_text: Arc::default(),
        };
        ring.reload().await?;
        Ok(ring)
    }

    /// Reads every source again and swaps the snapshot in; records which
    /// stored keys were used since the last reload.
    pub async fn reload(&self) -> anyhow::Result<()> {
        self.record_use().await;
        let mut entries = Vec::new();
        let mut plain_text = Vec::new();
        let defaults = KeyLimits {
            requests_per_second: self.config.requests_per_second,
            max_concurrent_calls: self.config.max_concurrent_calls,
        };
        for (i, key) in self.config.keys.iter().enumerate() {
            let name = key
                .name
                .clone()
                .unwrap_or_else(|| format!("auth.keys[{i}]"));
            let hash = match (&key.key, &key.key_sha256) {
                (_, Some(hex)) => parse_sha256(hex)
                    .with_context(|| format!("{name}: key_sha256 is not 64 hex digits"))?,
                (Some(plain), None) => {
                    plain_text.push(name.clone());
                    KeyHash::of(plain)
                }
                (None, None) => anyhow::bail!("{name}: neither key_sha256 nor key is set"),
            };
            entries.push(Entry {
                hash,
                name,
                namespace: key.namespace.clone(),
                stored_id: None,
                limits: KeyLimits {
                    requests_per_second: key.requests_per_second.or(defaults.requests_per_second),
                    max_concurrent_calls: key
                        .max_concurrent_calls
                        .or(defaults.max_concurrent_calls),
                },
            });
        }
        if let Some(path) = &self.config.keys_file {
            let text = tokio::fs::read_to_string(path)
                .await
                .with_context(|| format!("auth.keys_file {}", path.display()))?;
            let keys = file::parse(&text)
                .map_err(|e| anyhow::anyhow!("auth.keys_file {} {e}", path.display()))?;
            for key in keys {
                let name = format!("{}:{}", path.display(), key.line);
                if key.plain_text {
                    plain_text.push(name.clone());
                }
                entries.push(Entry {
                    hash: key.hash,
                    name,
                    namespace: key.namespace,
                    stored_id: None,
                    limits: defaults,
                });
            }
        }
        let stored = self
            .store
            .active_keys()
            .await
            .context("reading the api_keys table")?;
        for key in stored {
            let Some(hash) = parse_sha256(&key.key_sha256) else {
                tracing::warn!(key = %key.name, "api_keys row with a malformed hash skipped");
                continue;
            };
            entries.push(Entry {
                hash,
                name: key.name,
                namespace: key.namespace,
                stored_id: Some(key.key_id),
                limits: KeyLimits {
                    requests_per_second: key
                        .limits
                        .requests_per_second
                        .or(defaults.requests_per_second),
                    max_concurrent_calls: key
                        .limits
                        .max_concurrent_calls
                        .or(defaults.max_concurrent_calls),
                },
            });
        }
        let enabled = !self.config.keys.is_empty()
            || self.config.keys_file.is_some()
            || self
                .store
                .any_key_created()
                .await
                .context("reading the api_keys table")?;
        self.warn_plain_text(plain_text);
        self.swap_in(entries, enabled);
        Ok(())
    }

    fn swap_in(&self, entries: Vec<Entry>, enabled: bool) {
        let old = self.current();
        let mut keys = HashMap::with_capacity(entries.len());
        for entry in entries {
            let live = match old.keys.get(&entry.hash) {
                Some(live)
                    if live.limiter.limits() == entry.limits
                        && live.namespace == entry.namespace
                        && live.stored_id == entry.stored_id =>
                {
                    live.clone()
                }
                _ => Arc::new(LiveKey {
                    name: entry.name,
                    namespace: entry.namespace,
                    stored_id: entry.stored_id,
                    limiter: Limiter::new(entry.limits),
                    used: AtomicBool::new(false),
                }),
            };
            // The first source wins when one key is listed twice.
            keys.entry(entry.hash).or_insert(live);
        }
        if old.loaded && enabled != old.enabled {
            tracing::warn!(
                enabled,
                "API key auth turned {}",
                if enabled { "on" } else { "off" }
            );
        }
        let snapshot = Arc::new(Snapshot {
            loaded: true,
            enabled,
            keys,
        });
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }

    fn warn_plain_text(&self, names: Vec<String>) {
        let mut warned = self
            .warned_plain_text
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !names.is_empty() && *warned != names {
            tracing::warn!(
                keys = ?names,
                "API keys in plain text are deprecated and will be refused in the next release: \
                 replace each with its hash (`memorid keys hash`, then key_sha256 = \"…\" or \
                 namespace:sha256:<hex> in the keys file), or create keys with `memorid keys create`"
            );
        }
        *warned = names;
    }

    /// Writes `last_used_at` of the stored keys used since the last call.
    async fn record_use(&self) {
        let used: Vec<Uuid> = self
            .current()
            .keys
            .values()
            .filter(|key| key.used.swap(false, Ordering::AcqRel))
            .filter_map(|key| key.stored_id)
            .collect();
        if used.is_empty() {
            return;
        }
        if let Err(error) = self.store.touch_keys(&used, chrono::Utc::now()).await {
            tracing::warn!(%error, "recording API key use failed");
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads every `auth.reload_secs` until cancelled, then records use
    /// one last time.
    pub fn spawn_reloader(&self, tasks: &TaskTracker, cancel: CancellationToken) {
        let ring = self.clone();
        let period = Duration::from_secs(self.config.reload_secs.max(1));
        tasks.spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                if let Err(error) = ring.reload().await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "reloading API keys failed; the keys loaded before stay in force"
                    );
                }
            }
            ring.record_use().await;
        });
    }

    pub fn is_enabled(&self) -> bool {
        self.current().enabled
    }

    /// Lets a call in, or says why not. `presented` is the key the call
    /// carried, if any.
    pub fn admit(&self, presented: Option<&str>, now: Instant) -> Result<Admitted, Denied> {
        let snapshot = self.current();
        if !snapshot.enabled {
            return Ok(Admitted {
                namespace: DEFAULT_NAMESPACE.to_string(),
                permit: CallPermit::unlimited(),
            });
        }
        let presented = presented.ok_or(Denied::Missing)?;
        let key = snapshot
            .keys
            .get(&KeyHash::of(presented))
            .ok_or(Denied::Unknown)?;
        let permit = key
            .limiter
            .try_acquire(now)
            .map_err(|refusal| Denied::Limited {
                key: key.name.clone(),
                refusal,
            })?;
        key.used.store(true, Ordering::Release);
        Ok(Admitted {
            namespace: key.namespace.clone(),
            permit,
        })
    }
}
