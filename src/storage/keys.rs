//! The `api_keys` table: keys created, listed and revoked by `memorid
//! keys`, read by every replica's key ring on each reload.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{Store, on_pool};
use crate::domain::keys::{KeyLimits, StoredKey};
use crate::error::{Error, Result};

const ALL_KEYS: &str = "SELECT key_id, name, namespace, key_sha256, requests_per_second, \
     max_concurrent_calls, created_at, last_used_at, revoked_at FROM api_keys \
     ORDER BY created_at, name";

const ACTIVE_KEYS: &str = "SELECT key_id, name, namespace, key_sha256, requests_per_second, \
     max_concurrent_calls, created_at, last_used_at, revoked_at FROM api_keys \
     WHERE revoked_at IS NULL";

const INSERT: &str = "INSERT INTO api_keys (key_id, name, namespace, key_sha256, \
     requests_per_second, max_concurrent_calls, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const ACTIVE_NAMED: &str = "SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL";

const REVOKE: &str = "UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL";

const ANY_KEY: &str = "SELECT EXISTS (SELECT 1 FROM api_keys) AS any_key";

const TOUCH: &str = "UPDATE api_keys SET last_used_at = $1 WHERE key_id = $2 \
     AND (last_used_at IS NULL OR last_used_at < $1)";

macro_rules! key_from_row {
    ($row:expr) => {{
        let row = $row;
        StoredKey {
            key_id: row.try_get("key_id")?,
            name: row.try_get("name")?,
            namespace: row.try_get("namespace")?,
            key_sha256: row.try_get("key_sha256")?,
            limits: KeyLimits {
                requests_per_second: row.try_get("requests_per_second")?,
                max_concurrent_calls: row
                    .try_get::<Option<i32>, _>("max_concurrent_calls")?
                    .map(|n| u32::try_from(n).unwrap_or(0)),
            },
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        }
    }};
}

impl Store {
    /// Stores a new key; its name must not belong to an active key.
    pub async fn create_key(&self, key: &StoredKey) -> Result<()> {
        let max_concurrent = key
            .limits
            .max_concurrent_calls
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let taken = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let taken = sqlx::query(ACTIVE_NAMED).bind(&key.name).fetch_optional(&mut *tx).await?.is_some();
            if !taken {
                sqlx::query(INSERT)
                    .bind(key.key_id).bind(&key.name).bind(&key.namespace).bind(&key.key_sha256)
                    .bind(key.limits.requests_per_second).bind(max_concurrent).bind(key.created_at)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
            }
            taken
        });
        if taken {
            return Err(Error::invalid(
                "name",
                format!(
                    "an active key is named {:?}; revoke it first or choose another name",
                    key.name
                ),
            ));
        }
        Ok(())
    }

    /// Every key, active and revoked, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<StoredKey>> {
        let keys = on_pool!(self, pool => {
            sqlx::query(ALL_KEYS)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok(key_from_row!(row)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(keys)
    }

    /// The keys that open calls now.
    pub async fn active_keys(&self) -> Result<Vec<StoredKey>> {
        let keys = on_pool!(self, pool => {
            sqlx::query(ACTIVE_KEYS)
                .fetch_all(pool).await?
                .iter()
                .map(|row| Ok(key_from_row!(row)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(keys)
    }

    /// Whether the table ever held a key (revoked ones count: revoking
    /// the last key must not turn auth off).
    pub async fn any_key_created(&self) -> Result<bool> {
        let any = on_pool!(self, pool => {
            sqlx::query(ANY_KEY).fetch_one(pool).await?.try_get::<bool, _>("any_key")?
        });
        Ok(any)
    }

    /// Revokes the active key of that name; false if there is none.
    pub async fn revoke_key(&self, name: &str, now: DateTime<Utc>) -> Result<bool> {
        let revoked = on_pool!(self, pool => {
            sqlx::query(REVOKE).bind(now).bind(name).execute(pool).await?.rows_affected()
        });
        Ok(revoked > 0)
    }

    /// Records that these keys were used at `at`.
    pub async fn touch_keys(&self, key_ids: &[Uuid], at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => {
            for key_id in key_ids {
                sqlx::query(TOUCH).bind(at).bind(*key_id).execute(pool).await?;
            }
        });
        Ok(())
    }
}
