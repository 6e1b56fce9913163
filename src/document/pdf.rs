//! PDF structural validation (placeholder: being written).

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PdfError {
    #[error("truncated")]
    Truncated,
}

impl PdfError {
    pub fn reason(&self) -> &'static str {
        "pdf_truncated"
    }
}

pub(crate) fn looks_like_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

pub fn validate_pdf(bytes: &[u8]) -> Result<(), PdfError> {
    if bytes.len() < 8 { Err(PdfError::Truncated) } else { Ok(()) }
}
