//! SIGTERM while requests are in flight.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Chaos, StopOnDrop, flags};
use crate::load::{self, Control, Load, Summary};
use crate::scorecard::{Checks, ScenarioResult};

impl Chaos {
    pub(super) async fn sigterm(&self) -> Result<ScenarioResult, String> {
        let name = "sigterm";
        let dummy_flags = flags(&["--latency", "300ms"]);
        // Five attempts: a request that meets three corrupt PDFs in a row (0.1%)
        // would otherwise be a 502 that has nothing to do with shutting down.
        let proxy_flags = flags(&["--shutdown-grace", "5s", "--max-attempts", "5"]);
        let (_dummy, mut proxy) = self.start(name, &dummy_flags, &proxy_flags).await?;
        let origin = Instant::now();
        let control = Control::default();
        // Paced, so requests are spread evenly and some are always in flight.
        let spec = Load {
            concurrency: 32,
            duration: Duration::from_secs(30),
            max_requests: load::MAX_REQUESTS,
            rps: Some(100.0),
        };
        let task = {
            let (client, url, control) = (self.client.clone(), proxy.base_url(), control.clone());
            tokio::spawn(async move { load::run(&client, &url, &spec, &control, origin).await })
        };
        let stopper = StopOnDrop(control.clone());
        tokio::time::sleep(Duration::from_millis(if self.short { 1500 } else { 5000 })).await;
        // Stop new requests first, give those already past the check time to be
        // sent, then SIGTERM: every request still open is truly in flight.
        control.stop();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let in_flight = control.in_flight.load(Ordering::SeqCst);
        let peak = proxy.peak_rss();
        let metrics = self.scrape(&proxy).await?;
        proxy.terminate();
        let exit = proxy.wait_exit(Duration::from_secs(10)).await;
        drop(stopper);
        let outcomes = task.await.map_err(|e| e.to_string())?;
        let summary = Summary::of(&outcomes);
        let mut r = Self::result(
            name,
            ABOUT,
            dummy_flags,
            proxy_flags,
            summary.clone(),
            &metrics,
            peak,
        );
        r.extra
            .insert("in_flight_at_sigterm".into(), in_flight as f64);
        let mut c = Checks::default();
        c.promise(&summary);
        c.at_least("requests in flight at SIGTERM", in_flight as f64, 8.0);
        c.equal(
            "failed requests (anything but 200)",
            (summary.requests - summary.count("200")) as f64,
            0.0,
        );
        c.push(
            "exit status",
            "0 within 10 s".into(),
            exit.map_or("still running".into(), |s| s.to_string()),
            exit.is_some_and(|s| s.success()),
        );
        Ok(Self::finish(r, c))
    }
}

pub(super) const ABOUT: &str = "SIGTERM while 32 clients wait on a 300 ms upstream: every request in \
    flight completes with a 200, and docproxy exits 0.";
