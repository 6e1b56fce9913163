//! Typed settings, from flags and `DOCPROXY_*` environment variables.
//!
//! Every default lives here, once; the README's configuration table is
//! checked against `docproxy --help` by a test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "docproxy",
    version,
    about = "Serves documents by id from an upstream, never a corrupt or mislabelled one",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

impl Cli {
    /// Parses a command line, with one default that depends on another
    /// setting: `--demo` logs in the pretty format unless a format is given.
    pub fn parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let format_given = matches
            .value_source("log_format")
            .is_some_and(|source| source != ValueSource::DefaultValue);
        if cli.config.demo && !format_given {
            cli.config.log_format = LogFormat::Pretty;
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe a running docproxy's /healthz and exit 0 if it answers 200, else 1
    /// (for container HEALTHCHECKs, which have no curl).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "DOCPROXY_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Base URL of the upstream document service, e.g. http://dummy-pdf-or-png:3000.
    #[arg(long, env = "DOCPROXY_UPSTREAM_URL", required_unless_present = "demo", value_parser = parse_upstream_url)]
    pub upstream_url: Option<String>,

    /// PEM bundle of CAs trusted for an https:// upstream, beside the system roots.
    #[arg(long, env = "DOCPROXY_UPSTREAM_CA_FILE")]
    pub upstream_ca_file: Option<PathBuf>,

    /// Start an in-process dummy upstream and proxy to it (for trying docproxy out).
    #[arg(long)]
    pub demo: bool,

    /// Timeout for establishing a TCP connection to the upstream.
    #[arg(long, env = "DOCPROXY_CONNECT_TIMEOUT", default_value = "250ms", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Timeout for one upstream attempt, from sending the request to the last body byte.
    #[arg(long, env = "DOCPROXY_ATTEMPT_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub attempt_timeout: Duration,

    /// Overall deadline for a request: bounds all attempts, backoff sleeps and validation (504 past it).
    #[arg(long, env = "DOCPROXY_DEADLINE", default_value = "5s", value_parser = parse_duration)]
    pub deadline: Duration,

    /// Upstream attempts per request, the first included (1 disables retries).
    /// Five, so that the original upstream's 10% corrupt answers fail a
    /// request only when five come in a row (1 in 100,000).
    #[arg(long, env = "DOCPROXY_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_attempts: u32,

    /// First backoff delay; doubles per retry, with full jitter.
    #[arg(long, env = "DOCPROXY_RETRY_BACKOFF", default_value = "20ms", value_parser = parse_duration)]
    pub retry_backoff: Duration,

    /// Retries allowed as a fraction of requests over the last 10 s.
    #[arg(long, env = "DOCPROXY_RETRY_BUDGET_RATIO", default_value_t = 0.2, value_parser = parse_ratio)]
    pub retry_budget_ratio: f64,

    /// Retries per second always allowed, whatever the traffic (the budget's floor).
    #[arg(long, env = "DOCPROXY_RETRY_BUDGET_FLOOR", default_value_t = 10)]
    pub retry_budget_floor: u32,

    /// Breaker: upstream health failures in a row that open it (a hard outage:
    /// no success among that many). Successes reset the run; outcomes about
    /// one document (invalid, oversize, 4xx) do not count. At 70% random
    /// failures a run of 100 has probability ~1e-16 per attempt.
    #[arg(long, env = "DOCPROXY_BREAKER_CONSECUTIVE_FAILURES", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub breaker_consecutive_failures: u32,

    /// Breaker: first open period; doubles on each failed recovery, jittered.
    #[arg(long, env = "DOCPROXY_BREAKER_OPEN_FOR", default_value = "2s", value_parser = parse_duration)]
    pub breaker_open_for: Duration,

    /// Breaker: longest open period (bounds recovery after the upstream heals).
    #[arg(long, env = "DOCPROXY_BREAKER_OPEN_MAX", default_value = "10s", value_parser = parse_duration)]
    pub breaker_open_max: Duration,

    /// Breaker: probe calls admitted at once while half-open; the first success
    /// closes it, as many failures without one reopen it.
    #[arg(long, env = "DOCPROXY_BREAKER_HALF_OPEN_PROBES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub breaker_half_open_probes: u32,

    /// Throttle: attempts sent per attempt the upstream accepts without an
    /// overload signal (429, 503 with Retry-After, timeout), at equilibrium
    /// (the SRE book's K). Bounds the load sent to an overloaded upstream, and
    /// sets the share of overload answers it settles at: (K - 1) / K.
    #[arg(long, env = "DOCPROXY_THROTTLE_K", default_value_t = 1.15, value_parser = parse_k)]
    pub throttle_k: f64,

    /// Throttle: highest probability of refusing an attempt, so some traffic always flows.
    #[arg(long, env = "DOCPROXY_THROTTLE_MAX_REJECT", default_value_t = 0.8, value_parser = parse_ratio)]
    pub throttle_max_reject: f64,

    /// Largest upstream document accepted (e.g. 8MiB, 512KiB, 1000000); larger is a 502.
    #[arg(long, env = "DOCPROXY_MAX_DOCUMENT_SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub max_document_size: u64,

    /// Bytes one document may inflate to in total (PDF streams, PNG image data, APNG frames); beyond it the body is refused. 0.1-1.4 s of CPU per GiB, by the data.
    #[arg(long, env = "DOCPROXY_MAX_INFLATED_SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_inflated_size: u64,

    /// Decoded scanline bytes of one PNG image, checked at IHDR before inflating; larger images are refused.
    #[arg(long, env = "DOCPROXY_MAX_PNG_IMAGE_SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_png_image_size: u64,

    /// Encrypted PDFs that need a password, which can be verified by structure
    /// only: serve them (the served-documents metric says `verification="structure"`) or refuse them.
    #[arg(long, env = "DOCPROXY_ENCRYPTED_PDF", value_enum, default_value_t = crate::document::EncryptedPdf::Serve)]
    pub encrypted_pdf: crate::document::EncryptedPdf,

    /// Requests for documents handled at once; beyond it they are answered 503 at once.
    #[arg(long, env = "DOCPROXY_MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_in_flight: u32,

    /// Document bytes buffered at once across all requests, and the working memory validating them takes; beyond it requests are shed with 503.
    #[arg(long, env = "DOCPROXY_MAX_IN_FLIGHT_BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub max_in_flight_bytes: u64,

    /// Documents waiting for a core to be validated on (validation runs on one
    /// blocking thread per core); beyond it requests are shed with 503.
    #[arg(long, env = "DOCPROXY_VALIDATION_QUEUE", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub validation_queue: u32,

    /// Verdicts kept by the verdict cache, keyed by the BLAKE3 digest of the
    /// document: a body already proven valid is not validated again (0 turns
    /// it off). About 102 bytes an entry.
    #[arg(long, env = "DOCPROXY_VERDICT_CACHE_ENTRIES", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(0..=16_777_216))]
    pub verdict_cache_entries: u32,

    /// Bytes of proven documents the verdict cache keeps once they are seen
    /// again, so a body equal to one of them byte for byte skips even its
    /// BLAKE3 digest (0 keeps none). A document over a sixteenth of it is not kept.
    #[arg(long, env = "DOCPROXY_VERDICT_CACHE_BYTES", default_value = "16MiB", value_parser = parse_size)]
    pub verdict_cache_bytes: u64,

    /// Time a client has to send a request's headers, from its first byte (or
    /// from the connection's start, for the first request): slowloris protection.
    #[arg(long, env = "DOCPROXY_HEADER_READ_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// How long an idle keep-alive connection is kept between requests. Longer
    /// than load balancers keep theirs (AWS ALB 60 s, nginx 75 s), so the
    /// balancer, not docproxy, closes an idle connection.
    #[arg(long, env = "DOCPROXY_KEEP_ALIVE_TIMEOUT", default_value = "75s", value_parser = parse_duration)]
    pub keep_alive_timeout: Duration,

    /// How long a client may stop reading a response before it is
    /// disconnected, freeing the document's bytes and its in-flight slot.
    #[arg(long, env = "DOCPROXY_SEND_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub send_timeout: Duration,

    /// Largest request head (request line and headers); beyond it, 431.
    #[arg(long, env = "DOCPROXY_MAX_HEADER_SIZE", default_value = "16KiB", value_parser = parse_size)]
    pub max_header_size: u64,

    /// Client connections open at once. At the limit, idle keep-alive
    /// connections are closed to make room; while all are busy, new ones wait
    /// in the listen backlog. Room for the ~1,500 connections a pooling client
    /// opens for 1,000 concurrent requests (its pool races new connections
    /// against idle ones), at about 30 KiB each when flooded with headers.
    #[arg(long, env = "DOCPROXY_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Threads that accept and serve connections, each on a single-threaded
    /// runtime of its own, as nginx runs one worker process per core (0: one
    /// per core the process may use). Validation runs on its own pool.
    #[arg(long, env = "DOCPROXY_WORKERS", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub workers: u32,

    /// On SIGTERM/SIGINT, how long in-flight requests get to finish.
    #[arg(long, env = "DOCPROXY_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Log format: JSON lines for machines, or pretty for people (the default with --demo).
    #[arg(long, env = "DOCPROXY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A setting that parsed but does not make sense together with another.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

impl Config {
    /// The caps every validation runs under.
    pub fn validation_limits(&self) -> crate::document::Limits {
        crate::document::Limits {
            max_inflated_bytes: self.max_inflated_size,
            max_png_image_bytes: self.max_png_image_size,
            encrypted_pdf: self.encrypted_pdf,
        }
    }

    /// How many workers serve connections: `--workers`, or one per core.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n as usize,
        }
    }

