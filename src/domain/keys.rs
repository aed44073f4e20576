//! API keys as storage keeps them: a name, the namespace the key opens, the
//! SHA-256 of the key (never the key) and its per-key limits.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Per-key limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyLimits {
    /// Calls a second, with bursts of up to one second's worth.
    pub requests_per_second: Option<f64>,
    /// Calls (streams included) in flight at once.
    pub max_concurrent_calls: Option<u32>,
}

/// A key stored in the `api_keys` table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub key_id: Uuid,
    pub name: String,
    pub namespace: String,
    /// Lowercase hex SHA-256 of the key.
    pub key_sha256: String,
    pub limits: KeyLimits,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}
