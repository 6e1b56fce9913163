//! Settings: the seed, and the fault-injection additions (all off by default,
//! so the defaults behave like the original service).

use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Default, Args)]
pub struct Config {
    /// Seed for the random choices: the same seed gives the same sequence for sequential requests.
    #[arg(long, env = "DUMMY_SEED")]
    pub seed: Option<u64>,

    /// Serve only this document instead of the 50/40/10 mix (for benchmarks).
    #[arg(long, env = "DUMMY_ONLY", value_enum)]
    pub only: Option<Only>,

    /// Make every response's bytes distinct (a serial number in a PDF comment
    /// or a PNG tEXt chunk), each document as valid as before: no cache that
    /// keys on content can help (for benchmarks of the cold path).
    #[arg(long, env = "DUMMY_UNIQUE")]
    pub unique: bool,

    /// Serve hostile PDF shapes instead of documents (docproxy issue 10): a
    /// name from `hostile::NAMES`, or `all`; repeatable or comma-separated.
    /// Each is built once at startup (up to docproxy's default 8 MiB
    /// document size) and every response carries a new serial. A numeric id
    /// picks shape `id % count`, in the order given.
    #[arg(long, env = "DUMMY_HOSTILE", value_name = "SHAPE", value_delimiter = ',', value_parser = parse_hostile)]
    pub hostile: Vec<&'static str>,

    /// Serve the PNG padded with a private ancillary chunk to a little over
    /// this many bytes, still valid, built once at startup (0: the plain
    /// ~48 KB PNG): large documents for memory and slow-client tests.
    /// `--unique` serves the plain PNG's variants instead.
    #[arg(long, env = "DUMMY_PAD_PNG", value_name = "BYTES", default_value_t = 0)]
    pub pad_png: usize,

    #[command(flatten)]
    pub faults: Faults,

    #[command(flatten)]
    pub overload: Overload,

    /// An id that always gets the same bad answer, as `ID=invalid`, `ID=oversize`
    /// or `ID=403` (repeatable): one document's fate, not the service's health.
    #[arg(long = "bad-id", value_name = "ID=ANSWER", value_parser = parse_bad_id)]
    pub bad_ids: Vec<(u64, BadAnswer)>,
}

/// What a `--bad-id` always answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAnswer {
    /// The corrupt PDF, labelled application/pdf.
    Invalid,
    /// A 9 MiB body, over docproxy's default 8 MiB limit.
    Oversize,
    /// 403 Forbidden.
    Forbidden,
}

/// Capacity mode: an upstream that can do only so much at once and says so.
#[derive(Debug, Clone, Args)]
pub struct Overload {
    /// At most this many document requests in flight; beyond, 503 with
    /// Retry-After at once (0: unlimited).
    #[arg(long, env = "DUMMY_CAPACITY", default_value_t = 0)]
    pub capacity: u32,
    /// Retry-After, in seconds, on capacity-mode 503s.
    #[arg(long, env = "DUMMY_CAPACITY_RETRY_AFTER", default_value_t = 1)]
    pub capacity_retry_after: u32,
    /// Latency added per request already in flight (latency that grows with load).
    #[arg(long, env = "DUMMY_LATENCY_PER_IN_FLIGHT", default_value = "0s", value_parser = duration)]
    pub latency_per_in_flight: Duration,
}

impl Default for Overload {
    fn default() -> Self {
        Overload {
            capacity: 0,
            capacity_retry_after: 1,
            latency_per_in_flight: Duration::ZERO,
        }
    }
}

fn parse_hostile(s: &str) -> Result<&'static str, String> {
    let names = &crate::documents::hostile::NAMES;
    names
        .iter()
        .chain(&["all"])
        .find(|name| **name == s)
        .copied()
        .ok_or_else(|| format!("expected all or one of {}, got {s:?}", names.join(", ")))
}

fn parse_bad_id(s: &str) -> Result<(u64, BadAnswer), String> {
    let (id, answer) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ID=invalid|oversize|403, got {s:?}"))?;
    let id = id
        .parse::<u64>()
        .map_err(|_| format!("expected a numeric id, got {id:?}"))?;
    let answer = match answer {
        "invalid" => BadAnswer::Invalid,
        "oversize" => BadAnswer::Oversize,
        "403" => BadAnswer::Forbidden,
        other => return Err(format!("expected invalid, oversize or 403, got {other:?}")),
    };
    Ok((id, answer))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Only {
    Pdf,
    Png,
    CorruptPdf,
}

/// Fault injection. Rates are probabilities per request, from 0 to 1.
#[derive(Debug, Clone, Args)]
pub struct Faults {
    /// Fraction of requests answered with --error-status.
    #[arg(long, env = "DUMMY_ERROR_RATE", default_value_t = 0.0, value_parser = rate)]
    pub error_rate: f64,
    /// Status of injected errors.
    #[arg(long, env = "DUMMY_ERROR_STATUS", default_value_t = 503, value_parser = clap::value_parser!(u16).range(100..=599))]
    pub error_status: u16,
    /// Delay added to every response.
    #[arg(long, env = "DUMMY_LATENCY", default_value = "0s", value_parser = duration)]
    pub latency: Duration,
    /// Fraction of requests delayed by --spike-latency on top.
    #[arg(long, env = "DUMMY_SPIKE_RATE", default_value_t = 0.0, value_parser = rate)]
    pub spike_rate: f64,
    /// Delay of a latency spike.
    #[arg(long, env = "DUMMY_SPIKE_LATENCY", default_value = "5s", value_parser = duration)]
    pub spike_latency: Duration,
    /// Fraction of connections reset (TCP RST) instead of answered.
    #[arg(long, env = "DUMMY_RESET_RATE", default_value_t = 0.0, value_parser = rate)]
    pub reset_rate: f64,
    /// Fraction of bodies cut in half after a full Content-Length was promised.
    #[arg(long, env = "DUMMY_TRUNCATE_RATE", default_value_t = 0.0, value_parser = rate)]
    pub truncate_rate: f64,
    /// Fraction of documents labelled with a wrong Content-Type.
    #[arg(long, env = "DUMMY_WRONG_TYPE_RATE", default_value_t = 0.0, value_parser = rate)]
    pub wrong_type_rate: f64,
    /// Fraction of bodies sent slowly, 1 KiB every --drip-interval.
    #[arg(long, env = "DUMMY_DRIP_RATE", default_value_t = 0.0, value_parser = rate)]
    pub drip_rate: f64,
    /// Pause between dripped chunks.
    #[arg(long, env = "DUMMY_DRIP_INTERVAL", default_value = "10ms", value_parser = duration)]
    pub drip_interval: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            error_rate: 0.0,
            error_status: 503,
            latency: Duration::ZERO,
            spike_rate: 0.0,
            spike_latency: Duration::from_secs(5),
            reset_rate: 0.0,
            truncate_rate: 0.0,
            wrong_type_rate: 0.0,
            drip_rate: 0.0,
            drip_interval: Duration::from_millis(10),
        }
    }
}