    /// Checks relations between settings that clap cannot check one at a time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |setting, reason: &str| {
            Err(ConfigError {
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.attempt_timeout > self.deadline {
            return err(
                "--attempt-timeout / DOCPROXY_ATTEMPT_TIMEOUT",
                "must not exceed the deadline",
            );
        }
        if self.connect_timeout > self.attempt_timeout {
            return err(
                "--connect-timeout / DOCPROXY_CONNECT_TIMEOUT",
                "must not exceed the attempt timeout",
            );
        }
        if self.breaker_open_for > self.breaker_open_max {
            return err(
                "--breaker-open-for / DOCPROXY_BREAKER_OPEN_FOR",
                "must not exceed --breaker-open-max",
            );
        }
        if self.max_document_size == 0 {
            return err(
                "--max-document-size / DOCPROXY_MAX_DOCUMENT_SIZE",
                "must be positive",
            );
        }
        if self.max_document_size > self.max_in_flight_bytes {
            return err(
                "--max-document-size / DOCPROXY_MAX_DOCUMENT_SIZE",
                "must not exceed --max-in-flight-bytes",
            );
        }
        if self.header_read_timeout > self.keep_alive_timeout {
            return err(
                "--header-read-timeout / DOCPROXY_HEADER_READ_TIMEOUT",
                "must not exceed --keep-alive-timeout",
            );
        }
        if !(1 << 10..=1 << 20).contains(&self.max_header_size) {
            return err(
                "--max-header-size / DOCPROXY_MAX_HEADER_SIZE",
                "must be from 1KiB to 1MiB",
            );
        }
        if self.max_in_flight_bytes > u64::from(u32::MAX) {
            return err(
                "--max-in-flight-bytes / DOCPROXY_MAX_IN_FLIGHT_BYTES",
                "must be at most 4GiB",
            );
        }
        Ok(())
    }
}

/// Parses a humantime duration (`250ms`, `5s`); zero is refused.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 250ms, 5s)"))?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

fn parse_k(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(k) if k >= 1.0 && k.is_finite() => Ok(k),
        _ => Err("expected a number of at least 1".into()),
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("expected a number from 0 to 1".into()),
    }
}

