//! The gRPC surface: one file per service with thin handlers, plus the
//! codec, auth interceptor, deadline reading and proto ↔ domain conversion.

pub mod auth;
pub mod chat;
pub mod codec;
pub mod convert;
pub mod deadline;
pub mod memory;
