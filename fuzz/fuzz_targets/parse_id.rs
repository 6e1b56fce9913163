//! The id parser on any string: never panics, and accepts exactly 1 to 20
//! ASCII digits whose value fits in a u64.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let expected = (1..=20).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
    match docproxy::routes::parse_id(raw) {
        Ok(id) => {
            assert!(expected, "accepted {raw:?}");
            assert_eq!(raw.trim_start_matches('0').parse::<u64>().unwrap_or(0), id);
        }
        Err(_) => assert!(!expected || raw.parse::<u64>().is_err(), "refused {raw:?}"),
    }
});
