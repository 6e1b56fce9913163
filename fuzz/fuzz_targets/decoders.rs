//! The stream decoders on any bytes: never a panic, never more output than
//! the cap they are given, and the content check's two ways one answer. The
//! first byte picks the decoder.
#![no_main]

use docproxy::document::{content, filters};
use libfuzzer_sys::fuzz_target;

/// Small, so the cap itself is exercised.
const CAP: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 | 1 => {
            let mut out = Vec::new();
            if let Ok(len) = filters::lzw(data, pick % 5 == 0, CAP, Some(&mut out)) {
                assert!(len == out.len() && len <= CAP);
            }
        }
        2 => {
            let mut out = Vec::new();
            if let Ok(len) = filters::run_length(data, CAP, Some(&mut out)) {
                assert!(len == out.len() && len <= CAP);
            }
        }
        3 => {
            let _ = filters::check_jpeg(data);
        }
        _ => {
            // The block check answers as the token reader does.
            assert_eq!(
                content::check_content(data),
                content::check_content_token_by_token(data)
            );
        }
    }
});
