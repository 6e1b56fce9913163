//! One client hammering a bad id beside healthy traffic. The criterion is the
//! issue's: the healthy traffic's served share stays at 99.5% or more, as in
//! the baseline, whatever the bad id does (always invalid, then oversize,
//! then 403); and the breaker never opens.

use std::time::{Duration, Instant};

use docproxy::metrics as m;

use super::{Chaos, StopOnDrop, flags};
use crate::load::{self, Control, Load, Summary};
use crate::scorecard::{Checks, ScenarioResult};

pub(super) const ABOUT: &str = "Healthy traffic at 100 req/s (the original mix) beside one client at \
    20 req/s on one bad id: always invalid, then oversize (9 MiB), then 403. The bad id's fate \
    is its own: the healthy share of 200s stays >= 99.5% and the breaker never opens.";

/// The bad ids and what the dummy always answers for them.
const BAD: [(u64, &str); 3] = [(7, "invalid"), (8, "oversize"), (9, "403")];

impl Chaos {
    pub(super) async fn bad_id(&self) -> Result<ScenarioResult, String> {
        let name = "bad-id";
        let mut dummy_flags = Vec::new();
        for (id, answer) in BAD {
            dummy_flags.extend(flags(&["--bad-id", &format!("{id}={answer}")]));
        }
        let (_dummy, proxy) = self.start(name, &dummy_flags, &[]).await?;
        let phase = if self.short {
            Duration::from_secs(4)
        } else {
            Duration::from_secs(15)
        };
        let origin = Instant::now();
        let control = Control::default();
        let spec = Load {
            concurrency: 16,
            duration: phase * BAD.len() as u32,
            max_requests: load::MAX_REQUESTS,
            rps: Some(100.0),
        };
        let healthy = {
            let (client, url, control) = (self.client.clone(), proxy.base_url(), control.clone());
            tokio::spawn(async move { load::run(&client, &url, &spec, &control, origin).await })
        };
        let stopper = StopOnDrop(control.clone());
        let bad = {
            let (client, url, control) = (self.client.clone(), proxy.base_url(), control.clone());
            tokio::spawn(async move {
                // 20 req/s, each on its own task so a slow answer does not lower the rate.
                let mut tick = tokio::time::interval(Duration::from_millis(50));
                let mut tasks = Vec::new();
                for (id, _) in BAD {
                    let until = Instant::now() + phase;
                    while Instant::now() < until {
                        tick.tick().await;
                        let (client, url, control) = (client.clone(), url.clone(), control.clone());
                        tasks.push(tokio::spawn(async move {
                            load::request_id(&client, &url, id, &control, origin).await
                        }));
                    }
                }
                let mut outcomes = Vec::new();
                for t in tasks {
                    outcomes.push(t.await.expect("bad-id request"));
                }
                outcomes
            })
        };
        let bad = bad.await.map_err(|e| e.to_string())?;
        let healthy = healthy.await.map_err(|e| e.to_string())?;
        drop(stopper);
        let metrics = self.scrape(&proxy).await?;

        let healthy_summary = Summary::of(&healthy);
        let bad_summary = Summary::of(&bad);
        let mut r = Self::result(
            name,
            ABOUT,
            dummy_flags,
            vec![],
            healthy_summary.clone(),
            &metrics,
            proxy.peak_rss(),
        );
        r.extra
            .insert("bad_requests".into(), bad_summary.requests as f64);
        r.extra
            .insert("bad_answered_502".into(), bad_summary.count("502") as f64);
        r.extra
            .insert("healthy_share_200".into(), healthy_summary.share("200"));
        r.extra.insert(
            "retry_budget_exhausted".into(),
            metrics.sum(m::RETRY_BUDGET_EXHAUSTED, &[]),
        );
        let mut c = Checks::default();
        c.promise(&healthy_summary);
        c.promise(&bad_summary);
        c.at_least("healthy share of 200s", healthy_summary.share("200"), 0.995);
        c.equal("breaker opens", r.breaker_opens as f64, 0.0);
        c.equal("requests shed", r.shed_total() as f64, 0.0);
        c.at_least(
            "bad-id requests made (20/s)",
            bad_summary.requests as f64,
            20.0 * (phase * 3).as_secs_f64() * 0.8,
        );
        c.equal(
            "bad-id requests answered 502",
            bad_summary.count("502") as f64,
            bad_summary.requests as f64,
        );
        Ok(Self::finish(r, c))
    }
}
