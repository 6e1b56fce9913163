//! Clients that ask for large documents and then stop reading, against a
//! small byte budget and a short send timeout.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use super::{Chaos, MIB, flags};
use crate::load::{Answer, Outcome, Summary, percentile_ms};
use crate::scorecard::{Checks, ScenarioResult};

/// The document: larger than what the kernel buffers on both sides of a
/// loopback connection (at most 4 MiB of send buffer, and the non-readers'
/// receive buffers kept at 4 KiB), so a client that never reads leaves most
/// of it unsent and its reservation held.
const PAD_BYTES: usize = 6 << 20;
const BUDGET_MIB: u64 = 16;
/// What docproxy holds outside the budget: the baseline scenario's peak RSS
/// (~8 MiB: the runtime, a few dozen connections) plus 16 MiB for the
/// non-readers' connections and allocator slack. Written before the first run.
const OVERHEAD_MIB: u64 = 24;
/// A refused request is answered from the budget check, before any upstream
/// attempt: it must not wait for anything.
const FAST_503_MS: f64 = 250.0;

impl Chaos {
    pub(super) async fn slow_reader(&self) -> Result<ScenarioResult, String> {
        let name = "slow-reader";
        let (send_timeout, non_readers, rounds) = if self.short {
            (2.0, 8, 1)
        } else {
            (5.0, 32, 3)
        };
        let pad = PAD_BYTES.to_string();
        let dummy_flags = flags(&["--only", "png", "--pad-png", &pad]);
        let budget = format!("{BUDGET_MIB}MiB");
        let timeout_flag = format!("{send_timeout}s");
        let proxy_flags = flags(&[
            "--max-in-flight-bytes",
            &budget,
            "--max-document-size",
            "8MiB",
            "--send-timeout",
            &timeout_flag,
        ]);
        let (_dummy, proxy) = self.start(name, &dummy_flags, &proxy_flags).await?;
        let addr = format!("127.0.0.1:{}", proxy.port);
        let document_len = PAD_BYTES + dummy_pdf_or_png::PNG.len() + 12;
        // The reservation is the declared length: this many fit in the budget.
        let fit = (BUDGET_MIB << 20) as usize / document_len;

        let mut outcomes = Vec::new();
        let mut holders_per_round = Vec::new();
        let mut held_503s = Vec::new();
        let mut freed_after = Vec::new();
        let mut cut_off = 0usize;
        let mut holders_total = 0usize;
        let mut id = 1u64;
        for _ in 0..rounds {
            // Non-readers, all at once: each reads its status line, then nothing.
            let started = Instant::now();
            let stalls: Vec<_> = (0..non_readers)
                .map(|_| {
                    id += 1;
                    tokio::spawn(stop_reading_after_the_status(addr.clone(), id))
                })
                .collect();
            let mut holders = Vec::new();
            let mut stalled_at = Vec::new();
            for s in stalls {
                let (outcome, held) = s.await.map_err(|e| e.to_string())?;
                outcomes.push(outcome);
                if let Some((at, stream)) = held {
                    stalled_at.push(at);
                    holders.push(stream);
                }
            }
            // docproxy's send timer starts when its writes stall, just after the
            // status line: the first holder to stall is the first to be cut off,
            // and one cut-off holder frees room for a document.
            let held_at = stalled_at
                .iter()
                .copied()
                .min()
                .unwrap_or_else(Instant::now);
            let last_stalled = stalled_at
                .iter()
                .copied()
                .max()
                .unwrap_or_else(Instant::now);
            holders_per_round.push(holders.len());

            // While they hold the budget, a new request is refused at once.
            let probes: Vec<_> = (0..20)
                .map(|_| {
                    id += 1;
                    let url = format!("{}/{id}", proxy.base_url());
                    let client = self.client.clone();
                    tokio::spawn(async move { probe(&client, &url, document_len, started).await })
                })
                .collect();
            for p in probes {
                let outcome = p.await.map_err(|e| e.to_string())?;
                if outcome.status() == Some(503) {
                    held_503s.push(outcome.latency);
                }
                outcomes.push(outcome);
            }
            let probed_within = held_at.elapsed().as_secs_f64();

            // After the send timeout the holders are cut off and the budget is free.
            let give_up = Duration::from_secs_f64(send_timeout + 5.0);
            let mut freed = None;
            while held_at.elapsed() < give_up {
                id += 1;
                let outcome = probe(
                    &self.client,
                    &format!("{}/{id}", proxy.base_url()),
                    document_len,
                    started,
                )
                .await;
                let served = outcome.status() == Some(200);
                outcomes.push(outcome);
                if served {
                    freed = Some(held_at.elapsed().as_secs_f64());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            freed_after.push(freed.unwrap_or(f64::INFINITY));
            eprintln!(
                "    round: {} holders, probes within {probed_within:.2} s, freed after {:?} s",
                holders.len(),
                freed
            );
            holders_total += holders.len();
            // Reading is progress, which restarts a send timer: read none of them
            // before every holder's timeout (+ 1 s, the criterion's bound) is over.
            tokio::time::sleep_until(
                (last_stalled + Duration::from_secs_f64(send_timeout + 1.0)).into(),
            )
            .await;
            for mut h in holders {
                let received = until_closed(&mut h, give_up).await;
                if received < document_len {
                    cut_off += 1;
                }
            }
        }

        let summary = Summary::of(&outcomes);
        let metrics = self.scrape(&proxy).await?;
        let mut r = Self::result(
            name,
            ABOUT,
            dummy_flags,
            proxy_flags,
            summary.clone(),
            &metrics,
            proxy.peak_rss(),
        );
        held_503s.sort();
        let p99_503 = percentile_ms(&held_503s, 0.99);
        let slowest_free = freed_after.iter().copied().fold(0.0, f64::max);
        let fastest_free = freed_after.iter().copied().fold(f64::INFINITY, f64::min);
        r.extra
            .insert("document_mib".into(), document_len as f64 / MIB);
        r.extra.insert("byte_budget_mib".into(), BUDGET_MIB as f64);
        r.extra
            .insert("non_readers_per_round".into(), non_readers as f64);
        r.extra.insert("rounds".into(), rounds as f64);
        r.extra.insert("holders_total".into(), holders_total as f64);
        r.extra.insert("probe_503_p99_ms".into(), p99_503);
        r.extra.insert("freed_after_max_s".into(), slowest_free);
        r.extra.insert("freed_after_min_s".into(), fastest_free);
        let mut c = Checks::default();
        c.promise(&summary);
        c.equal(
            "holders per round (documents that fit the budget), least",
            holders_per_round.iter().copied().min().unwrap_or(0) as f64,
            fit as f64,
        );
        c.equal(
            "holders per round, most",
            holders_per_round.iter().copied().max().unwrap_or(0) as f64,
            fit as f64,
        );
        c.equal(
            "probes while held answered 503",
            held_503s.len() as f64,
            (20 * rounds) as f64,
        );
        c.at_most("p99 of those 503s, ms", p99_503, FAST_503_MS);
        c.at_least(
            "budget freed after, s (send timeout - 0.1)",
            fastest_free,
            send_timeout - 0.1,
        );
        c.at_most(
            "budget freed within, s (send timeout + 1)",
            slowest_free,
            send_timeout + 1.0,
        );
        c.equal(
            "holders cut off before their last byte",
            cut_off as f64,
            holders_total as f64,
        );
        c.at_most(
            &format!("peak RSS, MiB (budget {BUDGET_MIB} + fixed overhead {OVERHEAD_MIB})"),
            r.peak_rss_mib,
            (BUDGET_MIB + OVERHEAD_MIB) as f64,
        );
        Ok(Self::finish(r, c))
    }
}

pub(super) const ABOUT: &str = "Clients ask for 6 MiB PNGs (dummy --pad-png) and stop reading after \
    the status line, against a 16 MiB byte budget: the two documents that fit stay reserved while \
    their clients stall, new requests are refused 503 at once, and the send timeout cuts the \
    stalled clients off and frees the budget for the next 200. Peak RSS stays under the budget \
    plus a fixed 24 MiB (the baseline's ~8 MiB and 16 MiB of connections and slack).";

/// Asks for `/id` on a connection with a 4 KiB receive buffer and reads the
/// status line. A 200 keeps the connection, unread, with the time its status
/// arrived; anything else is closed.
async fn stop_reading_after_the_status(
    addr: String,
    id: u64,
) -> (Outcome, Option<(Instant, tokio::net::TcpStream)>) {
    let start = Instant::now();
    let result = async {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        let mut stream = socket
            .connect(addr.parse().map_err(std::io::Error::other)?)
            .await?;
        stream
            .write_all(format!("GET /{id} HTTP/1.1\r\nHost: docproxy\r\n\r\n").as_bytes())
            .await?;
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).await?;
        let code = std::str::from_utf8(&status[9..12])
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other("not an HTTP status line"))?;
        Ok::<_, std::io::Error>((code, stream))
    }
    .await;
    let latency = start.elapsed();
    match result {
        Ok((code, stream)) => (
            Outcome {
                at: Duration::ZERO,
                latency,
                answer: Answer::Status(code),
                violation: None,
            },
            (code == 200).then(|| (Instant::now(), stream)),
        ),
        Err(e) => (
            Outcome {
                at: Duration::ZERO,
                latency,
                answer: Answer::Transport(e.to_string()),
                violation: None,
            },
            None,
        ),
    }
}

