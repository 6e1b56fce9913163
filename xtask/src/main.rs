//! Project automation, run as `cargo xtask <task>` (alias in .cargo/config.toml).
//!
//! - `chaos [--short]`: the fault-injection scorecard (docs/CHAOS.md).
//! - `bench`: docproxy against nginx as a reverse proxy (docs/BENCHMARKS.md).

mod bench;
mod chaos;
mod load;
mod plot;
mod procs;
mod prom;
mod scorecard;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "docproxy project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run docproxy in front of a faulty upstream through named scenarios and
    /// print a scorecard; exits non-zero if any scenario fails its criteria.
    Chaos {
        /// The CI profile: a few seconds per scenario (under a minute and a half in all).
        #[arg(long)]
        short: bool,
        /// Directory for SCORECARD.md and SCORECARD.json (`docs` to update the committed ones).
        #[arg(long, default_value = "target/xtask")]
        out: PathBuf,
        /// Run only the scenario with this name.
        #[arg(long)]
        only: Option<String>,
    },
    /// Benchmark the upstream directly, nginx as a reverse proxy, and docproxy,
    /// interleaved, with wrk; writes a Markdown table.
    Bench(bench::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    // docproxy's reqwest has rustls without a provider: every client needs one.
    docproxy::upstream::tls::install_crypto_provider();
    let result = match Cli::parse().task {
        Task::Chaos { short, out, only } => chaos::main(short, &out, only.as_deref()).await,
        Task::Bench(args) => bench::main(args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::from(2)
        }
    }
}