/// A setting out of range, named by its flag and environment variable.
#[derive(Debug, PartialEq)]
pub struct ConfigError {
    pub setting: &'static str,
    pub expected: &'static str,
    pub got: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} must be {}, got {}",
            self.setting, self.expected, self.got
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The `--hostile` shapes in the order given, `all` spelled out.
    pub fn hostile_shapes(&self) -> Vec<&'static str> {
        self.hostile
            .iter()
            .flat_map(|&name| match name {
                "all" => crate::documents::hostile::NAMES.to_vec(),
                name => vec![name],
            })
            .collect()
    }

    /// Checks what clap checks on the command line, for configs built in code.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let f = &self.faults;
        for (setting, value) in [
            ("--error-rate (DUMMY_ERROR_RATE)", f.error_rate),
            ("--spike-rate (DUMMY_SPIKE_RATE)", f.spike_rate),
            ("--reset-rate (DUMMY_RESET_RATE)", f.reset_rate),
            ("--truncate-rate (DUMMY_TRUNCATE_RATE)", f.truncate_rate),
            (
                "--wrong-type-rate (DUMMY_WRONG_TYPE_RATE)",
                f.wrong_type_rate,
            ),
            ("--drip-rate (DUMMY_DRIP_RATE)", f.drip_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError {
                    setting,
                    expected: "a rate from 0 to 1",
                    got: value.to_string(),
                });
            }
        }
        if !(100..=599).contains(&f.error_status) {
            return Err(ConfigError {
                setting: "--error-status (DUMMY_ERROR_STATUS)",
                expected: "a status from 100 to 599",
                got: f.error_status.to_string(),
            });
        }
        Ok(())
    }
}

fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("expected a rate from 0 to 1, got {s:?}")),
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 250ms, 5s)"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn default_matches_the_command_line_defaults() {
        // One source of truth in practice: the Default impl and clap's defaults must agree.
        let parsed = Cli::try_parse_from(["dummy"]).unwrap().config;
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::default()));
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn bad_ids_and_capacity_parse() {
        let parsed = Cli::try_parse_from([
            "dummy",
            "--bad-id",
            "7=invalid",
            "--bad-id",
            "8=oversize",
            "--bad-id",
            "9=403",
            "--capacity",
            "5",
            "--latency-per-in-flight",
            "2ms",
        ])
        .unwrap()
        .config;
        assert_eq!(
            parsed.bad_ids,
            [
                (7, BadAnswer::Invalid),
                (8, BadAnswer::Oversize),
                (9, BadAnswer::Forbidden)
            ]
        );
        assert_eq!(parsed.overload.capacity, 5);
        assert_eq!(parsed.overload.capacity_retry_after, 1);
        assert_eq!(
            parsed.overload.latency_per_in_flight,
            Duration::from_millis(2)
        );
        let parsed = Cli::try_parse_from([
            "dummy",
            "--hostile",
            "xref-stream-rows,trailer-name-array-8MiB",
            "--hostile",
            "all",
        ])
        .unwrap()
        .config;
        assert_eq!(parsed.hostile_shapes().len(), 2 + 5);
        assert_eq!(parsed.hostile_shapes()[1], "trailer-name-array-8MiB");
        assert!(Cli::try_parse_from(["dummy", "--hostile", "huge"]).is_err());
        for bad in ["7", "x=invalid", "7=404"] {
            assert!(
                Cli::try_parse_from(["dummy", "--bad-id", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn out_of_range_settings_are_named() {
        let mut config = Config::default();
        config.faults.drip_rate = 1.5;
        let error = config.validate().unwrap_err();
        assert_eq!(error.setting, "--drip-rate (DUMMY_DRIP_RATE)");
        assert!(error.to_string().contains("got 1.5"));

        let mut config = Config::default();
        config.faults.error_status = 600;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--error-status")
        );

        let mut config = Config::default();
        config.faults.reset_rate = f64::NAN;
        assert!(config.validate().is_err());
    }
}
