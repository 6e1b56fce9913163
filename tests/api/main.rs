//! Black-box tests of docproxy over real sockets, against a wiremock upstream.

mod breaker;
mod coalescing;
mod documents;
mod helpers;
mod lifecycle;
mod retries;
mod shedding;
