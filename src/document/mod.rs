//! What a document is: its type decided from its bytes, and the structural
//! validation that must pass before a single byte reaches a client.
//!
//! The upstream's Content-Type is never trusted; `validate` is the only way a
//! `DocumentType` comes into being. What is checked, and why: docs/VALIDATION.md.

pub mod content;
pub mod filters;
mod pdf;
mod png;
mod security;
mod syntax;

pub use pdf::{PdfError, WORK_PER_BODY_BYTE, validate_pdf, validate_pdf_with};
pub use png::{PngError, validate_png, validate_png_with};

/// Where a validation draws the memory it holds besides the body: tables,
/// decoded xref, object and content streams, parsed values, zlib state. In
/// the proxy it is the byte budget the body is reserved in, so validation
/// working memory is bounded and accounted like the body itself.
///
/// `grow_to` is called with the total accounted so far, which only rises,
/// before the memory is used; `false` refuses it and stops the validation
/// (`ValidationError::OutOfMemory`). What is accounted is an upper bound of
/// what is allocated: `tests/hostile.rs` measures both for every hostile
/// shape and fixture (docs/VALIDATION.md, "Work and memory bounds").
pub trait MemoryGrant {
    fn grow_to(&mut self, total: u64) -> bool;
}

impl<F: FnMut(u64) -> bool> MemoryGrant for F {
    fn grow_to(&mut self, total: u64) -> bool {
        self(total)
    }
}

/// A grant that never refuses: for callers without a budget (tests, fuzzing).
pub(crate) fn unmetered(_: u64) -> bool {
    true
}

/// The caps one validation runs under. They bound work, not correctness: a
/// body over a cap is refused (`pdf_limit`, `png_ihdr`) although it may be
/// sound. `Default` is the shipped configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes one document may inflate to in total: all of a PDF's Flate
    /// streams, a PNG's image and every APNG frame.
    pub max_inflated_bytes: u64,
    /// Decoded scanline bytes of one PNG image, checked at IHDR before any
    /// inflating.
    pub max_png_image_bytes: u64,
    /// What to do with an encrypted PDF that needs a password to open.
    pub encrypted_pdf: EncryptedPdf,
}

/// `--encrypted-pdf`: an encrypted PDF that opens without a password is
/// decrypted and fully verified either way; one that needs a password can
/// only be verified by structure, and is served (`Serve`) or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EncryptedPdf {
    #[default]
    Serve,
    Refuse,
}

/// How much of a served document was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Every check in docs/VALIDATION.md ran on the whole document.
    Full,
    /// An encrypted PDF that needs a password: its structure was checked
    /// (header, cross-reference sections, every object's framing, stream
    /// lengths, the encryption dictionary), its stream contents could not be.
    Structure,
}

impl Verification {
    /// The `verification` label of the served-documents metric and log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Full => "full",
            Verification::Structure => "structure",
        }
    }
}

/// What validation proved about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub doc_type: DocumentType,
    pub verification: Verification,
}

impl Limits {
    /// The shipped caps: 1 GiB each, so real scans pass (three A4 pages at
    /// 600 dpi inflate to about 313 MB; a 12000x12000 RGB PNG is 432 MB).
    pub const DEFAULT_CAP: u64 = 1 << 30;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated_bytes: Self::DEFAULT_CAP,
            max_png_image_bytes: Self::DEFAULT_CAP,
            encrypted_pdf: EncryptedPdf::Serve,
        }
    }
}

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

/// Every value `Rejection::reason()` can return, for pre-registering metrics.
pub const REJECTION_REASONS: &[&str] = &[
    "empty",
    "unknown_format",
    "png_signature",
    "png_ihdr",
    "png_chunk_crc",
    "png_chunk_layout",
    "png_missing_idat",
    "png_missing_iend",
    "png_truncated",
    "png_image_data",
    "pdf_header",
    "pdf_eof_marker",
    "pdf_startxref",
    "pdf_xref",
    "pdf_trailer",
    "pdf_root",
    "pdf_page_tree",
    "pdf_object",
    "pdf_stream",
    "pdf_truncated",
    "pdf_encrypted",
    "pdf_limit",
];

/// Why a body was refused. `reason()` is a bounded metric label.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
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

/// Why validation gave no verdict: the body is unsound, or the memory it
/// needed was refused (the byte budget is spent; the body may be sound).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    #[error(transparent)]
    Invalid(#[from] Rejection),
    #[error("the memory grant for validation was refused")]
    OutOfMemory,
}

/// Decides the type from the leading bytes, then validates the whole
/// structure, under the default [`Limits`].
pub fn validate(bytes: &[u8]) -> Result<DocumentType, Rejection> {
    validate_with(bytes, &Limits::default()).map(|verdict| verdict.doc_type)
}

/// [`validate`] under the given caps.
pub fn validate_with(bytes: &[u8], limits: &Limits) -> Result<Verdict, Rejection> {
    validate_within(bytes, limits, &mut unmetered).map_err(|e| match e {
        ValidationError::Invalid(rejection) => rejection,
        ValidationError::OutOfMemory => unreachable!("an unmetered grant never refuses"),
    })
}

/// [`validate_with`], drawing its working memory from `grant`.
pub fn validate_within(
    bytes: &[u8],
    limits: &Limits,
    grant: &mut dyn MemoryGrant,
) -> Result<Verdict, ValidationError> {
    let mut refused = false;
    let mut metered = |total| {
        let granted = grant.grow_to(total);
        refused |= !granted;
        granted
    };
    let verdict = if bytes.is_empty() {
        Err(Rejection::Empty)
    } else if bytes.starts_with(png::SIGNATURE) {
        if !metered(png::WORKING_MEMORY) {
            return Err(ValidationError::OutOfMemory);
        }
        validate_png_with(bytes, limits)
            .map(|()| Verdict {
                doc_type: DocumentType::Png,
                verification: Verification::Full,
            })
            .map_err(Rejection::Png)
    } else if pdf::header_offset(bytes).is_some() {
        pdf::validate_pdf_within(bytes, limits, &mut metered)
            .map(|verification| Verdict {
                doc_type: DocumentType::Pdf,
                verification,
            })
            .map_err(Rejection::Pdf)
    } else {
        Err(Rejection::UnknownFormat)
    };
    if refused {
        return Err(ValidationError::OutOfMemory);
    }
    Ok(verdict?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_a_registered_label() {
        let all = [Rejection::Empty, Rejection::UnknownFormat]
            .into_iter()
            .chain(PdfError::examples().into_iter().map(Rejection::Pdf))
            .chain(PngError::examples().into_iter().map(Rejection::Png));
        let mut seen = std::collections::HashSet::new();
        for rejection in all {
            assert!(
                REJECTION_REASONS.contains(&rejection.reason()),
                "{} missing",
                rejection.reason()
            );
            seen.insert(rejection.reason());
        }
        assert_eq!(
            seen.len(),
            REJECTION_REASONS.len(),
            "a listed reason is never produced"
        );
    }

    #[test]
    fn decides_by_bytes() {
        assert_eq!(validate(b""), Err(Rejection::Empty));
        assert_eq!(
            validate(b"<!DOCTYPE html><html>502</html>"),
            Err(Rejection::UnknownFormat)
        );
        assert_eq!(
            validate(b"%PDF-1.4\n%%EOF\n").unwrap_err().reason(),
            "pdf_startxref"
        );
        assert_eq!(
            validate(b"\x89PNG\r\n\x1a\n").unwrap_err().reason(),
            "png_missing_idat"
        );
    }
}
