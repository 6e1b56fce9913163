//! The real binary with its stdout a pipe that nobody reads, as when a log
//! driver stalls: log lines are dropped and counted, and requests, /healthz
//! among them, are served as if the output were read (src/log_output.rs).
//! Before the log writer had its own thread, /healthz gave no answer at all
//! once the pipe was full.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};

/// Five thousand access lines, about 2 MB: more than the pipe (64 KiB) and
/// the log buffer (1 MiB) hold together, so lines must be dropped.
const REQUESTS: u64 = 5_000;

/// A kubelet probe's patience is seconds; the service's own bound is this.
const HEALTH_BOUND: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_reader_of_stdout_costs_log_lines_not_service() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    // The pipe's read end is held (so writes block, not fail) and never read.
    let child = Command::new(env!("CARGO_BIN_EXE_docproxy"))
        // Eight attempts: the demo upstream serves 10% corrupt documents, and
        // with five one request in 100,000 meets five in a row.
        .args([
            "--demo",
            "--max-attempts",
            "8",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docproxy");
    let _child = KillOnDrop(child);
    docproxy::upstream::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "docproxy did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let documents = stream::iter(0..REQUESTS)
        .map(|id| {
            let (client, base) = (&client, &base);
            async move {
                client
                    .get(format!("{base}/{id}"))
                    .send()
                    .await
                    .map(|r| r.status())
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>();
    let probes = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..40 {
            let sent = Instant::now();
            let status = client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .map(|r| r.status());
            assert_eq!(
                status.ok().map(|s| s.as_u16()),
                Some(200),
                "/healthz failed"
            );
            slowest = slowest.max(sent.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        slowest
    };
    let (answers, slowest) = tokio::join!(documents, probes);
    let served = answers
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|s| s.is_success()))
        .count();
    assert_eq!(served as u64, REQUESTS, "every document request is served");
    assert!(slowest <= HEALTH_BOUND, "/healthz took {slowest:?}");

    let scrape = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped: f64 = scrape
        .lines()
        .find_map(|l| l.strip_prefix("docproxy_log_lines_dropped_total "))
        .expect("the dropped-lines counter is exported")
        .parse()
        .unwrap();
    assert!(
        dropped > 0.0,
        "lines beyond pipe and buffer were not counted"
    );
}

/// The child is stopped however the test ends, a failed assertion included.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
