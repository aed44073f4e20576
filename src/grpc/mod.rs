//! The gRPC surface: one file per service with thin handlers, plus the
//! codec, the admission layer (auth, limits, per-RPC metrics), deadline
//! reading and proto ↔ domain conversion.

pub mod admission;
pub mod auth;
pub mod chat;
pub mod codec;
pub mod convert;
#[cfg(test)]
mod convert_fuzz;
pub mod deadline;
pub mod memory;
pub mod metered;
