use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck { addr }) = cli.command {
        return match tokio::time::timeout(Duration::from_secs(2), healthcheck(addr)).await {
            Ok(Ok(true)) => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
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

/// A minimal HTTP/1.1 GET of /_dummy/healthz: no HTTP client in the image.
async fn healthcheck(addr: SocketAddr) -> std::io::Result<bool> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /_dummy/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    Ok(head.starts_with(b"HTTP/1.1 200"))
}
