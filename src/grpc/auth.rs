//! The caller's namespace, as the admission layer (`grpc::admission`)
//! recorded it after checking the call's API key. Handlers read it from
//! here and nowhere else; a call that reached a handler without one
//! bypassed the layer, which is an internal error, never a default.

use tonic::{Request, Status};

use crate::error::Error;

pub use crate::keys::DEFAULT_NAMESPACE;

/// The caller's namespace, set by the admission layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(pub String);

/// The caller's namespace, as the admission layer recorded it.
pub fn namespace<T>(request: &Request<T>) -> Result<String, Status> {
    request
        .extensions()
        .get::<Namespace>()
        .map(|n| n.0.clone())
        .ok_or_else(|| Error::Internal("the call bypassed authentication".into()).into())
}
