//! API keys → namespaces.
//!
//! Every call to the memori.v1 services passes this interceptor, which puts
//! the caller's [`Namespace`] into the request's extensions; handlers read
//! it from there and nowhere else. With no keys configured, auth is off and
//! every caller is in the namespace `default`. Health and reflection stay
//! open so that probes need no key.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::config::AuthConfig;
use crate::error::Error;

/// The namespace used when auth is off.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The caller's namespace, set by [`Authenticator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(pub String);

#[derive(Debug, Clone)]
pub struct Authenticator {
    /// API key → namespace; empty means auth is off.
    keys: Arc<HashMap<String, String>>,
}

impl Authenticator {
    pub fn from_config(config: &AuthConfig) -> anyhow::Result<Self> {
        let mut keys = HashMap::new();
        for key in &config.keys {
            keys.insert(key.key.clone(), key.namespace.clone());
        }
        if let Some(path) = &config.keys_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("auth.keys_file {}: {e}", path.display()))?;
            for (number, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((namespace, key)) = line.split_once(':') else {
                    anyhow::bail!(
                        "auth.keys_file {} line {}: expected namespace:key",
                        path.display(),
                        number + 1
                    );
                };
                let (namespace, key) = (namespace.trim(), key.trim());
                if namespace.is_empty() || key.is_empty() {
                    anyhow::bail!(
                        "auth.keys_file {} line {}: namespace and key must be non-empty",
                        path.display(),
                        number + 1
                    );
                }
                keys.insert(key.to_string(), namespace.to_string());
            }
        }
        Ok(Authenticator {
            keys: Arc::new(keys),
        })
    }

    pub fn is_enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The namespaces the configured keys open.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.keys.values().cloned().collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The key from `authorization: Bearer <key>` or `x-api-key: <key>`.
fn presented_key<T>(request: &Request<T>) -> Option<&str> {
    let metadata = request.metadata();
    if let Some(value) = metadata.get("authorization").and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(str::trim);
    }
    metadata
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let namespace = if self.keys.is_empty() {
            DEFAULT_NAMESPACE.to_string()
        } else {
            let key = presented_key(&request).ok_or_else(|| {
                Error::Unauthenticated(
                    "an API key is required: send `authorization: Bearer <key>`".into(),
                )
            })?;
            self.keys
                .get(key)
                .cloned()
                .ok_or_else(|| Error::Unauthenticated("the API key is not valid".into()))?
        };
        request.extensions_mut().insert(Namespace(namespace));
        Ok(request)
    }
}

/// The caller's namespace, as the interceptor recorded it.
pub fn namespace<T>(request: &Request<T>) -> Result<String, Status> {
    request
        .extensions()
        .get::<Namespace>()
        .map(|n| n.0.clone())
        .ok_or_else(|| Error::Internal("the call bypassed authentication".into()).into())
}
