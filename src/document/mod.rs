//! What a document is: its type decided from its bytes, and the structural
//! validation that must pass before a single byte reaches a client.
//!
//! The upstream's Content-Type is never trusted; `validate` is the only way a
//! `DocumentType` comes into being.

mod pdf;
mod png;

pub use pdf::{PdfError, validate_pdf};
pub use png::{PngError, validate_png};

/// The document types docproxy serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Pdf,
    Png,
}

impl DocumentType {
    pub fn mime(self) -> &'static str {
        match self {
            DocumentType::Pdf => "application/pdf",
            DocumentType::Png => "image/png",
        }
    }

    /// Short lowercase name, also the metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Pdf => "pdf",
            DocumentType::Png => "png",
        }
    }
}

/// Why a body was refused. `reason()` is a bounded metric label.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("empty body")]
    Empty,
    #[error("neither a PDF nor a PNG")]
    UnknownFormat,
    #[error("invalid PDF: {0}")]
    Pdf(#[from] PdfError),
    #[error("invalid PNG: {0}")]
    Png(#[from] PngError),
}

impl Rejection {
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::UnknownFormat => "unknown_format",
            Rejection::Pdf(e) => e.reason(),
            Rejection::Png(e) => e.reason(),
        }
    }
}

/// Decides the type from the leading bytes, then validates the whole structure.
pub fn validate(bytes: &[u8]) -> Result<DocumentType, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if bytes.starts_with(png::SIGNATURE) {
        validate_png(bytes)?;
        Ok(DocumentType::Png)
    } else if pdf::looks_like_pdf(bytes) {
        validate_pdf(bytes)?;
        Ok(DocumentType::Pdf)
    } else {
        Err(Rejection::UnknownFormat)
    }
}
