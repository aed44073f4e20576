//! Memory logic that is neither SQL nor gRPC: the extraction prompt and its
//! parser, and the rules that turn an extraction into writes.

pub mod extraction;
pub mod history;
pub mod plan;
pub mod recall;
