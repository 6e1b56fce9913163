//! The processes under test: the release `docproxy` and `dummy-pdf-or-png`
//! binaries started as children on 127.0.0.1, waited on until they answer,
//! measured through /proc, signalled, and killed when dropped.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where the release binaries live: beside this xtask binary.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub dir: PathBuf,
}

impl Binaries {
    pub fn locate() -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let dir = exe
            .parent()
            .ok_or("xtask binary has no directory")?
            .to_path_buf();
        for name in ["docproxy", "dummy-pdf-or-png"] {
            if !dir.join(name).is_file() {
                return Err(format!(
                    "{} is missing: run `cargo build --release --bins -p docproxy -p dummy-pdf-or-png -p xtask` first",
                    dir.join(name).display()
                ));
            }
        }
        Ok(Binaries { dir })
    }

    pub fn docproxy(&self) -> PathBuf {
        self.dir.join("docproxy")
    }

    pub fn dummy(&self) -> PathBuf {
        self.dir.join("dummy-pdf-or-png")
    }
}

/// A free port on 127.0.0.1 (bound, read, released: another process could
/// take it in between, which on a quiet test machine does not happen).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// A child process that is killed when dropped, so a failed scenario never
/// leaves a server behind.
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    child: Option<Child>,
}

impl Server {
    /// Starts `program args...` with stdout and stderr appended to `log`.
    pub fn start(
        name: &'static str,
        program: &Path,
        args: &[String],
        port: u16,
        log: &Path,
    ) -> Result<Self, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start {}: {e}", program.display()))?;
        Ok(Server {
            name,
            port,
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `path` answers 200, or fails after `within`.
    pub async fn wait_ready(&mut self, path: &str, within: Duration) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(500))
            .build()
            .expect("client");
        let url = format!("{}{path}", self.base_url());
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(status) = self.try_wait() {
                return Err(format!("{} exited early: {status}", self.name));
            }
            if let Ok(resp) = client.get(&url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "{} did not answer {url} within {within:?}",
            self.name
        ))
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sends SIGTERM (a polite stop, as Kubernetes does).
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(child.id() as libc::pid_t, signal);
            }
        }
    }

    /// Waits for the process to exit, up to `within`; None if it is still running.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGKILL and reap: the abrupt death of an upstream.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Peak resident set size (VmHWM) in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmHWM:").map(|kib| kib * 1024)
    }

    /// Current resident set size (VmRSS) in bytes.
    pub fn rss(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmRSS:").map(|kib| kib * 1024)
    }
}

impl Drop for Server {
    /// SIGTERM first, so a master process (nginx) stops its workers rather
    /// than orphaning them; SIGKILL if it is not gone within 3 s.
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            self.terminate();
            let start = Instant::now();
            while self.try_wait().is_none() && start.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.kill();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Starts the dummy upstream on `port` with extra fault-injection flags.
pub async fn start_dummy(
    bins: &Binaries,
    port: u16,
    flags: &[String],
    log: &Path,
) -> Result<Server, String> {
    let mut args = vec!["--listen".to_string(), format!("127.0.0.1:{port}")];
    args.extend_from_slice(flags);
    let mut server = Server::start("dummy-pdf-or-png", &bins.dummy(), &args, port, log)?;
    server
        .wait_ready("/_dummy/healthz", Duration::from_secs(10))
        .await?;
    Ok(server)
}

/// Starts docproxy on a free port in front of `upstream_port`.
pub async fn start_docproxy(
    bins: &Binaries,
    upstream_port: u16,
    flags: &[String],
    log: &Path,
) -> Result<Server, String> {
    let port = free_port();
    let mut args = vec![
        "--listen".to_string(),
        format!("127.0.0.1:{port}"),
        "--upstream-url".to_string(),
        format!("http://127.0.0.1:{upstream_port}"),
    ];
    args.extend_from_slice(flags);
    let mut server = Server::start("docproxy", &bins.docproxy(), &args, port, log)?;
    server
        .wait_ready("/healthz", Duration::from_secs(10))
        .await?;
    Ok(server)
}
