//! memorid: a gRPC memory service for LLM applications.
//!
//! The crate is a library so that the integration tests can start the real
//! server in-process on a socket; `main.rs` is only the command line.
//!
//! Boundaries: `grpc` handlers convert and delegate to the domain (`chat`,
//! `ingest`, `recall`, `augment`); only `storage` speaks SQL; `providers`
//! know nothing of memory; `memory` holds the rules (extraction, planning,
//! ranking) with no I/O of their own.

pub mod augment;
pub mod chat;
pub mod config;
pub mod console;
pub mod domain;
pub mod embed;
pub mod error;
pub mod eval;
#[cfg(test)]
mod fuzz;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod keys;
pub mod lru;
pub mod memories;
pub mod memory;
pub mod providers;
pub mod recall;
pub mod retry;
pub mod server;
pub mod storage;
pub mod telemetry;
pub mod tls;
pub mod traces;

/// The generated `memori.v1` API: messages, servers and clients.
pub mod pb {
    tonic::include_proto!("memori.v1");

    /// The encoded descriptor set of the API, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/memori_descriptor.bin"));
}
