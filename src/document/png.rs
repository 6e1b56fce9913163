//! PNG structural validation (placeholder: being written).

pub const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PngError {
    #[error("truncated")]
    Truncated,
}

impl PngError {
    pub fn reason(&self) -> &'static str {
        "png_truncated"
    }
}

pub fn validate_png(bytes: &[u8]) -> Result<(), PngError> {
    if bytes.len() < 8 { Err(PngError::Truncated) } else { Ok(()) }
}
