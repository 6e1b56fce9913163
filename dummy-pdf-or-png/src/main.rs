//! The `dummy-pdf-or-png` binary: parse settings, serve until SIGTERM or Ctrl-C,
//! or probe a running instance with `healthcheck`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dummy-pdf-or-png",
    version,
    about = "Answers any GET with a PNG, a PDF or a corrupt PDF, like the original upstream",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(long, env = "DUMMY_LISTEN", default_value = "0.0.0.0:3000")]
    listen: SocketAddr,
    #[command(flatten)]
    config: dummy_pdf_or_png::Config,
}

#[derive(Subcommand)]
enum Command {
    /// Probe a running dummy's health endpoint; exit 0 if it answers 200, else 1.
    Healthcheck {
        /// The URL to GET.
        #[arg(long, default_value = dummy_pdf_or_png::healthcheck::DEFAULT_URL)]
        url: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck { url }) = cli.command {
        return match dummy_pdf_or_png::healthcheck::probe(&url, Duration::from_secs(2)).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("dummy-pdf-or-png healthcheck: {url}: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(error) = cli.config.validate() {
        eprintln!("dummy-pdf-or-png: {error}");
        return ExitCode::from(2);
    }
    let listener = match tokio::net::TcpListener::bind(cli.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("dummy-pdf-or-png: cannot listen on {}: {error}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "dummy-pdf-or-png listening on {} ({:?})",
        cli.listen, cli.config
    );
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    match dummy_pdf_or_png::serve(listener, cli.config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dummy-pdf-or-png: {error}");
            ExitCode::FAILURE
        }
    }
}
