//! The PNG validator on any bytes (seeded with the PNG fixtures): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = docproxy::document::validate_png(data) {
        assert!(docproxy::document::REJECTION_REASONS.contains(&e.reason()));
    }
});
