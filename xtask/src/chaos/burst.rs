//! Bursts of 1,000 simultaneous requests far above --max-in-flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Chaos, MIB, flags};
use crate::load::{self, Control, Summary};
use crate::scorecard::{Checks, ScenarioResult};

impl Chaos {
    pub(super) async fn burst(&self) -> Result<ScenarioResult, String> {
        let name = "burst";
        let (clients, bursts) = if self.short { (1000, 4) } else { (1000, 10) };
        let max_in_flight = 64;
        let dummy_flags = flags(&["--latency", "1s"]);
        let proxy_flags = flags(&["--max-in-flight", "64"]);
        let (_dummy, proxy) = self.start(name, &dummy_flags, &proxy_flags).await?;
        let origin = Instant::now();
        let mut all = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..bursts {
            // A fresh client per burst: 1,000 new connections each time.
            let client = load::client(Duration::from_secs(1));
            let control = Control::default();
            let go = Arc::new(tokio::sync::Barrier::new(clients));
            let tasks: Vec<_> = (0..clients)
                .map(|_| {
                    let (client, url, control, go) = (
                        client.clone(),
                        proxy.base_url(),
                        control.clone(),
                        go.clone(),
                    );
                    tokio::spawn(async move {
                        go.wait().await;
                        load::one_request(&client, &url, &control, origin).await
                    })
                })
                .collect();
            for t in tasks {
                all.push(t.await.map_err(|e| e.to_string())?);
            }
            peaks.push(proxy.peak_rss().unwrap_or(0) as f64 / MIB);
        }
        let summary = Summary::of(&all);
        let shed = Summary::of(all.iter().filter(|o| o.status() == Some(503)));
        let served = Summary::of(all.iter().filter(|o| o.status() == Some(200)));
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
        // VmHWM only rises; it climbs over the first bursts while the allocator
        // and the runtime warm up, then levels off. Flat: no growth over the
        // second half of the bursts.
        let half = peaks.len() / 2;
        let growth = peaks.last().copied().unwrap_or(0.0)
            - peaks.get(half.saturating_sub(1)).copied().unwrap_or(0.0);
        for (i, peak) in peaks.iter().enumerate() {
            r.extra
                .insert(format!("peak_rss_after_burst_{:02}_mib", i + 1), *peak);
        }
        r.extra.insert("shed_503_p99_ms".into(), shed.p99_ms);
        r.extra.insert("served_200_p50_ms".into(), served.p50_ms);
        r.extra.insert(
            "peak_rss_after_first_burst_mib".into(),
            peaks.first().copied().unwrap_or(0.0),
        );
        r.extra
            .insert("peak_rss_growth_second_half_mib".into(), growth);
        let per_burst = (clients * bursts) as f64;
        let mut c = Checks::default();
        c.promise(&summary);
        c.equal(
            "answered 200 or 503",
            (summary.count("200") + summary.count("503")) as f64,
            per_burst,
        );
        c.at_most(
            "200s per burst (max in flight)",
            summary.count("200") as f64 / bursts as f64,
            max_in_flight as f64,
        );
        c.at_least(
            "503s (excess shed)",
            summary.count("503") as f64,
            per_burst - 2.0 * (max_in_flight * bursts) as f64,
        );
        c.equal(
            "shed counter (reason in_flight) = 503s",
            r.requests_shed.get("in_flight").copied().unwrap_or(0) as f64,
            summary.count("503") as f64,
        );
        c.at_most(
            "p99 of the 503s, ms (upstream takes 1000)",
            shed.p99_ms,
            250.0,
        );
        // VmHWM climbs over the first ~5 bursts (allocator and runtime warm-up)
        // before it levels off, so flatness is judged only on the full run's
        // 10 bursts; the short run is held to the absolute ceiling.
        if bursts >= 8 {
            c.at_most(
                "peak RSS growth over the second half of the bursts, MiB",
                growth,
                4.0,
            );
        }
        c.at_most("peak RSS, MiB", r.peak_rss_mib, 48.0);
        Ok(Self::finish(r, c))
    }
}

pub(super) const ABOUT: &str = "Bursts of 1,000 simultaneous requests against --max-in-flight 64 with a \
    1 s upstream: at most 64 are served, the excess is answered 503 at once, and memory does not \
    grow once the first bursts have warmed the allocator.";
