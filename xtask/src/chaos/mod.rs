//! `cargo xtask chaos [--short]`: docproxy in front of the dummy upstream with
//! fault-injection profiles, through named scenarios, each with explicit pass
//! criteria. Every scenario starts fresh processes on free 127.0.0.1 ports, so
//! docproxy's counters and VmHWM belong to that scenario alone.
//!
//! This module runs the scenarios and builds their rows; each scenario lives
//! in its own file beside it.

mod bad_id;
mod burst;
pub mod degradation;
mod header_flood;
mod hostile;
mod memory;
mod outage;
mod overload;
mod sigterm;
mod slow_reader;
mod slowloris;
mod steady;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use docproxy::metrics as m;

use crate::load::{self, Control, Summary};
use crate::procs::{self, Binaries, Server};
use crate::prom::Scrape;
use crate::scorecard::{Checks, Machine, ScenarioResult, Scorecard};

const MIB: f64 = 1024.0 * 1024.0;

/// Run-wide settings: the short profile for CI, the long one on demand.
pub struct Chaos {
    bins: Binaries,
    logs: PathBuf,
    short: bool,
    client: reqwest::Client,
}

/// Flags as the processes take them.
fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Chaos {
    pub fn new(bins: Binaries, logs: PathBuf, short: bool) -> Self {
        Chaos {
            bins,
            logs,
            short,
            client: load::client(Duration::from_secs(30)),
        }
    }

    /// Seconds of steady load per scenario.
    fn steady_for(&self) -> Duration {
        if self.short {
            Duration::from_secs(4)
        } else {
            Duration::from_secs(30)
        }
    }

    fn log(&self, scenario: &str, process: &str) -> PathBuf {
        self.logs.join(format!("{scenario}.{process}.log"))
    }

    pub async fn run(&self, only: Option<&str>) -> Scorecard {
        let started = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let mut scenarios = Vec::new();
        let steady = [
            (
                "baseline",
                "The original mix (50% PNG, 40% PDF, 10% corrupt PDF) at a steady 200 req/s: \
                 the corrupt PDFs are retried, everything else served; the breaker never opens.",
                vec![],
                vec![],
            ),
            (
                "errors-20",
                "20% of upstream answers are 503 (plus the 10% corrupt PDFs): retries within \
                 the retry budget hide most of them; the breaker stays closed.",
                flags(&["--error-rate", "0.2"]),
                vec![],
            ),
            (
                "errors-50",
                "50% upstream 503s (55% failed attempts): a degraded upstream, not a dead one: \
                 the breaker stays closed, at least the no-proxy share (0.45) is served, and \
                 the retry budget keeps attempts per request bounded.",
                flags(&["--error-rate", "0.5"]),
                vec![],
            ),
            (
                "latency-spikes",
                "10% of upstream answers take 3 s, past docproxy's 300 ms per-attempt timeout: \
                 the slow attempt is cut and retried, so p99 stays far below the spike.",
                flags(&["--spike-rate", "0.1", "--spike-latency", "3s"]),
                flags(&["--attempt-timeout", "300ms", "--deadline", "2s"]),
            ),
            (
                "resets",
                "10% of upstream connections are reset mid-answer: retried, never served.",
                flags(&["--reset-rate", "0.1"]),
                vec![],
            ),
            (
                "truncated",
                "10% of upstream bodies are cut short: detected, retried, never served.",
                flags(&["--truncate-rate", "0.1"]),
                vec![],
            ),
            (
                "wrong-types",
                "30% of upstream answers carry the wrong Content-Type: docproxy labels each \
                 document with the type its bytes prove, so every one is still served, correctly.",
                flags(&["--wrong-type-rate", "0.3"]),
                vec![],
            ),
        ];
        for (name, about, dummy, proxy) in steady {
            if only.is_none_or(|o| o == name) {
                scenarios.push(
                    self.guard(name, about, self.steady(name, about, dummy, proxy))
                        .await,
                );
            }
        }
        type Scenario<'a> = (
            &'static str,
            &'static str,
            std::pin::Pin<Box<dyn Future<Output = Result<ScenarioResult, String>> + 'a>>,
        );
        let others: Vec<Scenario> = vec![
            ("outage", outage::ABOUT, Box::pin(self.outage())),
            ("slowloris", slowloris::ABOUT, Box::pin(self.slowloris())),
            ("burst", burst::ABOUT, Box::pin(self.burst())),
            (
                "bounded-memory",
                memory::ABOUT,
                Box::pin(self.bounded_memory()),
            ),
            ("sigterm", sigterm::ABOUT, Box::pin(self.sigterm())),
            (
                "degradation",
                degradation::ABOUT,
                Box::pin(self.degradation()),
            ),
            ("overload", overload::ABOUT, Box::pin(self.overload())),
            ("bad-id", bad_id::ABOUT, Box::pin(self.bad_id())),
            (
                "hostile-bodies",
                hostile::ABOUT,
                Box::pin(self.hostile_bodies()),
            ),
            (
                "slow-reader",
                slow_reader::ABOUT,
                Box::pin(self.slow_reader()),
            ),
            (
                "header-flood",
                header_flood::ABOUT,
                Box::pin(self.header_flood()),
            ),
        ];
        for (name, about, scenario) in others {
            if only.is_none_or(|o| o == name) {
                scenarios.push(self.guard(name, about, scenario).await);
            }
        }
        Scorecard {
            mode: if self.short { "short" } else { "full" }.into(),
            started,
            machine: Machine::detect(),
            pass: !scenarios.is_empty() && scenarios.iter().all(|s| s.pass),
            scenarios,
        }
    }

    /// Turns a scenario that could not even run into a failed row.
    async fn guard(
        &self,
        name: &str,
        about: &str,
        scenario: impl Future<Output = Result<ScenarioResult, String>>,
    ) -> ScenarioResult {
        eprintln!("--- {name}");
        let start = Instant::now();
        let mut result = scenario.await.unwrap_or_else(|error| {
            let mut checks = Checks::default();
            checks.push("scenario ran", "yes".into(), error, false);
            ScenarioResult {
                name: name.into(),
                about: about.into(),
                dummy_flags: vec![],
                docproxy_flags: vec![],
                summary: Summary::default(),
                upstream_attempts_per_request: 0.0,
                breaker_opens: 0,
                requests_shed: BTreeMap::new(),
                peak_rss_mib: 0.0,
                extra: BTreeMap::new(),
                checks: checks.0,
                pass: false,
                seconds: 0.0,
            }
        });
        result.seconds = (start.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        for c in &result.checks {
            eprintln!(
                "    {} {}: {} (expected {})",
                if c.pass { "ok  " } else { "FAIL" },
                c.what,
                c.actual,
                c.expected
            );
        }
        result
    }

    /// Starts the dummy (on a fresh port) and docproxy in front of it.
    async fn start(
        &self,
        name: &str,
        dummy_flags: &[String],
        docproxy_flags: &[String],
    ) -> Result<(Server, Server), String> {
        let mut dummy_args = flags(&["--seed", "7"]);
        dummy_args.extend_from_slice(dummy_flags);
        let dummy = procs::start_dummy(
            &self.bins,
            procs::free_port(),
            &dummy_args,
            &self.log(name, "dummy"),
        )
        .await?;
        let proxy = procs::start_docproxy(
            &self.bins,
            dummy.port,
            docproxy_flags,
            &self.log(name, "docproxy"),
        )
        .await?;
        Ok((dummy, proxy))
    }

    /// Runs `load` against the proxy to the end; its summary and the proxy's metrics after it.
    async fn drive(&self, proxy: &Server, load: &load::Load) -> Result<(Summary, Scrape), String> {
        let outcomes = load::run(
            &self.client,
            &proxy.base_url(),
            load,
            &Control::default(),
            Instant::now(),
        )
        .await;
        Ok((Summary::of(&outcomes), self.scrape(proxy).await?))
    }

    /// Normal clients at 100 req/s for `seconds`, beside an attack on the
    /// connections (slowloris, header floods).
    async fn bystanders(&self, proxy: &Server, seconds: f64) -> Vec<load::Outcome> {
        let spec = load::Load {
            concurrency: 8,
            duration: Duration::from_secs_f64(seconds),
            max_requests: load::MAX_REQUESTS,
            rps: Some(100.0),
        };
        load::run(
            &self.client,
            &proxy.base_url(),
            &spec,
            &Control::default(),
            Instant::now(),
        )
        .await
    }

    async fn scrape(&self, proxy: &Server) -> Result<Scrape, String> {
        let text = self
            .client
            .get(format!("{}/metrics", proxy.base_url()))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("scrape /metrics: {e}"))?
            .text()
            .await
            .map_err(|e| format!("scrape /metrics: {e}"))?;
        Ok(Scrape::parse(&text))
    }

    /// The row for a scenario from its outcomes and docproxy's final metrics.
    fn result(
        name: &str,
        about: &str,
        dummy_flags: Vec<String>,
        docproxy_flags: Vec<String>,
        summary: Summary,
        metrics: &Scrape,
        peak_rss: Option<u64>,
    ) -> ScenarioResult {
        let requests = metrics.sum(m::HTTP_REQUESTS, &[("route", "/{id}")]);
        let attempts = metrics.sum(m::UPSTREAM_ATTEMPTS, &[]);
        ScenarioResult {
            name: name.into(),
            about: about.into(),
            dummy_flags,
            docproxy_flags,
            summary,
            upstream_attempts_per_request: if requests > 0.0 {
                attempts / requests
            } else {
                0.0
            },
            breaker_opens: metrics.sum(m::BREAKER_TRANSITIONS, &[("to", "open")]) as u64,
            requests_shed: metrics
                .by_label(m::REQUESTS_SHED, "reason")
                .into_iter()
                .map(|(k, v)| (k, v as u64))
                .collect(),
            peak_rss_mib: peak_rss.map_or(0.0, |b| b as f64 / MIB),
            extra: BTreeMap::new(),
            checks: vec![],
            pass: false,
            seconds: 0.0,
        }
    }

    fn finish(mut result: ScenarioResult, checks: Checks) -> ScenarioResult {
        result.pass = checks.pass();
        result.checks = checks.0;
        result
    }
}

