//! Encrypted PDFs from real producers (tests/fixtures/encrypted, made by
//! scripts/fixtures/generate.py): those that open with the empty user
//! password are decrypted and fully verified; those that need a password are
//! verified by structure, and served or refused as `--encrypted-pdf` says.

use std::path::PathBuf;

use docproxy::document::{DocumentType, EncryptedPdf, Limits, Verification, validate_with};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encrypted");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("the encrypted fixtures")
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 12, "fixtures missing: {}", files.len());
    files
}

/// What the producers' settings mean: these need a password to open.
fn needs_password(name: &str) -> bool {
    name.contains("user-password") || name.starts_with("libreoffice-open-password")
}

#[test]
fn every_encrypted_fixture_is_served_with_the_verification_its_password_allows() {
    for (name, bytes) in fixtures() {
        let verdict = validate_with(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{name} refused: {e}"));
        assert_eq!(verdict.doc_type, DocumentType::Pdf, "{name}");
        let expected = if needs_password(&name) {
            Verification::Structure
        } else {
            Verification::Full
        };
        assert_eq!(verdict.verification, expected, "{name}");
    }
}

#[test]
fn refuse_refuses_only_what_needs_a_password() {
    let refuse = Limits {
        encrypted_pdf: EncryptedPdf::Refuse,
        ..Limits::default()
    };
    for (name, bytes) in fixtures() {
        let result = validate_with(&bytes, &refuse).map_err(|e| e.reason());
        if needs_password(&name) {
            assert_eq!(result, Err("pdf_encrypted"), "{name}");
        } else {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
}

/// The data of the first Flate stream that is not an xref stream.
fn flate_stream_data(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"stream").map(|i| i + from) {
        from = at + 6;
        if bytes[..at].ends_with(b"end") {
            continue;
        }
        let dict_start = bytes[..at].windows(3).rposition(|w| w == b"obj")?;
        let dict = &bytes[dict_start..at];
        let start = at
            + if bytes[at + 6..].starts_with(b"\r\n") {
                8
            } else {
                7
            };
        let end = find(&bytes[start..], b"endstream")? + start;
        if find(dict, b"/FlateDecode").is_some()
            && find(dict, b"/XRef").is_none()
            && end > start + 40
        {
            return Some(start..end);
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn damage_inside_a_decrypted_stream_is_refused() {
    let mut checked = 0;
    for (name, bytes) in fixtures().into_iter().filter(|(n, _)| !needs_password(n)) {
        let Some(range) = flate_stream_data(&bytes) else {
            continue;
        };
        // A flip in the last cipher block breaks AES padding or the
        // deflate stream's end; one in the middle garbles what inflates.
        for at in [range.start + (range.end - range.start) / 2, range.end - 3] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(
                validate_with(&damaged, &Limits::default()).is_err(),
                "{name}: a flip at {at} inside encrypted stream data {range:?} was served"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 8,
        "only {checked} files had a Flate stream to damage"
    );
}

#[test]
fn truncation_of_a_sealed_document_is_refused() {
    for (name, bytes) in fixtures().into_iter().filter(|(n, _)| needs_password(n)) {
        for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
            assert!(
                validate_with(&bytes[..cut], &Limits::default()).is_err(),
                "{name} cut at {cut} was served"
            );
        }
    }
}
