//! Memory logic that is neither SQL nor gRPC: the extraction prompt and its
//! parser, the rules that turn an extraction into writes, session history,
//! and the search index recall ranks with.

pub mod batch;
pub mod extraction;
pub mod history;
pub mod index;
pub mod paraphrase;
pub mod plan;
pub mod replacement;
