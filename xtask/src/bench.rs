//! `cargo xtask bench`: in one run on one machine, interleaved round by round,
//! wrk against (1) the upstream directly, (2) nginx as a reverse proxy in
//! front of it, and (3) docproxy (validating every body) in front of it; PNG
//! and PDF bodies of the original's shape and size; 64 and 256 connections;
//! medians of the rounds. Also the fail-fast path: docproxy's answers while
//! its breaker is open.
//!
//! Two modes, one after the other: hot, where the upstream sends the same
//! bytes every time (docproxy's verdict cache spares it validating them
//! again), and cold, where `dummy-pdf-or-png --unique` makes every body new,
//! so docproxy validates every one. The upstreams are `dummy-pdf-or-png
//! --only png` and `--only pdf`; nginx's config is bench/nginx.conf.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::procs::{self, Binaries, Server};
use crate::scorecard::Machine;

#[derive(clap::Args)]
pub struct Args {
    /// Rounds; each cell's figures are the median over rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Connection counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "64,256")]
    connections: Vec<u32>,
    /// Modes to measure: hot (the same bytes every time) and cold (every body new).
    #[arg(long, value_delimiter = ',', default_value = "hot,cold")]
    modes: Vec<Mode>,
    /// Replace the results section of this Markdown file (between the
    /// `<!-- bench:begin -->` and `<!-- bench:end -->` markers).
    #[arg(long)]
    write: Option<PathBuf>,
}

/// One wrk run's summary, as bench/random-ids.lua prints it.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct Wrk {
    requests: u64,
    duration_us: u64,
    connect: u64,
    read: u64,
    write: u64,
    status: u64,
    timeout: u64,
    p50_us: u64,
    p99_us: u64,
}

impl Wrk {
    fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    fn errors(&self) -> u64 {
        self.connect + self.read + self.write + self.status + self.timeout
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
enum Mode {
    /// The same bytes on every response: docproxy validates each document once.
    Hot,
    /// Every response's bytes new (`dummy-pdf-or-png --unique`): docproxy validates all.
    Cold,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Hot => "hot",
            Mode::Cold => "cold",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Upstream,
    Nginx,
    Docproxy,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Upstream => "upstream (direct)",
            Target::Nginx => "nginx proxy",
            Target::Docproxy => "docproxy",
        }
    }
}

