//! The simulator over real TCP, read the way a client meets it.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use dummy_pdf_or_png::{CORRUPT_PDF, Config, PDF, PNG};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(config: Config) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(dummy_pdf_or_png::serve(
        listener,
        config,
        std::future::pending(),
    ));
    addr
}

fn config(args: &[&str]) -> Config {
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        config: Config,
    }
    let mut argv = vec!["dummy"];
    argv.extend_from_slice(args);
    Args::try_parse_from(argv).expect("valid settings").config
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection; the whole answer, or the I/O error a client would see.
async fn request(addr: SocketAddr, method: &str, path: &str) -> io::Result<Answer> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(io::ErrorKind::UnexpectedEof)?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        })
        .collect();
    Ok(Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

async fn get(addr: SocketAddr) -> Answer {
    request(addr, "GET", "/529852").await.expect("an answer")
}

#[tokio::test]
async fn the_mix_is_fifty_forty_ten_labelled_by_extension() {
    let addr = start(config(&["--seed", "7"])).await;
    let (mut png, mut pdf, mut corrupt) = (0, 0, 0);
    for _ in 0..2000 {
        let answer = get(addr).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("content-length").unwrap(),
            answer.body.len().to_string()
        );
        assert!(answer.header("last-modified").is_some());
        match (
            answer.header("content-type").unwrap(),
            answer.body.as_slice(),
        ) {
            ("image/png", b) if b == PNG => png += 1,
            ("application/pdf", b) if b == PDF => pdf += 1,
            ("application/pdf", b) if b == CORRUPT_PDF => corrupt += 1,
            (label, _) => panic!("unexpected {label}"),
        }
    }
    assert!((920..=1080).contains(&png), "png {png}");
    assert!((720..=880).contains(&pdf), "pdf {pdf}");
    assert!((150..=250).contains(&corrupt), "corrupt {corrupt}");
}

#[tokio::test]
async fn a_seed_repeats_the_sequence() {
    let a = start(config(&["--seed", "42"])).await;
    let b = start(config(&["--seed", "42"])).await;
    for _ in 0..50 {
        assert_eq!(get(a).await.body, get(b).await.body);
    }
}

#[tokio::test]
async fn the_path_is_ignored_and_head_has_no_body() {
    let addr = start(config(&["--only", "png"])).await;
    assert_eq!(
        request(addr, "GET", "/any/path?x=1").await.unwrap().body,
        PNG
    );
    let head = request(addr, "HEAD", "/1").await.unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").unwrap(),
        PNG.len().to_string()
    );
    assert!(head.body.is_empty());
    let post = request(addr, "POST", "/1").await.unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn injected_errors_use_the_configured_status() {
    let addr = start(config(&["--error-rate", "1", "--error-status", "500"])).await;
    assert_eq!(get(addr).await.status, 500);
}

#[tokio::test]
async fn an_injected_reset_is_a_tcp_reset() {
    let addr = start(config(&["--reset-rate", "1"])).await;
    let error = request(addr, "GET", "/1").await.err().expect("no answer");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
}

#[tokio::test]
async fn a_truncated_body_is_shorter_than_promised() {
    let addr = start(config(&["--truncate-rate", "1", "--only", "pdf"])).await;
    let answer = get(addr).await;
    assert_eq!(
        answer.header("content-length").unwrap(),
        PDF.len().to_string()
    );
    assert_eq!(answer.body.len(), PDF.len() / 2);
}

#[tokio::test]
async fn a_wrong_type_mislabels_the_document() {
    let addr = start(config(&["--wrong-type-rate", "1", "--only", "png"])).await;
    let answer = get(addr).await;
    assert_eq!(answer.body, PNG);
    assert_eq!(answer.header("content-type"), Some("application/pdf"));
}

#[tokio::test]
async fn a_padded_png_is_served_whole_and_the_pdfs_are_untouched() {
    let addr = start(config(&["--pad-png", "100000", "--only", "png"])).await;
    let answer = get(addr).await;
    assert_eq!(answer.body, dummy_pdf_or_png::padded_png(100_000));
    let length = (PNG.len() + 100_000 + 12).to_string();
    assert_eq!(answer.header("content-length"), Some(length.as_str()));
    assert_eq!(answer.header("content-type"), Some("image/png"));

    let addr = start(config(&["--pad-png", "100000", "--only", "pdf"])).await;
    assert_eq!(get(addr).await.body, PDF);
}

