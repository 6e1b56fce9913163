//! Fault profiles under a steady 200 req/s: the original mix, upstream 503s,
//! latency spikes, resets, truncated bodies, wrong Content-Types.

use docproxy::metrics as m;

use super::Chaos;
use crate::load::{self, Load};
use crate::scorecard::{Checks, ScenarioResult};

impl Chaos {
    /// A fault profile under steady load.
    pub(super) async fn steady(
        &self,
        name: &str,
        about: &str,
        dummy_flags: Vec<String>,
        docproxy_flags: Vec<String>,
    ) -> Result<ScenarioResult, String> {
        let (_dummy, proxy) = self.start(name, &dummy_flags, &docproxy_flags).await?;
        let rps = 200.0;
        let spec = Load {
            concurrency: 32,
            duration: self.steady_for(),
            max_requests: load::MAX_REQUESTS,
            rps: Some(rps),
        };
        let (summary, metrics) = self.drive(&proxy, &spec).await?;
        let mut r = Self::result(
            name,
            about,
            dummy_flags,
            docproxy_flags,
            summary.clone(),
            &metrics,
            proxy.peak_rss(),
        );
        let mut c = Checks::default();
        c.promise(&summary);
        c.at_least(
            "requests",
            summary.requests as f64,
            rps * spec.duration.as_secs_f64() * 0.8,
        );
        // The retry budget: 20% of requests plus 10 retries/s, with slack for its 10 s window.
        let budget = 1.0 + 0.2 + 10.0 / rps + 0.1;
        c.at_most(
            "upstream attempts per request",
            r.upstream_attempts_per_request,
            budget,
        );
        match name {
            "baseline" => {
                c.at_least("share of 200s", summary.share("200"), 0.995);
                c.equal("breaker opens", r.breaker_opens as f64, 0.0);
                c.at_most("p99 latency ms", summary.p99_ms, 100.0);
            }
            "errors-20" => {
                c.at_least("share of 200s", summary.share("200"), 0.85);
                c.equal("breaker opens", r.breaker_opens as f64, 0.0);
            }
            "errors-50" => {
                // The degradation model (README): at least what the upstream
                // alone gives, a = 0.5 * 0.9; the breaker is for hard outages.
                let served = summary.share("200");
                c.at_least("share of 200s (no-proxy a = 0.45)", served, 0.45);
                c.equal("breaker opens", r.breaker_opens as f64, 0.0);
                r.extra.insert("budget_optimal_share".into(), 0.54);
            }
            "latency-spikes" => {
                c.at_least("share of 200s", summary.share("200"), 0.95);
                c.at_most("p99 latency ms (spike is 3000)", summary.p99_ms, 1000.0);
                c.equal("breaker opens", r.breaker_opens as f64, 0.0);
            }
            "wrong-types" => {
                c.at_least("share of 200s", summary.share("200"), 0.99);
                let mismatches = metrics.sum(m::CONTENT_TYPE_MISMATCH, &[]);
                r.extra
                    .insert("content_type_mismatches_seen".into(), mismatches);
                c.at_least("upstream mislabels detected", mismatches, 1.0);
            }
            _ => {
                c.at_least("share of 200s", summary.share("200"), 0.95);
                c.equal("breaker opens", r.breaker_opens as f64, 0.0);
            }
        }
        Ok(Self::finish(r, c))
    }
}