/// Medians over the rounds of one (type, connections, target) cell.
#[derive(Debug, Default, Clone, Copy)]
struct Cell {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    peak_rss_mib: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn wrk(url: &str, connections: u32, seconds: u64, script: &Path) -> Result<Wrk, String> {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["--timeout", "5s", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| format!("run wrk (apt-get install wrk): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("XTASK "))
        .ok_or_else(|| {
            format!(
                "wrk printed no summary: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    serde_json::from_str(line).map_err(|e| format!("wrk summary {line}: {e}"))
}

/// Resets a process's VmHWM to its current RSS (Linux clear_refs 5).
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

struct Nginx {
    /// Held for its Drop, which stops nginx.
    _server: Server,
    proxy: [u16; 2],
}

/// Renders bench/nginx.conf into a temp prefix and starts nginx in front of
/// the two upstream ports.
async fn start_nginx(root: &Path, prefix: &Path, upstream: [u16; 2]) -> Result<Nginx, String> {
    for dir in ["logs", "tmp"] {
        std::fs::create_dir_all(prefix.join(dir)).map_err(|e| e.to_string())?;
    }
    let proxy = [procs::free_port(), procs::free_port()];
    let template = std::fs::read_to_string(root.join("bench/nginx.conf"))
        .map_err(|e| format!("bench/nginx.conf: {e}"))?;
    let conf = template
        .replace("@UPSTREAM_PNG_PORT@", &upstream[0].to_string())
        .replace("@UPSTREAM_PDF_PORT@", &upstream[1].to_string())
        .replace("@PROXY_PNG_PORT@", &proxy[0].to_string())
        .replace("@PROXY_PDF_PORT@", &proxy[1].to_string());
    std::fs::write(prefix.join("nginx.conf"), conf).map_err(|e| e.to_string())?;
    let nginx = which("nginx").ok_or("nginx not found (apt-get install nginx)")?;
    let args = vec![
        "-p".to_string(),
        prefix.display().to_string(),
        "-c".into(),
        "nginx.conf".into(),
        "-e".into(),
        "logs/error.log".into(),
    ];
    let mut server = Server::start(
        "nginx",
        &nginx,
        &args,
        proxy[0],
        &prefix.join("logs/stdout.log"),
    )?;
    server.wait_ready("/1", Duration::from_secs(10)).await?;
    Ok(Nginx {
        _server: server,
        proxy,
    })
}

fn which(program: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

pub async fn main(args: Args) -> Result<bool, String> {
    let bins = Binaries::locate()?;
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let script = root.join("bench/random-ids.lua");
    let work = bins.dir.join("../xtask/bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let kinds = ["png", "pdf"];
    let setup = Setup {
        args: &args,
        bins: &bins,
        root: &root,
        work: &work,
        script: &script,
        kinds: &kinds,
    };
    let mut runs = BTreeMap::new();
    for &mode in &args.modes {
        setup.measure(mode, &mut runs).await?;
    }

    let fail_fast = breaker_open(&bins, &work, &script, args.seconds).await?;
    let cells: BTreeMap<_, _> = runs
        .into_iter()
        .map(|(key, rs)| {
            let cell = Cell {
                rps: median(rs.iter().map(|(w, _)| w.rps()).collect()),
                p50_ms: median(rs.iter().map(|(w, _)| w.p50_us as f64 / 1e3).collect()),
                p99_ms: median(rs.iter().map(|(w, _)| w.p99_us as f64 / 1e3).collect()),
                errors: rs.iter().map(|(w, _)| w.errors()).sum(),
                peak_rss_mib: rs.iter().map(|(_, r)| *r).fold(0.0, f64::max),
            };
            (key, cell)
        })
        .collect();
    let report = render(&args, &cells, &kinds, fail_fast);
    println!("{report}");
    if let Some(path) = &args.write {
        splice(path, &report)?;
        println!("results written into {}", path.display());
    }
    Ok(true)
}

/// Each run's wrk summary and docproxy's peak RSS, by (mode, kind, connections, target).
type Runs = BTreeMap<(Mode, usize, u32, Target), Vec<(Wrk, f64)>>;

/// What every mode's measurement shares.
struct Setup<'a> {
    args: &'a Args,
    bins: &'a Binaries,
    root: &'a Path,
    work: &'a Path,
    script: &'a Path,
    kinds: &'a [&'a str],
}

impl Setup<'_> {
    /// One mode's rounds: its own upstreams, docproxies and nginx, stopped after.
    async fn measure(&self, mode: Mode, runs: &mut Runs) -> Result<(), String> {
        let Setup {
            args,
            bins,
            root,
            work,
            script,
            kinds,
        } = *self;
        let mut upstreams = Vec::new();
        let mut proxies = Vec::new();
        for kind in kinds {
            let mut flags = vec!["--only".to_string(), kind.to_string()];
            if mode == Mode::Cold {
                flags.push("--unique".into());
            }
            let name = format!("{}-{kind}", mode.name());
            let log = work.join(format!("dummy-{name}.log"));
            let upstream = procs::start_dummy(bins, procs::free_port(), &flags, &log).await?;
            let log = work.join(format!("docproxy-{name}.log"));
            proxies.push(procs::start_docproxy(bins, upstream.port, &[], &log).await?);
            upstreams.push(upstream);
        }
        let nginx = start_nginx(
            root,
            &work.join(format!("nginx-{}", mode.name())),
            [upstreams[0].port, upstreams[1].port],
        )
        .await?;
        let targets = [Target::Upstream, Target::Nginx, Target::Docproxy];
        for round in 1..=args.rounds {
            for (k, kind) in kinds.iter().enumerate() {
                for &conns in &args.connections {
                    for target in targets {
                        let (url, pid) = match target {
                            Target::Upstream => (upstreams[k].base_url(), None),
                            Target::Nginx => (format!("http://127.0.0.1:{}", nginx.proxy[k]), None),
                            Target::Docproxy => (proxies[k].base_url(), Some(proxies[k].pid())),
                        };
                        if let Some(pid) = pid {
                            reset_peak_rss(pid);
                        }
                        let w = wrk(&url, conns, args.seconds, script)?;
                        let rss = match target {
                            Target::Docproxy => {
                                proxies[k].peak_rss().unwrap_or(0) as f64 / 1048576.0
                            }
                            _ => 0.0,
                        };
                        eprintln!(
                            "{} round {round} {kind} c={conns} {:<18} {:>8.0} rps  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}{}",
                            mode.name(),
                            target.name(),
                            w.rps(),
                            w.p50_us as f64 / 1e3,
                            w.p99_us as f64 / 1e3,
                            w.errors(),
                            if rss > 0.0 {
                                format!("  peak RSS {rss:.1} MiB")
                            } else {
                                String::new()
                            }
                        );
                        runs.entry((mode, k, conns, target))
                            .or_default()
                            .push((w, rss));
                    }
                }
            }
        }
        Ok(())
    }
}

/// docproxy in front of a port nobody listens on, breaker forced open with a
/// long open period: every answer is the fail-fast 503.
async fn breaker_open(
    bins: &Binaries,
    work: &Path,
    script: &Path,
    seconds: u64,
) -> Result<FailFast, String> {
    let dead = procs::free_port();
    let flags: Vec<String> = ["--breaker-open-for", "60s", "--breaker-open-max", "60s"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let proxy =
        procs::start_docproxy(bins, dead, &flags, &work.join("docproxy-breaker.log")).await?;
    let client = crate::load::client(Duration::from_secs(1));
    for _ in 0..200 {
        let _ = client.get(format!("{}/1", proxy.base_url())).send().await;
    }
    let w = wrk(&proxy.base_url(), 64, seconds, script)?;
    let before = scrape(&client, &proxy).await?;
    // Paced at 2,000 req/s from 16 clients: the latency a caller sees when
    // the machine is not saturated, and docproxy's own histogram of it.
    let spec = crate::load::Load {
        concurrency: 16,
        duration: Duration::from_secs(seconds),
        max_requests: crate::load::MAX_REQUESTS,
        rps: Some(2000.0),
    };
    let outcomes = crate::load::run(
        &client,
        &proxy.base_url(),
        &spec,
        &crate::load::Control::default(),
        std::time::Instant::now(),
    )
    .await;
    let paced = crate::load::Summary::of(&outcomes);
    let after = scrape(&client, &proxy).await?;
    let bucket = format!("{}_bucket", docproxy::metrics::HTTP_REQUEST_DURATION);
    let filter = [("route", "/{id}"), ("status", "503")];
    let delta = |le: &str| {
        let labels = [filter[0], filter[1], ("le", le)];
        after.sum(&bucket, &labels) - before.sum(&bucket, &labels)
    };
    let (under_1ms, all) = (delta("0.001"), delta("+Inf"));
    let fail_fast = FailFast {
        saturated: w,
        paced_rps: paced.requests as f64 / seconds as f64,
        paced_p50_ms: paced.p50_ms,
        paced_p99_ms: paced.p99_ms,
        paced_503_share: paced.share("503"),
        server_under_1ms: if all > 0.0 { under_1ms / all } else { f64::NAN },
    };
    eprintln!("{fail_fast:?}");
    Ok(fail_fast)
}

async fn scrape(client: &reqwest::Client, proxy: &Server) -> Result<crate::prom::Scrape, String> {
    let text = client
        .get(format!("{}/metrics", proxy.base_url()))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(crate::prom::Scrape::parse(&text))
}

/// The breaker-open measurements.
#[derive(Debug, Clone, Copy)]
struct FailFast {
    /// wrk, 64 connections, as fast as answers come (saturates the CPUs).
    saturated: Wrk,
    paced_rps: f64,
    paced_p50_ms: f64,
    paced_p99_ms: f64,
    paced_503_share: f64,
    /// Share of docproxy's 503s its own histogram puts under 1 ms.
    server_under_1ms: f64,
}

fn render(
    args: &Args,
    cells: &BTreeMap<(Mode, usize, u32, Target), Cell>,
    kinds: &[&str],
    fail_fast: FailFast,
) -> String {
    let machine = Machine::detect();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Machine: {}. wrk -t2, {} s per run, {} interleaved rounds, medians; errors are summed over rounds.\n",
        machine.line(),
        args.seconds,
        args.rounds
    );
    t.push_str("| mode | body | conns | target | rps | p50 ms | p99 ms | errors | rps vs nginx | p99 vs nginx (ms) | peak RSS MiB |\n");
    t.push_str("|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for &mode in &args.modes {
        for (k, kind) in kinds.iter().enumerate() {
            for &conns in &args.connections {
                let nginx = cells
                    .get(&(mode, k, conns, Target::Nginx))
                    .copied()
                    .unwrap_or_default();
                for target in [Target::Upstream, Target::Nginx, Target::Docproxy] {
                    let c = cells
                        .get(&(mode, k, conns, target))
                        .copied()
                        .unwrap_or_default();
                    let _ = writeln!(
                        t,
                        "| {} | {kind} | {conns} | {} | {:.0} | {:.2} | {:.2} | {} | {:.2}x | {:+.2} | {} |",
                        mode.name(),
                        target.name(),
                        c.rps,
                        c.p50_ms,
                        c.p99_ms,
                        c.errors,
                        c.rps / nginx.rps,
                        c.p99_ms - nginx.p99_ms,
                        if target == Target::Docproxy {
                            format!("{:.1}", c.peak_rss_mib)
                        } else {
                            "".into()
                        },
                    );
                }
            }
        }
    }
    let _ = writeln!(
        t,
        "\nBreaker open (upstream down), fail-fast 503s:\n\n\
         | load | rps | p50 ms | p99 ms | 503s under 1 ms (docproxy's histogram) |\n\
         |---|--:|--:|--:|--:|\n\
         | wrk, 64 connections, saturating | {:.0} | {:.3} | {:.3} | |\n\
         | xtask, 16 clients paced at 2,000 req/s ({:.1}% 503) | {:.0} | {:.3} | {:.3} | {:.2}% |",
        fail_fast.saturated.rps(),
        fail_fast.saturated.p50_us as f64 / 1e3,
        fail_fast.saturated.p99_us as f64 / 1e3,
        fail_fast.paced_503_share * 100.0,
        fail_fast.paced_rps,
        fail_fast.paced_p50_ms,
        fail_fast.paced_p99_ms,
        fail_fast.server_under_1ms * 100.0,
    );
    t
}

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

/// Replaces the text between the markers in `path`.
fn splice(path: &Path, report: &str) -> Result<(), String> {
    let doc = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        return Err(format!(
            "{} lacks the {BEGIN} / {END} markers",
            path.display()
        ));
    };
    let updated = format!("{}{BEGIN}\n{report}\n{}", &doc[..b], &doc[e..]);
    std::fs::write(path, updated).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_wrk_summaries() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        let w: Wrk = serde_json::from_str(
            r#"{"requests":1000,"duration_us":2000000,"bytes":1,"connect":0,"read":1,"write":0,"status":2,"timeout":0,"p50_us":100,"p99_us":900,"max_us":1000}"#,
        )
        .unwrap();
        assert_eq!(w.rps(), 500.0);
        assert_eq!(w.errors(), 3);
    }
}
