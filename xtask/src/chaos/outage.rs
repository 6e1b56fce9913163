//! The upstream killed under load, then restarted on the same port.

use std::time::{Duration, Instant};

use docproxy::metrics as m;

use super::{Chaos, StopOnDrop, flags};
use crate::load::{self, Control, Load, Outcome, Summary};
use crate::procs::{self, Server};
use crate::scorecard::{Checks, ScenarioResult};

impl Chaos {
    pub(super) async fn outage(&self) -> Result<ScenarioResult, String> {
        let name = "outage";
        // Full: the defaults, and the target of a first 200 within
        // 15 s of the heal (open-max is 10 s). Short: a faster breaker, and
        // the same rule scaled, open-max + 1 s.
        let (proxy_flags, recovery_limit, healthy, hold, after) = if self.short {
            let fast = flags(&["--breaker-open-for", "1s", "--breaker-open-max", "2s"]);
            (fast, 3.0, 1.5, 3.0, 4.0)
        } else {
            (vec![], 15.0, 5.0, 20.0, 18.0)
        };
        let (mut dummy, proxy) = self.start(name, &[], &proxy_flags).await?;
        let port = dummy.port;
        let origin = Instant::now();
        let control = Control::default();
        let spec = Load {
            concurrency: 16,
            duration: Duration::from_secs_f64(healthy + hold + after + 15.0),
            max_requests: load::MAX_REQUESTS,
            rps: Some(200.0),
        };
        let task = {
            let (client, url, control) = (self.client.clone(), proxy.base_url(), control.clone());
            tokio::spawn(async move { load::run(&client, &url, &spec, &control, origin).await })
        };
        let stopper = StopOnDrop(control.clone());

        tokio::time::sleep(Duration::from_secs_f64(healthy)).await;
        let killed_at = origin.elapsed();
        dummy.kill();
        let opened_at = self
            .wait_breaker(&proxy, "open", Duration::from_secs(10))
            .await
            .map(|()| origin.elapsed())
            .ok();
        let during_start = self.scrape(&proxy).await?;
        tokio::time::sleep(Duration::from_secs_f64(hold)).await;
        let during_end = self.scrape(&proxy).await?;
        let healed_at = origin.elapsed();
        let _dummy = procs::start_dummy(
            &self.bins,
            port,
            &flags(&["--seed", "8"]),
            &self.log(name, "dummy-restarted"),
        )
        .await?;
        tokio::time::sleep(Duration::from_secs_f64(after)).await;
        control.stop();
        drop(stopper);
        let outcomes = task.await.map_err(|e| e.to_string())?;
        let metrics = self.scrape(&proxy).await?;

        let summary = Summary::of(&outcomes);
        let mut r = Self::result(
            name,
            ABOUT,
            vec!["(killed, then restarted on the same port)".into()],
            proxy_flags,
            summary.clone(),
            &metrics,
            proxy.peak_rss(),
        );
        let delta = |name: &str| during_end.sum(name, &[]) - during_start.sum(name, &[]);
        // Fail-fast latency while open, by docproxy's own histogram (the share
        // of its 503s at or under the 1 ms bucket) and as the clients saw it.
        let bucket = format!("{}_bucket", m::HTTP_REQUEST_DURATION);
        let fast_503s = |le: &str| {
            let labels = [("route", "/{id}"), ("status", "503"), ("le", le)];
            during_end.sum(&bucket, &labels) - during_start.sum(&bucket, &labels)
        };
        let open_503s = fast_503s("+Inf");
        let under_1ms = if open_503s > 0.0 {
            fast_503s("0.001") / open_503s
        } else {
            f64::NAN
        };
        let (open_from, open_to) = (opened_at.unwrap_or(healed_at), healed_at);
        let client_503s = Summary::of(outcomes.iter().filter(|o| {
            o.at >= open_from && o.at + o.latency <= open_to && o.status() == Some(503)
        }));
        let open_requests = during_end.sum(m::HTTP_REQUESTS, &[("route", "/{id}")])
            - during_start.sum(m::HTTP_REQUESTS, &[("route", "/{id}")]);
        let open_attempts = delta(m::UPSTREAM_ATTEMPTS);
        let attempts_while_open = if open_requests > 0.0 {
            open_attempts / open_requests
        } else {
            f64::NAN
        };
        let recovery = outcomes
            .iter()
            .find(|o| o.at >= healed_at && o.status() == Some(200))
            .map(|o| (o.at + o.latency).saturating_sub(healed_at).as_secs_f64());
        let tail = Summary::of(
            outcomes
                .iter()
                .filter(|o| o.at + Duration::from_secs(1) >= last_start(&outcomes)),
        );
        r.extra.insert(
            "seconds_to_open_after_kill".into(),
            opened_at.map_or(f64::NAN, |t| (t - killed_at).as_secs_f64()),
        );
        r.extra.insert(
            "attempts_per_request_while_open".into(),
            attempts_while_open,
        );
        r.extra.insert("requests_while_open".into(), open_requests);
        r.extra.insert(
            "seconds_to_first_200_after_heal".into(),
            recovery.unwrap_or(f64::NAN),
        );
        r.extra
            .insert("share_200_last_second".into(), tail.share("200"));
        r.extra
            .insert("share_of_open_503s_under_1ms".into(), under_1ms);
        r.extra
            .insert("client_p99_ms_of_open_503s".into(), client_503s.p99_ms);
        let mut c = Checks::default();
        c.promise(&summary);
        c.push(
            "breaker opened after the kill",
            "within 10 s".into(),
            opened_at.map_or("never".into(), |t| {
                format!("{:.2} s", (t - killed_at).as_secs_f64())
            }),
            opened_at.is_some(),
        );
        c.at_least("breaker opens", r.breaker_opens as f64, 1.0);
        c.at_most(
            "upstream attempts per request while open",
            if attempts_while_open.is_nan() {
                f64::INFINITY
            } else {
                attempts_while_open
            },
            0.2,
        );
        // The "fail-fast p99 under 1 ms when not CPU-saturated": the
        // full run has the machine to itself; the short profile runs on CI
        // machines whose load is not ours, so there it is reported only.
        if !self.short {
            c.at_least(
                "share of 503s while open answered within 1 ms (p99 <= 1 ms)",
                if under_1ms.is_nan() { 0.0 } else { under_1ms },
                0.99,
            );
        }
        c.at_most(
            "seconds from heal to first 200",
            recovery.unwrap_or(f64::INFINITY),
            recovery_limit,
        );
        c.at_least("share of 200s in the last second", tail.share("200"), 0.99);
        Ok(Self::finish(r, c))
    }

    async fn wait_breaker(
        &self,
        proxy: &Server,
        state: &str,
        within: Duration,
    ) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < within {
            if self
                .scrape(proxy)
                .await?
                .sum(m::BREAKER_STATE, &[("state", state)])
                == 1.0
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(format!("breaker not {state} within {within:?}"))
    }
}

pub(super) const ABOUT: &str = "The upstream is killed (SIGKILL) under load, stays down, then restarts \
    on the same port: the breaker opens, upstream attempts per request fall far below 1 while \
    it is open, and 200s return within the open period after the upstream heals.";

/// The time the last request started.
fn last_start(outcomes: &[Outcome]) -> Duration {
    outcomes.last().map_or(Duration::ZERO, |o| o.at)
}
