//! TLS to the upstream, against a local HTTPS upstream whose certificate is
//! signed by a CA generated here: trusted through --upstream-ca-file, and a
//! distinct, unretried `tls_error` without it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer, pki_types::PrivatePkcs8KeyDer};

use crate::helpers::*;

/// An HTTPS upstream on 127.0.0.1 answering every request with the sample
/// PNG; returns its URL and the PEM of the CA that signed its certificate.
async fn tls_upstream() -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    let cert = params.signed_by(&key, &issuer).unwrap();

    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(|_| async {
                    let response = http::Response::builder()
                        .header("content-type", "image/png")
                        .body(http_body_util::Full::new(bytes::Bytes::from_static(PNG)))
                        .unwrap();
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, ca.pem())
}

#[tokio::test]
async fn an_https_upstream_signed_by_the_configured_ca_is_served() {
    let (url, ca) = tls_upstream().await;
    let ca_file = std::env::temp_dir().join(format!("docproxy-test-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca).unwrap();
    let app = spawn_app_with(&[
        "--upstream-url",
        &url,
        "--upstream-ca-file",
        ca_file.to_str().unwrap(),
    ])
    .await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap(), PNG);
    let _ = std::fs::remove_file(ca_file);
}

#[tokio::test]
async fn an_untrusted_upstream_certificate_is_a_tls_error_and_a_502() {
    let (url, _) = tls_upstream().await;
    let app = spawn_app_with(&["--upstream-url", &url]).await;

    let response = app.get("/1").await;

    assert_eq!(response.status(), 502);
    let body = problem(response).await;
    assert_eq!(body["code"], "upstream_failed");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let attempts: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("docproxy_upstream_attempts_total{"))
        .collect();
    assert!(
        attempts.contains(&"docproxy_upstream_attempts_total{outcome=\"tls_error\"} 1"),
        "one attempt, counted as tls_error and not retried: {attempts:?}"
    );
}
