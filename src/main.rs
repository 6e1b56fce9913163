use std::process::ExitCode;
use std::time::Duration;

use docproxy::config::{Cli, Command};
use docproxy::{Application, demo, shutdown, telemetry};

/// mimalloc, not glibc's allocator. Each proxied body is allocated on the
/// worker that reads it and freed on the one that sent it; glibc's malloc
/// takes the owning arena's lock for such a free, and under load the workers
/// waited on each other there (docs/BENCHMARKS.md has the figures).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod allocator {
    use libmimalloc_sys::{mi_option_set, mi_option_t};

    #[global_allocator]
    static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

    /// mimalloc 3 keeps freed memory committed for a second by default: the
    /// chaos scorecard's `hostile-bodies` scenario then peaked at 229 MiB of
    /// RSS with a 64 MiB byte budget, and `slow-reader` at 58 MiB for a
    /// 40 MiB bound. Returned at once and committed on demand, they peaked
    /// at 67 and 28 MiB. The arena option counts only before the first
    /// allocation, which the standard library's start-up makes, so this runs
    /// as an ELF constructor, before it (tests/allocator.rs checks).
    #[used]
    #[unsafe(link_section = ".init_array")]
    static TUNE: extern "C" fn() = tune;

    extern "C" fn tune() {
        // `mi_option_e` in mimalloc 3's include/mimalloc.h; the crate names neither.
        const ARENA_EAGER_COMMIT: mi_option_t = 4;
        const PURGE_DELAY: mi_option_t = 15;
        // SAFETY: setting an option is sound at any time; this runs before any thread starts.
        unsafe {
            mi_option_set(ARENA_EAGER_COMMIT, 0);
            mi_option_set(PURGE_DELAY, 0);
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|error| error.exit());
    // Worker 0's; `--workers` starts the others.
    let runtime = match docproxy::workers::runtime() {
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
        // Held to the end: its drop writes the last log lines out.
        let _logs = telemetry::init(config.log_format);
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