#[tokio::test]
async fn a_dripped_body_arrives_slowly_but_whole() {
    let addr = start(config(&[
        "--drip-rate",
        "1",
        "--drip-interval",
        "5ms",
        "--only",
        "pdf",
    ]))
    .await;
    let started = Instant::now();
    let answer = get(addr).await;
    assert_eq!(answer.body, PDF);
    let pauses = PDF.len().div_ceil(1024) as u32 - 1;
    assert!(
        started.elapsed() >= Duration::from_millis(5) * pauses,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let addr = start(config(&["--latency", "150ms"])).await;
    let started = Instant::now();
    get(addr).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn health_and_metrics_live_under_a_reserved_prefix() {
    let addr = start(config(&["--only", "corrupt-pdf"])).await;
    get(addr).await;
    let health = request(addr, "GET", "/_dummy/healthz").await.unwrap();
    assert_eq!((health.status, health.body.as_slice()), (200, &b"ok\n"[..]));
    let metrics =
        String::from_utf8(request(addr, "GET", "/_dummy/metrics").await.unwrap().body).unwrap();
    assert!(
        metrics.contains("dummy_documents_served_total{kind=\"corrupt_pdf\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("dummy_faults_injected_total{fault=\"reset\"} 0"));
}

#[test]
fn bad_settings_name_the_setting() {
    #[derive(Parser, Debug)]
    struct Args {
        #[command(flatten)]
        config: Config,
    }
    for (flag, bad) in [
        ("--error-rate", "1.5"),
        ("--error-status", "99"),
        ("--latency", "soon"),
        ("--reset-rate", "2"),
    ] {
        let error = Args::try_parse_from(["dummy", flag, bad])
            .unwrap_err()
            .to_string();
        assert!(error.contains(flag), "{flag}: {error}");
    }
}

#[tokio::test]
async fn the_healthcheck_probe_wants_a_200() {
    use dummy_pdf_or_png::healthcheck::probe;
    let addr = start(Config::default()).await;
    let timeout = Duration::from_secs(2);
    probe(&format!("http://{addr}/_dummy/healthz"), timeout)
        .await
        .unwrap();
    assert!(
        probe(&format!("http://{addr}/_dummy/nothing"), timeout)
            .await
            .is_err()
    );
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(
        probe(&format!("http://{closed}/_dummy/healthz"), timeout)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn serve_refuses_settings_out_of_range() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::default();
    config.faults.error_rate = 2.0;
    let error = dummy_pdf_or_png::serve(listener, config, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("--error-rate"), "{error}");
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let addr = start(Config::default()).await;
    let answer = request(addr, "POST", "/1").await.unwrap();
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dummy_pdf_or_png::serve(
        listener,
        Config::default(),
        async {
            let _ = stopped.await;
        },
    ));
    assert_eq!(get(addr).await.status, 200);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn fault_settings_do_not_change_a_seeds_documents() {
    let plain = start(config(&["--seed", "9"])).await;
    let faulty = start(config(&[
        "--seed",
        "9",
        "--wrong-type-rate",
        "1",
        "--drip-rate",
        "0.5",
        "--drip-interval",
        "1ms",
    ]))
    .await;
    for _ in 0..30 {
        assert_eq!(get(plain).await.body, get(faulty).await.body);
    }
}

#[tokio::test]
async fn capacity_mode_answers_503_with_retry_after_beyond_capacity() {
    let addr = start(config(&["--capacity", "2", "--latency", "300ms"])).await;
    let started = Instant::now();
    let answers = futures_util::future::join_all((0..6).map(|_| get(addr))).await;
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 2);
    assert_eq!(refused.len(), 4);
    assert!(refused.iter().all(|a| a.header("retry-after") == Some("1")));
    assert!(started.elapsed() < Duration::from_secs(2));
    // The slots are free again once the answers are done.
    assert_eq!(get(addr).await.status, 200);
    let metrics = request(addr, "GET", "/_dummy/metrics").await.unwrap();
    assert!(String::from_utf8_lossy(&metrics.body).contains("dummy_over_capacity_total 4"));
}

#[tokio::test]
async fn latency_grows_with_the_requests_in_flight() {
    let addr = start(config(&[
        "--latency",
        "300ms",
        "--latency-per-in-flight",
        "200ms",
    ]))
    .await;
    let alone = Instant::now();
    get(addr).await;
    let alone = alone.elapsed();
    let crowd = Instant::now();
    futures_util::future::join_all((0..4).map(|_| get(addr))).await;
    let crowd = crowd.elapsed();
    assert!(alone < Duration::from_millis(450), "{alone:?}");
    // All four overlap (each takes 300 ms at least): the last to arrive waits 300 + 3 x 200 ms.
    assert!(crowd >= Duration::from_millis(850), "{crowd:?}");
}

#[tokio::test]
async fn bad_ids_always_get_their_bad_answer_and_other_ids_do_not() {
    let addr = start(config(&[
        "--only",
        "pdf",
        "--bad-id",
        "7=invalid",
        "--bad-id",
        "8=oversize",
        "--bad-id",
        "9=403",
    ]))
    .await;
    for _ in 0..3 {
        let invalid = request(addr, "GET", "/7").await.unwrap();
        assert_eq!(
            (invalid.status, invalid.body.as_slice()),
            (200, CORRUPT_PDF)
        );
        let oversize = request(addr, "GET", "/8").await.unwrap();
        assert_eq!(oversize.status, 200);
        assert_eq!(oversize.body.len(), 9 << 20);
        assert_eq!(oversize.header("content-length"), Some("9437184"));
        assert_eq!(request(addr, "GET", "/9").await.unwrap().status, 403);
        assert_eq!(request(addr, "GET", "/10").await.unwrap().body, PDF);
    }
}

#[tokio::test]
async fn hostile_mode_serves_each_shape_by_id_with_new_bytes_every_time() {
    let names = ["nested-prev-chain-1.2MB", "trailer-name-array-8MiB"];
    let addr = start(config(&["--hostile", &names.join(",")])).await;
    for (id, name) in names.iter().enumerate() {
        let shape = dummy_pdf_or_png::hostile::full_size(name, 8 << 20).unwrap();
        let path = format!("/{}", 10 + id);
        let (a, b) = (
            request(addr, "GET", &path).await.unwrap(),
            request(addr, "GET", &path).await.unwrap(),
        );
        for answer in [&a, &b] {
            assert_eq!(answer.status, 200);
            assert_eq!(answer.header("content-type"), Some("application/pdf"));
            assert_eq!(answer.body.len(), shape.len(), "{name}");
            let differing = answer.body.iter().zip(&shape).filter(|(x, y)| x != y);
            assert!(differing.count() <= 16, "{name}: only the serial differs");
        }
        assert_ne!(a.body, b.body, "{name}: every copy is new");
    }
    let metrics =
        String::from_utf8(request(addr, "GET", "/_dummy/metrics").await.unwrap().body).unwrap();
    assert!(metrics.contains("dummy_hostile_served_total{shape=\"trailer-name-array-8MiB\"} 2"));
}
