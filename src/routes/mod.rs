//! HTTP handlers: documents by id, and the operational endpoints.

pub mod conditional;
pub mod document;
pub mod health;

pub use document::parse_id;
