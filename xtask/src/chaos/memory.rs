//! 1,000 clients asking for large documents against a small byte budget.

use std::time::Duration;

use super::{Chaos, MIB, flags};
use crate::load::{self, Load};
use crate::scorecard::{Checks, ScenarioResult};

impl Chaos {
    pub(super) async fn bounded_memory(&self) -> Result<ScenarioResult, String> {
        let name = "bounded-memory";
        let clients = 1000;
        // Bodies trickle in (the dummy's drip), so reservations pile up and the
        // byte budget, not the upstream's speed, decides what is held at once.
        let dummy_flags = flags(&["--drip-rate", "1", "--drip-interval", "20ms"]);
        let budget = format!("{BUDGET_MIB}MiB");
        let max_in_flight = MEMORY_MAX_IN_FLIGHT.to_string();
        let proxy_flags = flags(&[
            "--max-in-flight",
            &max_in_flight,
            "--max-in-flight-bytes",
            &budget,
            "--max-document-size",
            "64KiB",
        ]);
        let (_dummy, proxy) = self.start(name, &dummy_flags, &proxy_flags).await?;
        let idle_rss = proxy.rss().unwrap_or(0) as f64 / MIB;
        let spec = Load {
            concurrency: clients,
            duration: if self.short {
                Duration::from_secs(4)
            } else {
                Duration::from_secs(30)
            },
            max_requests: load::MAX_REQUESTS,
            rps: None,
        };
        let (summary, metrics) = self.drive(&proxy, &spec).await?;
        let mut r = Self::result(
            name,
            ABOUT,
            dummy_flags,
            proxy_flags,
            summary.clone(),
            &metrics,
            proxy.peak_rss(),
        );
        let largest = dummy_pdf_or_png::PNG.len().max(dummy_pdf_or_png::PDF.len()) as f64;
        r.extra.insert("idle_rss_mib".into(), idle_rss);
        r.extra.insert(
            "documents_alone_unbounded_mib".into(),
            clients as f64 * largest / MIB,
        );
        r.extra.insert("byte_budget_mib".into(), BUDGET_MIB as f64);
        let mut c = Checks::default();
        c.promise(&summary);
        c.at_least("200s", summary.count("200") as f64, 1.0);
        c.at_least(
            "shed by the byte budget",
            r.requests_shed.get("bytes").copied().unwrap_or(0) as f64,
            1.0,
        );
        c.at_most(
            &format!("peak RSS, MiB (budget {BUDGET_MIB} + fixed overhead {OVERHEAD_MIB})"),
            r.peak_rss_mib,
            (BUDGET_MIB + OVERHEAD_MIB) as f64,
        );
        Ok(Self::finish(r, c))
    }
}

/// The bounded-memory scenario's limits. The overhead is what docproxy holds
/// outside the byte budget: the runtime (~8 MiB idle), 1,000 client
/// connections (~16 KiB each) and, per request in flight, its connections'
/// buffers (~100-150 KiB measured), capped by --max-in-flight.
const BUDGET_MIB: u32 = 4;
const MEMORY_MAX_IN_FLIGHT: u32 = 256;
const OVERHEAD_MIB: u32 = 72;
pub(super) const ABOUT: &str = "1,000 concurrent clients asking for documents as large as the upstream \
    has (PNG, ~48 KB) whose bodies trickle in, against a 4 MiB byte budget and --max-in-flight \
    256: requests beyond the budget are shed, and peak RSS stays under the budget plus a fixed \
    72 MiB overhead (runtime ~8 MiB, 1,000 client connections ~16 MiB, 256 in-flight requests' \
    connection buffers ~40 MiB, slack). The documents of 1,000 clients alone would need ~47 MiB.";
