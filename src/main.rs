use std::process::ExitCode;
use std::time::Duration;

use docproxy::config::{Cli, Command};
use docproxy::{Application, demo, shutdown, telemetry};

fn main() -> ExitCode {
    pin_mmap_threshold();
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|error| error.exit());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("docproxy: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Command::Healthcheck { url }) = cli.command {
        return runtime.block_on(healthcheck(&url));
    }
    let mut config = cli.config;
    if let Err(error) = config.validate() {
        eprintln!("docproxy: {error}");
        return ExitCode::from(2);
    }
    runtime.block_on(async {
        telemetry::init(config.log_format);
        if config.demo {
            match demo::start_upstream().await {
                Ok(url) => config.upstream_url = Some(url),
                Err(error) => {
                    eprintln!("docproxy: cannot start the demo upstream: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        tracing::info!(version = env!("CARGO_PKG_VERSION"), config = ?config, "starting");
        let app = match Application::build(config.clone()).await {
            Ok(app) => app,
            Err(error) => {
                tracing::error!(error = %error, source = ?std::error::Error::source(&error), "startup failed");
                eprintln!("docproxy: {error}");
                return ExitCode::FAILURE;
            }
        };
        if config.demo {
            println!("{}", demo::banner(app.local_addr(), config.upstream_url.as_deref().unwrap_or("")));
        }
        match app.run_until_stopped(shutdown::signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}

/// glibc's malloc serves large blocks with mmap, and gives them back to the
/// system when freed, until one is freed: it then raises the threshold to
/// that block's size (up to 32 MiB) and serves such blocks from a thread's
/// heap, which keeps its peak. Validations moving between blocking threads
/// left every heap at the peak of the largest it ran: the chaos scorecard's
/// `hostile-bodies` scenario reached 200 MiB of RSS with a 64 MiB byte
/// budget, and kept 116 MiB when idle. Pinned at glibc's own default of
/// 128 KiB, the peak was 55 MiB and idle RSS 9 MiB. musl's malloc (the
/// container image) always maps large blocks.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn pin_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_mmap_threshold() {}

/// Probes a /healthz URL: exit 0 on 200, 1 otherwise.
async fn healthcheck(url: &str) -> ExitCode {
    docproxy::upstream::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build();
    match client.map(|c| c.get(url).send()) {
        Ok(request) => match request.await {
            Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
            Ok(response) => {
                eprintln!("healthcheck: {url} answered {}", response.status());
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("healthcheck: {url}: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("healthcheck: {error}");
            ExitCode::FAILURE
        }
    }
}