/// Stops a background load when a scenario returns early with an error.
struct StopOnDrop(Control);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The documents the dummy binary serves must be the ones this xtask was built
/// with (`dummy_pdf_or_png::PNG`/`PDF`), or every 200 would count as corrupt:
/// a stale binary is a setup error, not a finding.
async fn preflight(bins: &Binaries, logs: &Path) -> Result<(), String> {
    let client = load::client(Duration::from_secs(1));
    for (only, expected) in [
        ("png", dummy_pdf_or_png::PNG),
        ("pdf", dummy_pdf_or_png::PDF),
    ] {
        let dummy = procs::start_dummy(
            bins,
            procs::free_port(),
            &flags(&["--only", only]),
            &logs.join("preflight.log"),
        )
        .await?;
        let body = client
            .get(format!("{}/1", dummy.base_url()))
            .send()
            .await
            .map_err(|e| format!("preflight: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("preflight: {e}"))?;
        if body.as_ref() != expected {
            return Err(format!(
                "{} serves a different {only} than this xtask was built with: rebuild all three \
                 (cargo build --release --bins -p docproxy -p dummy-pdf-or-png -p xtask)",
                bins.dummy().display()
            ));
        }
    }
    Ok(())
}

/// Entry point: runs the scenarios, prints the table, writes the files.
pub async fn main(short: bool, out: &Path, only: Option<&str>) -> Result<bool, String> {
    let bins = Binaries::locate()?;
    let logs = bins
        .dir
        .parent()
        .unwrap_or(&bins.dir)
        .join("xtask/chaos-logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    preflight(&bins, &logs).await?;
    let start = Instant::now();
    let card = Chaos::new(bins, logs.clone(), short).run(only).await;
    card.write(out)
        .map_err(|e| format!("write scorecard: {e}"))?;
    // The plot needs the whole curve, which only the full run measures.
    if let Some(row) = card.scenarios.iter().find(|s| s.name == "degradation")
        && !short
    {
        let path = out.join("degradation.svg");
        crate::plot::degradation_curve(&degradation::points(row), &path)?;
        println!("degradation curve drawn in {}", path.display());
    }
    println!("\n{}", card.table());
    println!(
        "{} in {:.0} s; scorecard written to {}/SCORECARD.{{md,json}}; process logs in {}",
        if card.pass { "PASS" } else { "FAIL" },
        start.elapsed().as_secs_f64(),
        out.display(),
        logs.display()
    );
    Ok(card.pass)
}
