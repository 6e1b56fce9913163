//! 300 raw connections sending unfinished or oversized request heads, beside
//! normal clients.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Chaos, flags};
use crate::load::Summary;
use crate::scorecard::{Checks, ScenarioResult};

const MAX_HEADER_KIB: u64 = 8;
/// Connections per kind of flood; four kinds, 300 in all.
const PER_KIND: usize = 75;
/// The baseline scenario's peak RSS (7.9 MiB in docs/SCORECARD.json).
const BASELINE_MIB: f64 = 8.0;
/// Each flooding connection may cost its head buffer (up to hyper's limit,
/// --max-header-size + 4 KiB) on top of the baseline; the fixed overhead is
/// the normal clients' requests and allocator slack. Written before the first run.
const OVERHEAD_MIB: f64 = 16.0;

/// What a flooding connection sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flood {
    /// One header line every 300 ms, never the blank line.
    Drip,
    /// 7 KiB of headers at once (under the limit), never the blank line.
    Unfinished,
    /// A whole 10 KiB head: over --max-header-size, under hyper's own limit,
    /// so docproxy itself answers 431 problem+json.
    Oversized,
    /// 32 KiB of headers at once, past hyper's limit, never finished.
    Huge,
}

/// How a flooding connection ended.
struct End {
    flood: Flood,
    /// Status of the answer docproxy sent before closing, if any.
    status: Option<u16>,
    problem_json: bool,
    /// From connect to the close, or None if still open when we gave up.
    closed_after: Option<Duration>,
}

impl Chaos {
    pub(super) async fn header_flood(&self) -> Result<ScenarioResult, String> {
        let name = "header-flood";
        let timeout = if self.short { 1.0 } else { 2.0 };
        let timeout_flag = format!("{timeout}s");
        let max_header = format!("{MAX_HEADER_KIB}KiB");
        let proxy_flags = flags(&[
            "--header-read-timeout",
            &timeout_flag,
            "--max-header-size",
            &max_header,
        ]);
        let (_dummy, proxy) = self.start(name, &[], &proxy_flags).await?;
        let addr = format!("127.0.0.1:{}", proxy.port);
        let give_up = Duration::from_secs_f64(timeout + 5.0);
        let floods: Vec<_> = [
            Flood::Drip,
            Flood::Unfinished,
            Flood::Oversized,
            Flood::Huge,
        ]
        .into_iter()
        .flat_map(|f| std::iter::repeat_n(f, PER_KIND))
        .map(|f| tokio::spawn(flood(addr.clone(), f, give_up)))
        .collect();
        let outcomes = self.bystanders(&proxy, timeout + 2.0).await;
        let mut ends = Vec::new();
        for f in floods {
            ends.push(f.await.map_err(|e| e.to_string())?);
        }
        let summary = Summary::of(&outcomes);
        let metrics = self.scrape(&proxy).await?;
        let mut r = Self::result(
            name,
            ABOUT,
            vec![],
            proxy_flags,
            summary.clone(),
            &metrics,
            proxy.peak_rss(),
        );
        let of = |f: Flood| ends.iter().filter(move |e| e.flood == f);
        let unfinished: Vec<_> = of(Flood::Drip).chain(of(Flood::Unfinished)).collect();
        let unfinished_closed: Vec<f64> = unfinished
            .iter()
            .filter_map(|e| e.closed_after.map(|d| d.as_secs_f64()))
            .collect();
        let slowest = if unfinished_closed.len() == unfinished.len() {
            unfinished_closed.iter().copied().fold(0.0, f64::max)
        } else {
            f64::INFINITY
        };
        let oversized_431_json = of(Flood::Oversized)
            .filter(|e| e.status == Some(431) && e.problem_json)
            .count();
        let huge_431_or_closed = of(Flood::Huge)
            .filter(|e| e.status == Some(431) || (e.status.is_none() && e.closed_after.is_some()))
            .count();
        let huge_431 = of(Flood::Huge).filter(|e| e.status == Some(431)).count();
        r.extra
            .insert("flood_connections".into(), ends.len() as f64);
        r.extra.insert("unfinished_close_max_s".into(), slowest);
        r.extra.insert("huge_answered_431".into(), huge_431 as f64);
        let rss_limit = BASELINE_MIB
            + (4 * PER_KIND) as f64 * (MAX_HEADER_KIB + 4) as f64 / 1024.0
            + OVERHEAD_MIB;
        let mut c = Checks::default();
        c.promise(&summary);
        c.equal(
            "unfinished heads (drip, 7 KiB at once) closed by docproxy",
            unfinished_closed.len() as f64,
            unfinished.len() as f64,
        );
        c.at_most(
            "slowest of those closes, s (header-read timeout + 1)",
            slowest,
            timeout + 1.0,
        );
        c.equal(
            "10 KiB heads answered 431 problem+json",
            oversized_431_json as f64,
            PER_KIND as f64,
        );
        c.equal(
            "32 KiB heads answered 431 or closed",
            huge_431_or_closed as f64,
            PER_KIND as f64,
        );
        c.at_least("normal clients: share of 200s", summary.share("200"), 0.99);
        c.at_most("normal clients: p99 ms", summary.p99_ms, 250.0);
        c.at_most(
            &format!(
                "peak RSS, MiB (baseline {BASELINE_MIB} + 300 x {} KiB + fixed {OVERHEAD_MIB})",
                MAX_HEADER_KIB + 4
            ),
            r.peak_rss_mib,
            rss_limit,
        );
        Ok(Self::finish(r, c))
    }
}

pub(super) const ABOUT: &str = "300 raw connections flood docproxy with request heads at once: 75 \
    drip a header line every 300 ms, 75 send 7 KiB and stop, 75 send a whole 10 KiB head (over \
    --max-header-size 8KiB), 75 send 32 KiB (past hyper's limit), beside normal clients at \
    100 req/s: unfinished heads are closed by the header-read timeout, oversized ones answered \
    431, normal clients served, and peak RSS bounded by the head buffers.";

/// Headers of about `bytes` in total, in 1 KiB lines: few enough fields that
/// the size, not hyper's limit of 100 header fields, is what is over.
fn filler(bytes: usize) -> String {
    let line = format!("X-Fill: {}\r\n", "a".repeat(1014));
    line.repeat(bytes.div_ceil(line.len()))
}

/// One flooding connection, to its end (or `give_up`).
async fn flood(addr: String, flood: Flood, give_up: Duration) -> End {
    let mut end = End {
        flood,
        status: None,
        problem_json: false,
        closed_after: None,
    };
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        return end;
    };
    let start = Instant::now();
    let head = "GET /1 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    let first = match flood {
        Flood::Drip => head.to_string(),
        Flood::Unfinished => format!("{head}{}", filler(7 << 10)),
        Flood::Oversized => format!("{head}{}\r\n", filler(10 << 10)),
        Flood::Huge => format!("{head}{}", filler(32 << 10)),
    };
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = stream.write_all(first.as_bytes()).await.is_err();
    let mut drip = tokio::time::interval(Duration::from_millis(300));
    drip.tick().await;
    while !closed && start.elapsed() < give_up {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => closed = true,
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    // A whole answer's head is all this connection waits for.
                    if flood == Flood::Oversized && received.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            },
            _ = drip.tick(), if flood == Flood::Drip => {
                closed = stream.write_all(b"X-Slow: 1\r\n").await.is_err();
            }
        }
    }
    if closed {
        end.closed_after = Some(start.elapsed());
    }
    let text = String::from_utf8_lossy(&received);
    end.status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    end.problem_json = text
        .to_ascii_lowercase()
        .contains("content-type: application/problem+json");
    end
}
