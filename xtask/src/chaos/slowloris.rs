//! Slow clients that never finish their headers, beside normal clients.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Chaos, flags};
use crate::load::{self, Summary};
use crate::scorecard::{Checks, ScenarioResult};

impl Chaos {
    pub(super) async fn slowloris(&self) -> Result<ScenarioResult, String> {
        let name = "slowloris";
        let (timeout, slow_clients) = if self.short { (1.0, 200) } else { (2.0, 1000) };
        let timeout_flag = format!("{timeout}s");
        let proxy_flags = flags(&["--header-read-timeout", &timeout_flag]);
        let (_dummy, proxy) = self.start(name, &[], &proxy_flags).await?;
        let addr = format!("127.0.0.1:{}", proxy.port);
        let give_up = Duration::from_secs_f64(timeout + 5.0);
        let slow: Vec<_> = (0..slow_clients)
            .map(|_| tokio::spawn(slow_client(addr.clone(), give_up)))
            .collect();
        let outcomes = self.bystanders(&proxy, timeout + 2.0).await;
        let mut closed = Vec::new();
        let mut failed_to_connect = 0;
        let mut slow_connects = 0;
        for s in slow {
            match s.await.map_err(|e| e.to_string())? {
                SlowEnd::ClosedAfter(connect, d) => {
                    closed.push(d);
                    slow_connects += usize::from(connect > Duration::from_millis(500));
                }
                SlowEnd::StillOpen => {}
                SlowEnd::ConnectFailed => failed_to_connect += 1,
            }
        }
        closed.sort();
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
        let slowest = closed.last().map_or(f64::INFINITY, |d| d.as_secs_f64());
        r.extra
            .insert("slow_connects_over_500ms".into(), slow_connects as f64);
        r.extra
            .insert("slow_connections".into(), slow_clients as f64);
        r.extra
            .insert("slow_closed_by_server".into(), closed.len() as f64);
        r.extra.insert(
            "slow_close_p50_s".into(),
            load::percentile_ms(&closed, 0.5) / 1e3,
        );
        r.extra.insert("slow_close_max_s".into(), slowest);
        let mut c = Checks::default();
        c.promise(&summary);
        c.equal(
            "slow connections refused at connect",
            failed_to_connect as f64,
            0.0,
        );
        c.equal(
            "slow connections closed by docproxy",
            closed.len() as f64,
            slow_clients as f64,
        );
        c.at_most(
            "slowest close, s (header-read timeout + 1)",
            slowest,
            timeout + 1.0,
        );
        c.at_least("normal clients: share of 200s", summary.share("200"), 0.99);
        c.at_most("normal clients: p99 ms", summary.p99_ms, 250.0);
        Ok(Self::finish(r, c))
    }
}

pub(super) const ABOUT: &str = "Slow clients open connections and send partial headers, one line \
    every 300 ms, never finishing: the header-read timeout closes each of them while normal \
    clients keep being served.";

enum SlowEnd {
    /// Connected after the first, closed by docproxy the second after that.
    ClosedAfter(Duration, Duration),
    StillOpen,
    ConnectFailed,
}

/// A slowloris client: partial headers, one more header line every 300 ms,
/// never the blank line that ends them. Returns when docproxy closes it.
/// The connect time is kept apart: a connect that needed a SYN retransmit
/// (a full listen backlog) says nothing about the header-read timeout.
async fn slow_client(addr: String, give_up: Duration) -> SlowEnd {
    let start = Instant::now();
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        return SlowEnd::ConnectFailed;
    };
    let connect = start.elapsed();
    // The header-read timeout runs from the accepted connection.
    let start = Instant::now();
    if stream
        .write_all(b"GET /1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .is_err()
    {
        return SlowEnd::ClosedAfter(connect, start.elapsed());
    }
    let mut buf = [0u8; 1024];
    let mut drip = tokio::time::interval(Duration::from_millis(300));
    drip.tick().await;
    while start.elapsed() < give_up {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return SlowEnd::ClosedAfter(connect, start.elapsed()),
                Ok(_) => {} // e.g. a 408 before the close
            },
            _ = drip.tick() => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return SlowEnd::ClosedAfter(connect, start.elapsed());
                }
            }
        }
    }
    SlowEnd::StillOpen
}
