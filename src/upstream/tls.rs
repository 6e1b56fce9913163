//! TLS to the upstream: rustls with the ring provider (aws-lc-rs would need
//! cmake and break the static musl build), trusting the system roots plus an
//! optional PEM bundle (`--upstream-ca-file`), and telling a certificate or
//! handshake failure apart from other connection errors.

use std::path::{Path, PathBuf};

/// Installs ring as the process's rustls provider. reqwest is built without
/// one of its own, so every process that builds a client calls this first;
/// calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("cannot read the upstream CA file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the upstream CA file {path} is not a PEM certificate bundle")]
    Parse {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("the upstream CA file {path} holds no certificate")]
    Empty { path: PathBuf },
}

/// The certificates of a PEM bundle, trusted beside the system roots.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, CaFileError> {
    let pem = std::fs::read(path).map_err(|source| CaFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| CaFileError::Parse {
            path: path.to_owned(),
            source,
        })?;
    if certificates.is_empty() {
        return Err(CaFileError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(certificates)
}

/// The TLS failure behind a request error, if that is what it was: an
/// untrusted or invalid certificate, or a failed handshake. rustls errors
/// reach reqwest inside (nested) `io::Error`s, whose `source()` skips the
/// error they wrap, so an `io::Error` is looked into through `get_ref`.
pub fn tls_failure(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = next {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_be_readable_and_hold_certificates() {
        let missing = Path::new("/nonexistent/docproxy-ca.pem");
        assert!(matches!(
            load_ca_file(missing),
            Err(CaFileError::Read { .. })
        ));
        let path =
            std::env::temp_dir().join(format!("docproxy-not-a-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = load_ca_file(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(error, CaFileError::Empty { .. } | CaFileError::Parse { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("docproxy-not-a-ca"), "{error}");
    }
}
