//! Black-box tests of docproxy over real sockets, against a wiremock upstream.

#[path = "../common/mod.rs"]
mod common;

mod breaker;
mod coalescing;
mod documents;
mod helpers;
mod isolation;
mod lifecycle;
mod retries;
mod shedding;
