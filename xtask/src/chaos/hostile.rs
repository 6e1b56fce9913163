//! Hostile bodies (issue 10): the dummy serves the hostile PDF
//! shapes, each copy new, to four concurrent clients, while a prober asks
//! docproxy's /healthz every 50 ms. The criteria are the targets:
//! /healthz answers within 250 ms throughout, every hostile request is
//! answered within the deadline plus 1 s, four concurrent memory-hostile
//! bodies keep peak RSS within 128 MiB at the default settings, and no shape
//! the issue calls invalid or over the limits is ever served.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use docproxy::document::validate;
use dummy_pdf_or_png::hostile;
use rand::Rng;

use super::{Chaos, MIB, StopOnDrop, flags};
use crate::load::{self, Control, Outcome, Summary};
use crate::scorecard::{Checks, ScenarioResult};

pub(super) const ABOUT: &str = "The dummy serves the issue's hostile PDF shapes (nested /Prev \
    chains of 1.2 and 7 MB, xref streams of one row per inflated byte, an 8 MiB trailer name \
    array, an object stream inflating to a 60 MiB name array), every copy new, to 4 concurrent \
    clients (first on the two memory-hostile shapes, then on the three CPU-hostile ones), beside \
    a /healthz probe every 50 ms, at docproxy's default settings: /healthz answers within \
    250 ms throughout, every hostile request within the deadline + 1 s, peak RSS with four \
    memory-hostile bodies at once <= 128 MiB, over the whole run <= the 64 MiB byte budget (which \
    holds bodies and validation memory) + 24 MiB, and only the one sound shape is ever served.";

const CLIENTS: usize = 4;
/// The liveness target.
const HEALTHZ_MAX: Duration = Duration::from_millis(250);
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// The memory target for four concurrent memory-hostile bodies.
const RSS_MAX_MIB: f64 = 128.0;
/// RSS beyond the byte budget over the whole run, as in `slow-reader`.
const OVERHEAD_MIB: f64 = 24.0;
/// The one shape that is a sound document (an array under a key no reader
/// uses); every other one is invalid (overlapping cross-reference
/// sections) or beyond the limits (4 GiB of xref rows, a 61 KB body
/// inflating to 60 MiB), and must be refused.
const SOUND: &str = "trailer-name-array-8MiB";
/// The phases: the memory-hostile shapes first, so VmHWM after them is
/// theirs alone; then the CPU-hostile ones.
const MEMORY: [&str; 2] = ["trailer-name-array-8MiB", "object-stream-name-array-60MiB"];
const CPU: [&str; 3] = [
    "nested-prev-chain-1.2MB",
    "nested-prev-chain-7MB",
    "xref-stream-rows",
];

