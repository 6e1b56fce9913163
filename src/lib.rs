pub mod document;
pub mod metrics;
