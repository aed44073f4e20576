//! Integration tests: the real server on a socket, real PostgreSQL and
//! SQLite, fake upstreams speaking the providers' wire formats.

mod support;

mod admission;
mod anthropic;
mod attribute;
mod augmentation;
mod chat;
mod console;
mod durability;
mod embedding;
mod local_llm;
mod logs;
mod providers;
mod recall;
mod reembed;
mod service;
mod storage;
mod tls;
mod traces;
mod validation;
mod value_changes;