impl Chaos {
    pub(super) async fn hostile_bodies(&self) -> Result<ScenarioResult, String> {
        let name = "hostile-bodies";
        let dummy_flags = flags(&["--hostile", "all"]);
        let (dummy, proxy) = self.start(name, &dummy_flags, &[]).await?;
        // docproxy's own defaults, as the process in front of the dummy has them.
        let defaults =
            docproxy::config::Cli::parse_args(["docproxy", "--upstream-url", &dummy.base_url()])
                .map_err(|e| e.to_string())?
                .config;
        let answer_within = defaults.deadline + Duration::from_secs(1);
        let phase = if self.short {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(15)
        };

        let origin = Instant::now();
        let control = Control::default();
        let stopper = StopOnDrop(control.clone());
        // The prober has a thread and runtime of its own: the clients check
        // every 200 (an 8 MiB document) on the xtask's runtime, and that work
        // must not delay the probes or count in their latency.
        let prober = {
            let url = proxy.base_url();
            let control = control.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let client = load::client(Duration::from_secs(30));
                Ok::<_, String>(runtime.block_on(probe(&client, &url, &control, origin)))
            })
        };
        let mut outcomes = self.hostile_phase(&proxy, &MEMORY, phase, origin).await;
        let memory_peak_mib = proxy.peak_rss().unwrap_or(0) as f64 / MIB;
        let cpu_phase_from = origin.elapsed();
        outcomes.extend(self.hostile_phase(&proxy, &CPU, phase, origin).await);
        control.stop();
        drop(stopper);
        let probes = prober
            .join()
            .map_err(|_| "the /healthz prober panicked".to_string())??;
        let metrics = self.scrape(&proxy).await?;

        let summary = Summary::of(outcomes.iter().map(|(_, o)| o));
        let peak_rss = proxy.peak_rss();
        let mut r = Self::result(
            name,
            ABOUT,
            dummy_flags,
            vec![],
            summary.clone(),
            &metrics,
            peak_rss,
        );
        let answered: Vec<(Duration, Duration)> = probes
            .iter()
            .filter_map(|(at, latency)| Some((*at, (*latency)?)))
            .collect();
        let unanswered = probes.len() - answered.len();
        let mut latencies: Vec<Duration> = answered.iter().map(|(_, l)| *l).collect();
        latencies.sort();
        let healthz_max = latencies.last().copied().unwrap_or_default();
        let slow_in = |cpu: bool| {
            answered
                .iter()
                .filter(|(at, l)| *l > HEALTHZ_MAX && (*at >= cpu_phase_from) == cpu)
                .count() as f64
        };
        r.extra.insert("healthz_probes".into(), probes.len() as f64);
        r.extra.insert("healthz_max_ms".into(), ms(healthz_max));
        r.extra.insert(
            "healthz_p99_ms".into(),
            load::percentile_ms(&latencies, 0.99),
        );
        r.extra
            .insert("healthz_over_250ms_memory_phase".into(), slow_in(false));
        r.extra
            .insert("healthz_over_250ms_cpu_phase".into(), slow_in(true));
        r.extra
            .insert("peak_rss_mib_memory_phase".into(), memory_peak_mib);
        for shape in hostile::NAMES {
            let mine: Vec<&Outcome> = outcomes
                .iter()
                .filter(|(s, _)| *s == shape)
                .map(|(_, o)| o)
                .collect();
            let s = Summary::of(mine.iter().copied());
            r.extra
                .insert(format!("{shape}_requests"), s.requests as f64);
            r.extra
                .insert(format!("{shape}_200"), s.count("200") as f64);
            r.extra
                .insert(format!("{shape}_502"), s.count("502") as f64);
            // Shed: its validation needed more memory than the byte budget had.
            r.extra
                .insert(format!("{shape}_503"), s.count("503") as f64);
            r.extra.insert(format!("{shape}_max_ms"), s.max_ms);
        }
        let refused_served = outcomes
            .iter()
            .filter(|(shape, o)| *shape != SOUND && o.status() == Some(200))
            .count();

        let mut c = Checks::default();
        c.promise(&summary);
        c.at_least("hostile requests made", summary.requests as f64, 1.0);
        c.equal("/healthz probes unanswered", unanswered as f64, 0.0);
        c.at_least(
            "/healthz probes made (one per 50 ms, half of them at least)",
            probes.len() as f64,
            (2 * phase).as_secs_f64() / PROBE_EVERY.as_secs_f64() / 2.0,
        );
        c.at_most("/healthz max ms", ms(healthz_max), ms(HEALTHZ_MAX));
        c.at_most(
            "hostile answer max ms (deadline + 1 s)",
            summary.max_ms,
            ms(answer_within),
        );
        c.at_most(
            "peak RSS MiB, 4 memory-hostile bodies at once",
            memory_peak_mib,
            RSS_MAX_MIB,
        );
        // Bodies and validation memory are held within the byte budget: the
        // whole run stays within it plus the fixed overhead slow-reader uses
        // (the baseline's ~8 MiB, connections and slack).
        let budget_mib = defaults.max_in_flight_bytes as f64 / MIB;
        c.at_most(
            &format!("peak RSS MiB, whole run (byte budget {budget_mib} + {OVERHEAD_MIB})"),
            peak_rss.unwrap_or(u64::MAX) as f64 / MIB,
            budget_mib + OVERHEAD_MIB,
        );
        c.equal(
            "200s for shapes that must be refused",
            refused_served as f64,
            0.0,
        );
        Ok(Self::finish(r, c))
    }

    /// `CLIENTS` closed-loop clients for `length`, each asking for a random
    /// id that the dummy maps to one of `shapes` (`id % count` over
    /// `hostile::NAMES`, its `--hostile all` order). Random ids, so no id is
    /// remembered as always invalid.
    async fn hostile_phase(
        &self,
        proxy: &crate::procs::Server,
        shapes: &'static [&'static str],
        length: Duration,
        origin: Instant,
    ) -> Vec<(&'static str, Outcome)> {
        let until = Instant::now() + length;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (client, url) = (self.client.clone(), proxy.base_url());
                tokio::spawn(async move {
                    let control = Control::default();
                    let mut outcomes = Vec::new();
                    while Instant::now() < until {
                        let (shape, id) = {
                            let mut rng = rand::rng();
                            let shape = shapes[rng.random_range(0..shapes.len())];
                            (shape, id_for(shape, rng.random_range(1_000..1_000_000_000)))
                        };
                        let outcome =
                            load::request_checked(&client, &url, id, &control, origin, check).await;
                        outcomes.push((shape, outcome));
                    }
                    outcomes
                })
            })
            .collect();
        let mut all = Vec::new();
        for client in clients {
            all.extend(client.await.unwrap_or_default());
        }
        all
    }
}

/// An id the dummy answers with `shape`.
fn id_for(shape: &str, n: u64) -> u64 {
    let count = hostile::NAMES.len() as u64;
    let index = hostile::NAMES.iter().position(|s| *s == shape).unwrap_or(0) as u64;
    n * count + index
}

/// GET /healthz every `PROBE_EVERY` until stopped: when each probe started
/// (from `origin`) and its latency, or None for one that got no 200.
async fn probe(
    client: &reqwest::Client,
    base_url: &str,
    control: &Control,
    origin: Instant,
) -> Vec<(Duration, Option<Duration>)> {
    let url = format!("{base_url}/healthz");
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut probes = Vec::new();
    while !control.stop.load(std::sync::atomic::Ordering::SeqCst) {
        tick.tick().await;
        let start = Instant::now();
        let ok = client
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        probes.push((start - origin, ok.then(|| start.elapsed())));
    }
    probes
}

/// The promise for hostile bodies: a 200 is a valid PDF, labelled so, and
/// byte for byte the sound shape (but for its serial); errors as usual.
fn check(status: u16, content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
    if status != 200 {
        return load::check_answer(status, content_type, body);
    }
    static SOUND_BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    let sound = SOUND_BYTES
        .get_or_init(|| hostile::full_size(SOUND, hostile::SERVED_MAX_LEN).unwrap_or_default());
    let kind = validate(body).map_err(|r| format!("200 with an invalid body: {r}"))?;
    if content_type != Some(kind.mime()) {
        return Err(format!("200 {} labelled {content_type:?}", kind.as_str()));
    }
    // The serial's 16 digits sit in the first 40 bytes.
    if body.len() != sound.len() || body.get(40..) != sound.get(40..) {
        return Err(format!(
            "200 of {} bytes that is not the upstream's sound shape",
            body.len()
        ));
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
