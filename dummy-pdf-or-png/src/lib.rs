//! dummy-pdf-or-png: a stand-in for the upstream docproxy fronts. Like the
//! original, every GET or HEAD on any path answers a PNG (50%), a PDF (40%)
//! or a corrupt PDF labelled `application/pdf` (10%). Off by default, it can
//! also inject faults, and it reports its health and metrics under `/_dummy/`.

mod config;
mod documents;
mod faults;
pub mod healthcheck;
mod server;

pub use config::{BadAnswer, Config, ConfigError, Faults, Only, Overload};
pub use documents::{CORRUPT_PDF, Kind, PDF, PNG, generate, hostile, padded_png, unique};
pub use server::serve;
