//! `validate` on any bytes: never panics, and a document it accepts has the
//! type its leading bytes announce.
#![no_main]

use docproxy::document::{DocumentType, REJECTION_REASONS, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match validate(data) {
        Ok(DocumentType::Pdf) => assert!(data.starts_with(b"%PDF-")),
        Ok(DocumentType::Png) => assert!(data.starts_with(b"\x89PNG\r\n\x1a\n")),
        Err(e) => assert!(REJECTION_REASONS.contains(&e.reason())),
    }
});
