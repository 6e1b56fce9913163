//! The scorecard: one row per scenario with its explicit pass criteria, the
//! machine it ran on, printed as a table and written as Markdown and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::load::Summary;

/// One pass criterion and how the run measured against it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub pass: bool,
}

/// A scenario's criteria, collected as they are evaluated.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Checks(pub Vec<Check>);

impl Checks {
    pub fn at_most(&mut self, what: &str, actual: f64, limit: f64) {
        self.push(
            what,
            format!("<= {}", fmt(limit)),
            fmt(actual),
            actual <= limit,
        );
    }

    pub fn at_least(&mut self, what: &str, actual: f64, floor: f64) {
        self.push(
            what,
            format!(">= {}", fmt(floor)),
            fmt(actual),
            actual >= floor,
        );
    }

    pub fn equal(&mut self, what: &str, actual: f64, expected: f64) {
        self.push(
            what,
            format!("= {}", fmt(expected)),
            fmt(actual),
            actual == expected,
        );
    }

    pub fn push(&mut self, what: &str, expected: String, actual: String, pass: bool) {
        self.0.push(Check {
            what: what.to_string(),
            expected,
            actual,
            pass,
        });
    }

    pub fn pass(&self) -> bool {
        self.0.iter().all(|c| c.pass)
    }

    /// The criteria every scenario shares: nothing corrupt or mislabelled
    /// served, every error a problem+json answer, and every request answered
    /// with an HTTP status (none lost to a dropped connection).
    pub fn promise(&mut self, s: &Summary) {
        self.equal("corrupt or mislabelled 200s", s.corrupt_served as f64, 0.0);
        self.equal(
            "errors not application/problem+json",
            s.bad_errors as f64,
            0.0,
        );
        self.equal(
            "answers without HTTP status",
            s.count("transport") as f64,
            0.0,
        );
    }
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Everything one scenario measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub about: String,
    pub dummy_flags: Vec<String>,
    pub docproxy_flags: Vec<String>,
    #[serde(flatten)]
    pub summary: Summary,
    pub upstream_attempts_per_request: f64,
    pub breaker_opens: u64,
    pub requests_shed: BTreeMap<String, u64>,
    pub peak_rss_mib: f64,
    /// Scenario-specific measurements (recovery time, RSS growth, ...).
    pub extra: BTreeMap<String, f64>,
    pub checks: Vec<Check>,
    pub pass: bool,
    pub seconds: f64,
}

impl ScenarioResult {
    pub fn shed_total(&self) -> u64 {
        self.requests_shed.values().sum()
    }
}

/// The machine a run happened on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            memory_gib: (mem_kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} CPUs ({}), {} GiB memory, Linux {}",
            self.nproc, self.cpu, self.memory_gib, self.kernel
        )
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Scorecard {
    pub mode: String,
    pub started: String,
    pub machine: Machine,
    pub pass: bool,
    pub scenarios: Vec<ScenarioResult>,
}

impl Scorecard {
    /// The one-line-per-scenario table.
    pub fn table(&self) -> String {
        let mut t = String::new();
        t.push_str("| scenario | pass | requests | 200 | 502 | 503 | 504 | other | corrupt served | p50 ms | p99 ms | upstream attempts/req | breaker opens | shed | peak RSS MiB |\n");
        t.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for s in &self.scenarios {
            let known: u64 = ["200", "502", "503", "504"]
                .iter()
                .map(|k| s.summary.count(k))
                .sum();
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {} | {} | {:.1} |",
                s.name,
                if s.pass { "PASS" } else { "FAIL" },
                s.summary.requests,
                s.summary.count("200"),
                s.summary.count("502"),
                s.summary.count("503"),
                s.summary.count("504"),
                s.summary.requests - known,
                s.summary.corrupt_served,
                s.summary.p50_ms,
                s.summary.p99_ms,
                s.upstream_attempts_per_request,
                s.breaker_opens,
                s.shed_total(),
                s.peak_rss_mib,
            );
        }
        t
    }

    /// Every scenario's criteria, one line each.
    pub fn criteria(&self) -> String {
        let mut t = String::new();
        for s in &self.scenarios {
            let _ = writeln!(
                t,
                "\n### {} ({})\n\n{}\n",
                s.name,
                if s.pass { "pass" } else { "FAIL" },
                s.about
            );
            let shown = |f: &[String]| {
                if f.is_empty() {
                    "defaults".to_string()
                } else {
                    format!("`{}`", f.join(" "))
                }
            };
            let _ = writeln!(
                t,
                "dummy flags: {}; docproxy flags: {}\n",
                shown(&s.dummy_flags),
                shown(&s.docproxy_flags)
            );
            t.push_str("| criterion | expected | measured | |\n|---|---|---|---|\n");
            for c in &s.checks {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} |",
                    c.what,
                    c.expected,
                    c.actual,
                    if c.pass { "ok" } else { "FAIL" }
                );
            }
            if !s.extra.is_empty() {
                let extra: Vec<String> = s
                    .extra
                    .iter()
                    .map(|(k, v)| format!("{k} = {v:.3}"))
                    .collect();
                let _ = writeln!(t, "\nmeasured: {}", extra.join(", "));
            }
            if !s.summary.violations.is_empty() {
                let _ = writeln!(
                    t,
                    "\nviolations (first few): {}",
                    s.summary.violations.join("; ")
                );
            }
        }
        t
    }

    pub fn markdown(&self) -> String {
        format!(
            "# Chaos scorecard\n\n\
             Written by `cargo xtask chaos{}` (see [CHAOS.md](CHAOS.md)); do not edit by hand.\n\n\
             - run: {} ({} mode), overall: **{}**\n\
             - machine: {}; the load generator, docproxy and the upstream share these CPUs\n\n\
             {}\n## Criteria per scenario\n{}",
            if self.mode == "short" { " --short" } else { "" },
            self.started,
            self.mode,
            if self.pass { "PASS" } else { "FAIL" },
            self.machine.line(),
            self.table(),
            self.criteria()
        )
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("SCORECARD.md"), self.markdown())?;
        let json = serde_json::to_string_pretty(self).expect("scorecard serialises");
        std::fs::write(dir.join("SCORECARD.json"), json + "\n")
    }
}
