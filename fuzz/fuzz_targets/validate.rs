//! `validate` on any bytes: never panics, and a document it accepts has the
//! type its leading bytes announce (a PDF's header within the first 1,024).
#![no_main]

use docproxy::document::{DocumentType, REJECTION_REASONS, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match validate(data) {
        Ok(DocumentType::Pdf) => assert!(data[..data.len().min(1024)].windows(5).any(|w| w == b"%PDF-")),
        Ok(DocumentType::Png) => assert!(data.starts_with(b"\x89PNG\r\n\x1a\n")),
        Err(e) => assert!(REJECTION_REASONS.contains(&e.reason())),
    }
});