/// One request read to the end: a 200 must carry the whole padded PNG, any
/// other answer must be problem+json.
async fn probe(client: &reqwest::Client, url: &str, len: usize, origin: Instant) -> Outcome {
    let start = Instant::now();
    let at = start - origin;
    let response = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                at,
                latency: start.elapsed(),
                answer: Answer::Transport(e.to_string()),
                violation: None,
            };
        }
    };
    let status = response.status().as_u16();
    let problem = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let body = response.bytes().await;
    let latency = start.elapsed();
    let Ok(body) = body else {
        return Outcome {
            at,
            latency,
            answer: Answer::Transport("body".into()),
            violation: None,
        };
    };
    let violation = match status {
        200 if body.len() != len || !body.starts_with(b"\x89PNG") => Some(format!(
            "200 with {} bytes, not the {len}-byte PNG",
            body.len()
        )),
        200 => None,
        _ if !problem => Some(format!("{status} not problem+json")),
        _ => None,
    };
    Outcome {
        at,
        latency,
        answer: Answer::Status(status),
        violation,
    }
}

/// Reads what the stalled connection still gets until docproxy closes it.
async fn until_closed(stream: &mut tokio::net::TcpStream, give_up: Duration) -> usize {
    let mut received = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let _ = tokio::time::timeout(give_up, async {
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            received += n;
        }
    })
    .await;
    received
}
