//! Starting docproxy in a test: the one place tests build and run the
//! application. Shared by the test binaries with `mod common;`.

use clap::Parser;
use docproxy::Application;
use docproxy::config::Cli;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A docproxy serving on an ephemeral port. Dropping it stops the server.
pub struct Running {
    pub address: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Starts docproxy on 127.0.0.1 with these command-line settings. Logs only
/// on request: `TEST_LOG=1 cargo test`.
pub async fn start_docproxy(args: &[&str]) -> Running {
    // One worker, the test's own runtime, unless a test asks for more: paused
    // time reaches no other thread's runtime.
    let mut argv = vec!["docproxy", "--listen", "127.0.0.1:0"];
    if !args.contains(&"--workers") {
        argv.extend_from_slice(&["--workers", "1"]);
    }
    argv.extend_from_slice(args);
    let config = Cli::try_parse_from(argv)
        .expect("test settings parse")
        .config;
    config.validate().expect("test settings are valid");
    if std::env::var_os("TEST_LOG").is_some() {
        // The first call installs the subscriber; its log writer then runs
        // until the test process ends, so its flusher is never dropped.
        if let Some(flusher) = docproxy::telemetry::init(config.log_format) {
            std::mem::forget(flusher);
        }
    }
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Running {
        address,
        stop,
        server,
    }
}

impl Running {
    /// The Prometheus text `/metrics` answers now.
    // Not every test binary that shares this module scrapes.
    #[allow(dead_code)]
    pub async fn metrics(&self, client: &reqwest::Client) -> String {
        client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("/metrics answers")
            .text()
            .await
            .expect("/metrics has a body")
    }

    /// Sends the shutdown signal and waits for the server to drain and stop.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.server.await.expect("server task does not panic")
    }
}
