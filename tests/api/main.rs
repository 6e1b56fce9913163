//! Black-box tests of docproxy over real sockets, against a wiremock upstream.

#[path = "../common/mod.rs"]
mod common;

mod breaker;
mod coalescing;
mod connections;
mod documents;
mod helpers;
mod isolation;
mod lifecycle;
mod logs;
mod retries;
mod semantics;
mod shedding;
mod slow_readers;
mod tls;
