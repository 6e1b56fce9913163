//! The PDF validator on any bytes (seeded with the PDF fixtures): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = docproxy::document::validate_pdf(data) {
        assert!(docproxy::document::REJECTION_REASONS.contains(&e.reason()));
    }
});
