//! The `healthcheck` subcommand's probe: a tiny HTTP/1.1 GET over a plain TCP
//! stream, because the container image has no curl and needs no HTTP client.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const DEFAULT_URL: &str = "http://127.0.0.1:3000/_dummy/healthz";

#[derive(Debug)]
pub enum ProbeError {
    BadUrl(String),
    Timeout(Duration),
    Io(std::io::Error),
    NotOk(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::BadUrl(url) => {
                write!(
                    f,
                    "unsupported URL {url:?}: expected http://host[:port][/path]"
                )
            }
            ProbeError::Timeout(after) => write!(f, "no answer within {after:?}"),
            ProbeError::Io(error) => write!(f, "{error}"),
            ProbeError::NotOk(status_line) => write!(f, "answered {status_line:?}, not 200"),
        }
    }
}

impl std::error::Error for ProbeError {}

impl From<std::io::Error> for ProbeError {
    fn from(error: std::io::Error) -> Self {
        ProbeError::Io(error)
    }
}

/// GETs `url` and succeeds only on a `200` status, all within `timeout`.
pub async fn probe(url: &str, timeout: Duration) -> Result<(), ProbeError> {
    let (authority, path) = split_url(url).ok_or_else(|| ProbeError::BadUrl(url.to_owned()))?;
    let exchange = async {
        let address = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let mut stream = TcpStream::connect(address).await?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 1024 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let status_line = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        match status_line.split(' ').nth(1) {
            Some("200") if status_line.starts_with("HTTP/1.") => Ok(()),
            _ => Err(ProbeError::NotOk(status_line)),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ProbeError::Timeout(timeout))?
}

/// `http://host:port/path` into (`host:port`, `/path`).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    (!authority.is_empty()).then_some((authority, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url(DEFAULT_URL),
            Some(("127.0.0.1:3000", "/_dummy/healthz"))
        );
        assert_eq!(split_url("http://dummy"), Some(("dummy", "/")));
        assert_eq!(split_url("https://dummy/"), None);
        assert_eq!(split_url("http:///x"), None);
    }
}
