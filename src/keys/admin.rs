//! What `memorid keys` does, against the same storage the servers use (so
//! it works while they run): create a key (printed once, only its hash
//! stored), list keys (never the key), revoke one, hash one for config and
//! keys files.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::secret::{self, KeyHash};
use crate::domain::keys::{KeyLimits, StoredKey};
use crate::storage::Store;

/// A key just created: `key` exists only here, in this one answer.
pub struct Created {
    pub key: String,
    pub stored: StoredKey,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created")
            .field("key", &"<redacted>")
            .field("stored", &self.stored)
            .finish()
    }
}

/// Creates a key for `namespace`, named `name` (unique among active keys).
pub async fn create(
    store: &Store,
    namespace: &str,
    name: Option<String>,
    limits: KeyLimits,
) -> anyhow::Result<Created> {
    crate::domain::validate_id("--namespace", namespace, true)?;
    if let Some(rate) = limits.requests_per_second {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--requests-per-second must be a positive number"
        );
    }
    let key = secret::generate()?;
    let created_at = Utc::now();
    let name = name.unwrap_or_else(|| format!("{namespace}-{}", created_at.format("%Y%m%d%H%M%S")));
    anyhow::ensure!(
        !name.trim().is_empty() && name.len() <= 128,
        "--name must be 1 to 128 bytes"
    );
    let stored = StoredKey {
        key_id: Uuid::now_v7(),
        name,
        namespace: namespace.to_string(),
        key_sha256: KeyHash::of(&key).hex(),
        limits,
        created_at,
        last_used_at: None,
        revoked_at: None,
    };
    store.create_key(&stored).await?;
    Ok(Created { key, stored })
}

/// The table `memorid keys list` prints.
pub fn table(keys: &[StoredKey]) -> String {
    let when = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let limit = |limits: &KeyLimits| {
        let rate = limits
            .requests_per_second
            .map(|r| format!("{r}/s"))
            .unwrap_or_else(|| "-".into());
        let calls = limits
            .max_concurrent_calls
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into());
        format!("{rate} {calls}")
    };
    let mut rows = vec![[
        "NAME".to_string(),
        "NAMESPACE".into(),
        "CREATED".into(),
        "LAST USED".into(),
        "REVOKED".into(),
        "LIMITS (rate, calls)".into(),
    ]];
    for key in keys {
        rows.push([
            key.name.clone(),
            key.namespace.clone(),
            when(Some(key.created_at)),
            when(key.last_used_at),
            when(key.revoked_at),
            limit(&key.limits),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Revokes the active key named `name`.
pub async fn revoke(store: &Store, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        store.revoke_key(name, Utc::now()).await?,
        "no active key is named {name:?} (see `memorid keys list`)"
    );
    Ok(())
}

/// The line to put in a keys file, and the value for `key_sha256`.
pub fn hash(key: &str) -> anyhow::Result<String> {
    let key = key.trim();
    anyhow::ensure!(!key.is_empty(), "no key on stdin");
    Ok(KeyHash::of(key).hex())
}
