//! docproxy: serves documents by id from an upstream, and never a corrupt or
//! mislabelled one. See the README for the request path and design.

pub mod app;
pub mod config;
pub mod connection;
pub mod demo;
pub mod document;
pub mod error;
pub mod log_output;
pub mod metrics;
pub mod request_id;
pub mod routes;
pub mod shutdown;
pub mod telemetry;
pub mod upstream;
pub mod workers;

pub use app::Application;
pub use config::Config;