/// Parses a byte size: a plain number or one with a KiB/MiB/GiB suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (use B, KiB, MiB or GiB)")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("expected a positive size such as 8MiB, got {s:?}"))
}

/// Accepts an absolute http(s) URL without query or fragment; stored without a trailing slash.
fn parse_upstream_url(s: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(s.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut argv = vec!["docproxy"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| cli.config)
    }

    #[test]
    fn defaults_are_valid() {
        let config = parse(&["--upstream-url", "http://up:3000/"]).unwrap();
        assert_eq!(config.upstream_url.as_deref(), Some("http://up:3000"));
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.deadline, Duration::from_secs(5));
        assert_eq!(
            config.worker_count(),
            std::thread::available_parallelism().unwrap().get(),
            "one worker per core"
        );
        let two = parse(&["--upstream-url", "http://up:3000/", "--workers", "2"]).unwrap();
        assert_eq!(two.worker_count(), 2);
        assert_eq!(config.max_document_size, 8 << 20);
        assert_eq!(
            config.validation_limits(),
            crate::document::Limits::default()
        );
        config.validate().unwrap();
    }

    #[test]
    fn upstream_url_is_required_and_checked() {
        assert!(parse(&[]).is_err());
        for bad in ["ftp://x", "not a url", "http://x/?q=1", "/relative"] {
            let err = parse(&["--upstream-url", bad]).unwrap_err().to_string();
            assert!(err.contains("--upstream-url"), "{bad}: {err}");
        }
        assert!(parse(&["--demo"]).is_ok());
    }

    #[test]
    fn durations_and_sizes_parse_or_explain() {
        let c = parse(&[
            "--demo",
            "--attempt-timeout",
            "250ms",
            "--max-document-size",
            "512KiB",
        ])
        .unwrap();
        assert_eq!(c.attempt_timeout, Duration::from_millis(250));
        assert_eq!(c.max_document_size, 512 << 10);
        for (flag, bad) in [
            ("--attempt-timeout", "0s"),
            ("--attempt-timeout", "soon"),
            ("--max-document-size", "8MB"),
            ("--max-document-size", "0"),
            ("--max-attempts", "0"),
            ("--breaker-consecutive-failures", "0"),
            ("--throttle-k", "0.5"),
            ("--throttle-max-reject", "2"),
            ("--retry-budget-ratio", "1.5"),
        ] {
            let err = parse(&["--demo", flag, bad]).unwrap_err().to_string();
            assert!(err.contains(flag), "{flag} {bad}: {err}");
        }
        assert_eq!(
            parse_size("18446744073709551615GiB"),
            Err("expected a positive size such as 8MiB, got \"18446744073709551615GiB\"".into())
        );
    }

    #[test]
    fn the_demo_logs_pretty_unless_told_otherwise() {
        let format = |args: &[&str]| {
            let mut argv = vec!["docproxy"];
            argv.extend_from_slice(args);
            Cli::parse_args(argv).unwrap().config.log_format
        };
        assert_eq!(format(&["--demo"]), LogFormat::Pretty);
        assert_eq!(format(&["--demo", "--log-format", "json"]), LogFormat::Json);
        assert_eq!(format(&["--upstream-url", "http://up"]), LogFormat::Json);
    }

    #[test]
    fn relations_between_settings_are_checked() {
        let c = parse(&["--demo", "--attempt-timeout", "10s", "--deadline", "5s"]).unwrap();
        assert_eq!(
            c.validate().unwrap_err().setting,
            "--attempt-timeout / DOCPROXY_ATTEMPT_TIMEOUT"
        );
        let c = parse(&[
            "--demo",
            "--breaker-open-for",
            "20s",
            "--breaker-open-max",
            "10s",
        ])
        .unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("--breaker-open-for")
        );
        let c = parse(&["--demo", "--max-document-size", "128MiB"]).unwrap();
        assert!(c.validate().is_err());
    }
}
