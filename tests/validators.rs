//! The document validators against real producers' files (tests/fixtures/,
//! written by scripts/fixtures/generate.py) and against the damage a proxy
//! meets: truncation, bit flips, shifted offsets, lossy text decoding, error
//! pages. Every fixture must be accepted; every damaged variant refused.

use std::path::Path;

use docproxy::document::{
    DocumentType, PdfError, PngError, REJECTION_REASONS, Rejection, validate,
};
use proptest::prelude::*;

fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("fixture readable"))
        })
        .collect();
    files.sort();
    files
}

fn all_fixtures() -> Vec<(String, Vec<u8>, DocumentType)> {
    let pdfs = fixtures("pdf")
        .into_iter()
        .map(|(n, b)| (n, b, DocumentType::Pdf));
    let pngs = fixtures("png")
        .into_iter()
        .map(|(n, b)| (n, b, DocumentType::Png));
    pdfs.chain(pngs).collect()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[track_caller]
fn assert_rejected(name: &str, what: &str, bytes: &[u8]) -> Rejection {
    match validate(bytes) {
        Ok(t) => panic!("{name}: {what}: accepted as {t:?}"),
        Err(e) => {
            assert!(
                REJECTION_REASONS.contains(&e.reason()),
                "{name}: unlisted reason {}",
                e.reason()
            );
            e
        }
    }
}

// --- Acceptance --------------------------------------------------------------

#[test]
fn every_real_producer_fixture_is_accepted_with_its_type() {
    let all = all_fixtures();
    assert!(
        all.iter().filter(|f| f.2 == DocumentType::Pdf).count() >= 10,
        "PDF fixtures missing"
    );
    assert!(
        all.iter().filter(|f| f.2 == DocumentType::Png).count() >= 10,
        "PNG fixtures missing"
    );
    for (name, bytes, expected) in &all {
        assert_eq!(validate(bytes).as_ref(), Ok(expected), "{name}");
    }
}

/// The upstream simulator's documents: what docproxy meets in every
/// environment, so they pin the validators' behaviour end to end.
#[test]
fn dummy_upstream_documents_are_judged_right() {
    assert_eq!(validate(dummy_pdf_or_png::PDF), Ok(DocumentType::Pdf));
    assert_eq!(validate(dummy_pdf_or_png::PNG), Ok(DocumentType::Png));
    let e = assert_rejected("dummy", "CORRUPT_PDF", dummy_pdf_or_png::CORRUPT_PDF);
    assert!(e.reason().starts_with("pdf_"), "{e}");
    // The same damage built here from the good PDF is refused too.
    assert_rejected(
        "dummy",
        "lossy PDF",
        &lossy(dummy_pdf_or_png::PDF, true, true),
    );
}

#[test]
fn manifest_describes_every_fixture() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/MANIFEST.md"),
    )
    .expect("tests/fixtures/MANIFEST.md (written by scripts/fixtures/generate.py)");
    for (kind, names) in [("pdf", fixtures("pdf")), ("png", fixtures("png"))] {
        for (name, _) in names {
            assert!(
                manifest.contains(&format!("`{kind}/{name}`")),
                "{kind}/{name} missing from MANIFEST.md"
            );
        }
    }
}

#[test]
fn type_comes_from_the_bytes_and_mime_matches() {
    for (name, bytes, expected) in all_fixtures() {
        let t = validate(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t, expected);
        let mime = match expected {
            DocumentType::Pdf => "application/pdf",
            DocumentType::Png => "image/png",
        };
        assert_eq!(t.mime(), mime);
    }
}

#[test]
fn trailing_whitespace_after_eof_marker_is_accepted() {
    let (name, mut pdf) = fixtures("pdf").remove(0);
    pdf.extend_from_slice(b"\r\n\0\n");
    assert_eq!(validate(&pdf), Ok(DocumentType::Pdf), "{name}");
}

// --- Truncation --------------------------------------------------------------

/// Offsets to cut at: every one near both ends, a stride in between.
fn cut_points(len: usize) -> impl Iterator<Item = usize> {
    (0..len).filter(move |&i| i < 96 || i + 96 > len || i % 7 == 0)
}

#[test]
fn every_truncated_png_is_rejected() {
    for (name, png) in fixtures("png") {
        for cut in 0..png.len() {
            assert_rejected(&name, &format!("cut at {cut}"), &png[..cut]);
        }
    }
}

#[test]
fn truncated_pdfs_are_rejected_unless_cut_at_an_earlier_revision() {
    for (name, pdf) in fixtures("pdf") {
        for cut in cut_points(pdf.len()) {
            let prefix = &pdf[..cut];
            let trimmed = prefix.trim_ascii_end();
            if trimmed.ends_with(b"%%EOF") && validate(prefix).is_ok() {
                // An incremental update cut off whole leaves the previous
                // revision, which is a complete PDF in its own right.
                continue;
            }
            assert_rejected(&name, &format!("cut at {cut}"), prefix);
        }
    }
}

#[test]
fn truncation_just_before_the_end_is_an_eof_marker_rejection() {
    for (name, pdf) in fixtures("pdf") {
        let end = pdf.trim_ascii_end().len();
        let e = assert_rejected(&name, "cut in %%EOF", &pdf[..end - 2]);
        assert_eq!(e, Rejection::Pdf(PdfError::EofMarker), "{name}");
    }
}

// --- Bit flips ---------------------------------------------------------------

#[test]
fn every_single_bit_flip_in_a_png_is_rejected() {
    for (name, png) in fixtures("png") {
        for pos in 0..png.len() {
            let mut damaged = png.clone();
            damaged[pos] ^= 1 << (pos % 8);
            assert_rejected(&name, &format!("bit flip at {pos}"), &damaged);
        }
    }
}

#[test]
fn crc_damage_is_reported_as_such() {
    for (name, png) in fixtures("png") {
        let mut damaged = png.clone();
        let last = damaged.len() - 1; // IEND's CRC
        damaged[last] ^= 0x40;
        let e = assert_rejected(&name, "IEND CRC", &damaged);
        assert_eq!(e.reason(), "png_chunk_crc", "{name}");
    }
}

/// Data ranges of the streams whose only or first filter is FlateDecode.
fn flate_streams(pdf: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while let Some(hit) = find(pdf, b"/FlateDecode", at) {
        at = hit + 1;
        let before = pdf[..hit].trim_ascii_end();
        let before = before.strip_suffix(b"[").unwrap_or(before).trim_ascii_end();
        if !before.ends_with(b"/Filter") {
            continue;
        }
        let Some(kw) = find(pdf, b"stream", hit) else {
            continue;
        };
        let mut start = kw + b"stream".len();
        if pdf[start] == b'\r' {
            start += 1;
        }
        if pdf[start] == b'\n' {
            start += 1;
        }
        let Some(end) = find(pdf, b"endstream", start) else {
            continue;
        };
        if end > start {
            ranges.push(start..end);
        }
    }
    ranges
}

fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[test]
fn bit_flips_inside_ascii85_flate_streams_are_rejected() {
    let (name, pdf) = fixtures("pdf")
        .into_iter()
        .find(|(n, _)| n == "reportlab-image.pdf")
        .unwrap();
    let at = find(&pdf, b"/ASCII85Decode /FlateDecode", 0).expect("reportlab's image filter chain");
    let start = find(&pdf, b"stream\n", at).unwrap() + 7;
    let end = find(&pdf, b"~>", start).unwrap() + 2;
    for pos in (start..end).step_by(3) {
        let mut damaged = pdf.clone();
        damaged[pos] ^= 1 << (pos % 8);
        assert_rejected(
            &name,
            &format!("bit flip at {pos} in ASCII85 data"),
            &damaged,
        );
    }
}

#[test]
fn bit_flips_inside_flate_streams_are_rejected() {
    let mut streams_damaged = 0;
    for (name, pdf) in fixtures("pdf") {
        for range in flate_streams(&pdf) {
            let len = range.len();
            for k in 0..8 {
                let pos = range.start + (len * k) / 8;
                let mut damaged = pdf.clone();
                damaged[pos] ^= 1 << k;
                if validate(&damaged).is_ok() {
                    // Only a flip in the padding bits of the last deflate
                    // byte may pass: it changes nothing a reader decodes.
                    assert_eq!(
                        inflate(&damaged[range.clone()]),
                        inflate(&pdf[range.clone()]),
                        "{name}: flip at {pos}"
                    );
                    assert!(
                        inflate(&pdf[range.clone()]).is_some(),
                        "{name}: stream {range:?}"
                    );
                }
            }
            streams_damaged += 1;
        }
    }
    assert!(
        streams_damaged >= 30,
        "only {streams_damaged} Flate streams found in the fixtures"
    );
}

// --- Offsets -----------------------------------------------------------------

#[test]
fn shifted_classic_xref_entries_are_rejected() {
    let mut entries_shifted = 0;
    for (name, pdf) in fixtures("pdf") {
        // Entries of every classic table: `nnnnnnnnnn ggggg n`.
        let mut at = 0;
        while let Some(hit) = find(&pdf, b" n", at) {
            at = hit + 2;
            let Some(start) = hit.checked_sub(16) else {
                continue;
            };
            let entry = &pdf[start..hit];
            let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
            if !(digits(&entry[..10]) && entry[10] == b' ' && digits(&entry[11..])) {
                continue;
            }
            let offset: usize = std::str::from_utf8(&entry[..10]).unwrap().parse().unwrap();
            for shifted in [offset - 1, offset + 1] {
                let mut damaged = pdf.clone();
                damaged[start..start + 10].copy_from_slice(format!("{shifted:010}").as_bytes());
                let e = assert_rejected(
                    &name,
                    &format!("entry at {start} shifted to {shifted}"),
                    &damaged,
                );
                assert_eq!(e.reason(), "pdf_xref", "{name}: {e}");
            }
            entries_shifted += 1;
        }
    }
    assert!(
        entries_shifted >= 50,
        "only {entries_shifted} classic xref entries found"
    );
}

#[test]
fn shifted_startxref_is_rejected() {
    for (name, pdf) in fixtures("pdf") {
        let at = rfind(&pdf, b"startxref").expect("startxref") + b"startxref".len();
        let digits_start = at + pdf[at..].iter().position(u8::is_ascii_digit).unwrap();
        let digits_len = pdf[digits_start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let value: usize = std::str::from_utf8(&pdf[digits_start..digits_start + digits_len])
            .unwrap()
            .parse()
            .unwrap();
        for shifted in [value - 1, value + 1, value + 1000, 0] {
            let mut damaged = pdf[..digits_start].to_vec();
            damaged.extend_from_slice(shifted.to_string().as_bytes());
            damaged.extend_from_slice(&pdf[digits_start + digits_len..]);
            assert_rejected(&name, &format!("startxref {shifted}"), &damaged);
        }
    }
}

#[test]
fn a_byte_inserted_or_removed_in_the_body_is_rejected() {
    for (name, pdf) in fixtures("pdf") {
        let first_obj = find(&pdf, b" 0 obj", 0).expect("an object");
        for at in [first_obj, pdf.len() / 2] {
            let mut inserted = pdf.clone();
            inserted.insert(at, b' ');
            assert_rejected(&name, &format!("space inserted at {at}"), &inserted);
        }
        let mut removed = pdf.clone();
        removed.remove(pdf.len() / 3);
        assert_rejected(&name, "byte removed", &removed);
    }
}

// --- Lossy text decoding, error pages ----------------------------------------

/// What a proxy that handles the body as text does to it: invalid UTF-8
/// becomes U+FFFD (EF BF BD), CRs become LFs, and a hand-"fixed" root.
fn lossy(bytes: &[u8], cr_to_lf: bool, zero_root: bool) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if cr_to_lf {
        text = text.replace('\r', "\n");
    }
    if zero_root {
        if let Some(at) = text.find("/Root ") {
            let end = at + text[at..].find(" R").unwrap_or(6);
            text.replace_range(at..end, "/Root 00 0");
        }
    }
    text.into_bytes()
}

#[test]
fn lossy_utf8_damage_is_rejected() {
    let mut changed = 0;
    for (name, bytes, _) in all_fixtures() {
        for (cr, root) in [(false, false), (true, false), (true, true)] {
            let damaged = lossy(&bytes, cr, root);
            if damaged == bytes {
                continue;
            }
            changed += 1;
            assert_rejected(
                &name,
                &format!("lossy utf-8 (cr_to_lf {cr}, zero root {root})"),
                &damaged,
            );
        }
    }
    assert!(
        changed >= 60,
        "only {changed} lossy variants differ from their fixture"
    );
}

#[test]
fn zeroed_root_reference_is_a_root_rejection() {
    let (name, pdf) = fixtures("pdf")
        .into_iter()
        .find(|(n, _)| n == "reportlab-uncompressed.pdf")
        .unwrap();
    let root_at = rfind(&pdf, b"/Root ").unwrap();
    // Same length: "/Root 7 0 R" becomes "/Root 0 0 R", object 0 is always free.
    let mut damaged = pdf.clone();
    damaged[root_at + 6] = b'0';
    let e = assert_rejected(&name, "root 0", &damaged);
    assert_eq!(e.reason(), "pdf_root", "{e}");
}

#[test]
fn non_documents_are_rejected() {
    let late_header = [vec![b' '; 1024], b"%PDF-1.4\n".to_vec()].concat();
    let cases: [(&[u8], &str); 7] = [
        (&late_header, "unknown_format"),
        (b"", "empty"),
        (
            b"<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>\n",
            "unknown_format",
        ),
        (b"{\"error\":\"not found\"}", "unknown_format"),
        // Leading bytes before the header are tolerated (VALIDATION.md), so this
        // is a PDF, and a truncated one.
        (b"  %PDF-1.4\n", "pdf_eof_marker"),
        (b"%PDF-1.4\n", "pdf_eof_marker"),
        (b"\x89PNG\r\n\x1a\n", "png_missing_idat"),
    ];
    for (bytes, reason) in cases {
        assert_eq!(
            assert_rejected("literal", "non-document", bytes).reason(),
            reason,
            "{bytes:?}"
        );
    }
}

// --- Hand-built PDFs: the structural rules one by one ------------------------

/// A one-page PDF with correct offsets; `extra` objects are appended after
/// the catalog (as `(num, body)`), `trailer_extra` goes into the trailer.
fn build_pdf(root_body: &str, extra: &[(u32, &str)], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut objects = vec![(1u32, root_body.to_string())];
    objects.extend(extra.iter().map(|(n, b)| (*n, b.to_string())));
    let mut offsets = Vec::new();
    for (num, body) in &objects {
        offsets.push((*num, out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let size = objects.iter().map(|o| o.0).max().unwrap_or(0) + 1;
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for num in 1..size {
        match offsets.iter().find(|o| o.0 == num) {
            Some((_, off)) => out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 00000 f \n"),
        }
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

fn flate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

const CATALOG: &str = "<< /Type /Catalog /Pages 2 0 R >>";
const PAGES: &str = "<< /Type /Pages /Kids [] /Count 0 >>";

#[test]
fn minimal_hand_built_pdf_is_accepted() {
    let pdf = build_pdf(CATALOG, &[(2, PAGES)], "");
    assert_eq!(
        validate(&pdf),
        Ok(DocumentType::Pdf),
        "{}",
        String::from_utf8_lossy(&pdf)
    );
}

#[test]
fn structural_rules_are_enforced() {
    let reason = |pdf: &[u8]| validate(pdf).map_err(|e| e.reason());
    assert_eq!(
        reason(&build_pdf("<< /Type /Pages >>", &[], "")),
        Err("pdf_root")
    );
    assert_eq!(reason(&build_pdf("[1 2 3]", &[], "")), Err("pdf_root"));
    assert_eq!(
        reason(&build_pdf(CATALOG, &[(2, "<< /A (unterminated >>")], "")),
        Err("pdf_object")
    );
    assert_eq!(
        reason(&build_pdf(CATALOG, &[(2, &"[".repeat(10_000))], "")),
        Err("pdf_object")
    );
    assert_eq!(
        reason(&build_pdf(CATALOG, &[(2, PAGES)], "/Encrypt << >>")),
        Err("pdf_encrypted")
    );
    // A /Prev loop: the section points at itself.
    let pdf = build_pdf(CATALOG, &[(2, PAGES)], "/Prev XREF");
    let xref = rfind(&pdf, b"xref\n0 ").unwrap();
    let text = String::from_utf8(pdf)
        .unwrap()
        .replace("/Prev XREF", &format!("/Prev {xref:<4}"));
    assert_eq!(reason(text.as_bytes()), Err("pdf_xref"));
    // An xref entry pointing inside another object (here into a string that
    // happens to look like an object) is refused.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let one = pdf.len();
    pdf.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /X (2 0 obj\n(x)\nendobj) >>\nendobj\n");
    let two = find(&pdf, b"2 0 obj", 0).unwrap();
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 3\n0000000000 65535 f \n{one:010} 00000 n \n{two:010} 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    assert_eq!(reason(&pdf), Err("pdf_xref"));
    // Trailing garbage after %%EOF, or the header somewhere else.
    let mut pdf = build_pdf(CATALOG, &[(2, PAGES)], "");
    pdf.extend_from_slice(b"<html>");
    assert_eq!(reason(&pdf), Err("pdf_eof_marker"));
    let pdf = build_pdf(CATALOG, &[(2, PAGES)], "");
    let mut versioned = pdf.clone();
    versioned[5..8].copy_from_slice(b"3.0");
    assert_eq!(reason(&versioned), Err("pdf_header"));
}

#[test]
fn the_page_tree_must_be_whole() {
    let reason = |catalog: &str, objects: &[(u32, &str)]| {
        validate(&build_pdf(catalog, objects, "")).map_err(|e| e.reason())
    };
    let page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>";
    let one_page = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
    assert_eq!(
        reason(CATALOG, &[(2, one_page), (3, page)]),
        Ok(DocumentType::Pdf)
    );
    let refused = Err("pdf_page_tree");
    // No /Pages, or one that points nowhere (a one-bit flip to /Pagec).
    assert_eq!(
        reason(
            "<< /Type /Catalog /Pagec 2 0 R >>",
            &[(2, one_page), (3, page)]
        ),
        refused
    );
    assert_eq!(reason(CATALOG, &[(3, page)]), refused);
    assert_eq!(reason(CATALOG, &[(2, page)]), refused, "/Pages is a page");
    // Kids that point nowhere, or at something that is not a node.
    assert_eq!(reason(CATALOG, &[(2, one_page)]), refused);
    assert_eq!(
        reason(CATALOG, &[(2, one_page), (3, "<< /Type /Font >>")]),
        refused
    );
    assert_eq!(
        reason(
            CATALOG,
            &[(2, "<< /Type /Pages /Kids 3 0 R /Count 1 >>"), (3, page)]
        ),
        refused
    );
    // A cycle, and a node reached twice.
    let cycle = "<< /Type /Pages /Kids [2 0 R] /Count 0 >>";
    assert_eq!(reason(CATALOG, &[(2, cycle)]), refused);
    let twice = "<< /Type /Pages /Kids [3 0 R 3 0 R] /Count 2 >>";
    assert_eq!(reason(CATALOG, &[(2, twice), (3, page)]), refused);
    // /Count must be the number of pages below each node.
    let wrong_count = "<< /Type /Pages /Kids [3 0 R] /Count 2 >>";
    assert_eq!(reason(CATALOG, &[(2, wrong_count), (3, page)]), refused);
    let nested = "<< /Type /Pages /Kids [4 0 R] /Count 1 >>";
    let inner_wrong = "<< /Type /Pages /Kids [3 0 R] /Parent 2 0 R >>";
    assert_eq!(
        reason(CATALOG, &[(2, nested), (3, page), (4, inner_wrong)]),
        refused
    );
    // /MediaBox of its own or inherited.
    let bare = "<< /Type /Page /Parent 2 0 R >>";
    assert_eq!(reason(CATALOG, &[(2, one_page), (3, bare)]), refused);
    let boxed = "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 5 5] >>";
    assert_eq!(
        reason(CATALOG, &[(2, boxed), (3, bare)]),
        Ok(DocumentType::Pdf)
    );
    // /Contents, when present, resolves to a stream.
    let stream = "<< /Length 0 >>\nstream\n\nendstream";
    let with =
        |contents: &str| format!("<< /Type /Page /MediaBox [0 0 1 1] /Contents {contents} >>");
    for (contents, expected) in [
        ("4 0 R", Ok(DocumentType::Pdf)),
        ("[4 0 R 4 0 R]", Ok(DocumentType::Pdf)),
        ("5 0 R", refused),
        ("[4 0 R 5 0 R]", refused),
        ("(text)", refused),
    ] {
        let page = with(contents);
        assert_eq!(
            reason(CATALOG, &[(2, one_page), (3, &page), (4, stream)]),
            expected,
            "{contents}"
        );
    }
    let not_stream = with("4 0 R");
    assert_eq!(
        reason(CATALOG, &[(2, one_page), (3, &not_stream), (4, "42")]),
        refused
    );
    // Untyped nodes, as readers take them: with /Kids a node, without a page.
    let untyped = "<< /Kids [3 0 R] /Count 1 >>";
    let untyped_page = "<< /MediaBox [0 0 1 1] >>";
    assert_eq!(
        reason(CATALOG, &[(2, untyped), (3, untyped_page)]),
        Ok(DocumentType::Pdf)
    );
    // The flip that issue 14 found served: /Pages to /Pagec in the catalog.
    let dummy = dummy_pdf_or_png::PDF;
    let at = find(dummy, b"/Type /Catalog", 0).unwrap();
    let pages_at = find(dummy, b"/Pages", at).unwrap();
    let mut flipped = dummy.to_vec();
    flipped[pages_at + 5] = b'c';
    assert_eq!(validate(&flipped).map_err(|e| e.reason()), refused);
}

#[test]
fn stream_length_must_end_at_endstream_and_flate_must_finish() {
    let stream = |len: usize, bytes: &str| {
        format!("<< /Length {len} /Filter /FlateDecode >>\nstream\n{bytes}\nendstream")
    };
    let reason = |body: &str| {
        validate(&build_pdf(CATALOG, &[(2, PAGES), (3, body)], "")).map_err(|e| e.reason())
    };
    assert_eq!(reason(&stream(3, "abc")), Err("pdf_stream"), "not zlib");
    assert_eq!(
        reason(&stream(2, "abc")),
        Err("pdf_stream"),
        "short /Length"
    );
    assert_eq!(reason(&stream(9, "abc")), Err("pdf_stream"), "long /Length");
    let plain = "<< /Length 3 >>\nstream\nabc\nendstream";
    assert_eq!(reason(plain), Ok(DocumentType::Pdf));
    let indirect = "<< /Length 4 0 R >>\nstream\nabc\nendstream";
    let pdf = build_pdf(CATALOG, &[(2, PAGES), (3, indirect), (4, "3")], "");
    assert_eq!(validate(&pdf), Ok(DocumentType::Pdf));
    let pdf = build_pdf(CATALOG, &[(2, PAGES), (3, indirect), (4, "5")], "");
    assert_eq!(validate(&pdf).map_err(|e| e.reason()), Err("pdf_stream"));
    let pdf = build_pdf(CATALOG, &[(2, PAGES), (3, indirect), (4, "(three)")], "");
    assert_eq!(validate(&pdf).map_err(|e| e.reason()), Err("pdf_stream"));
}

#[test]
fn an_empty_stream_is_valid_whatever_its_filters() {
    let reason = |body: &str| {
        validate(&build_pdf(CATALOG, &[(2, PAGES), (3, body)], "")).map_err(|e| e.reason())
    };
    for filters in [
        "/FlateDecode",
        "[/ASCII85Decode /FlateDecode]",
        "/DCTDecode",
    ] {
        let empty = format!("<< /Length 0 /Filter {filters} >>\nstream\n\nendstream");
        assert_eq!(reason(&empty), Ok(DocumentType::Pdf), "{filters}");
    }
    // Empty is `/Length 0`, not a missing zlib stream behind a non-zero length.
    let blank = "<< /Length 2 /Filter /FlateDecode >>\nstream\n  \nendstream";
    assert_eq!(reason(blank), Err("pdf_stream"));
}

#[test]
fn filters_outside_the_standard_list_are_refused() {
    let with = |filter: &str| {
        let body = format!("<< /Length 3 /Filter {filter} >>\nstream\nabc\nendstream");
        validate(&build_pdf(CATALOG, &[(2, PAGES), (3, &body)], "")).map_err(|e| e.reason())
    };
    // A one-letter flip of FlateDecode (what poppler reports as "Unknown filter").
    assert_eq!(with("/FlateDecote"), Err("pdf_stream"));
    let dummy = dummy_pdf_or_png::PDF;
    let at = find(dummy, b"/FlateDecode", 0).unwrap();
    let mut flipped = dummy.to_vec();
    flipped[at + 11] = b't';
    assert_eq!(
        validate(&flipped).map_err(|e| e.reason()),
        Err("pdf_stream")
    );
    assert_eq!(with("[/ASCIIHexDecode /Foo]"), Err("pdf_stream"));
    assert_eq!(with("[/DCTDecode 1]"), Err("pdf_stream"));
    assert_eq!(with("(FlateDecode)"), Err("pdf_stream"));
    // Standard filters docproxy does not decode are framed only.
    for filter in ["/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode"] {
        assert_eq!(with(filter), Ok(DocumentType::Pdf), "{filter}");
    }
}

/// A PDF whose object 3 is a stream of `data` with the given dictionary entries.
fn with_stream(entries: &str, data: &[u8]) -> Result<DocumentType, &'static str> {
    let template = build_pdf(CATALOG, &[(2, PAGES), (3, "IMAGE3")], "");
    let mut body = format!("<< /Length {} {entries} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    validate(&splice_bodies(&template, &[(3, body)])).map_err(|e| e.reason())
}

#[test]
fn lzw_and_run_length_streams_are_decoded() {
    use weezl::{BitOrder, encode::Encoder};
    let text = b"BT /F1 12 Tf 72 712 Td (LZW, as PDF 1.0 writers made it) Tj ET ".repeat(20);
    let early = Encoder::with_tiff_size_switch(BitOrder::Msb, 8)
        .encode(&text)
        .unwrap();
    let late = Encoder::new(BitOrder::Msb, 8).encode(&text).unwrap();
    assert_eq!(
        with_stream("/Filter /LZWDecode", &early),
        Ok(DocumentType::Pdf)
    );
    assert_eq!(
        with_stream(
            "/Filter /LZWDecode /DecodeParms << /EarlyChange 0 >>",
            &late
        ),
        Ok(DocumentType::Pdf)
    );
    assert_eq!(
        with_stream(
            "/Filter [/LZWDecode] /DecodeParms [<< /EarlyChange 2 >>]",
            &late
        ),
        Err("pdf_stream")
    );
    // Garbage codes (511 before it exists), and bytes after the end code.
    assert_eq!(
        with_stream("/Filter /LZWDecode", &[0xff; 16]),
        Err("pdf_stream")
    );
    // (weezl reads codes eight bytes at a time, so junk shorter than that
    // after the end code goes unseen; readers ignore it too.)
    let trailing = [&early[..], b"junk after the end code"].concat();
    assert_eq!(
        with_stream("/Filter /LZWDecode", &trailing),
        Err("pdf_stream")
    );

    let runs = [2, b'a', b'b', b'c', 254, b'x', 128];
    assert_eq!(
        with_stream("/Filter /RunLengthDecode", &runs),
        Ok(DocumentType::Pdf)
    );
    assert_eq!(
        with_stream("/Filter /RL", &runs[..6]),
        Err("pdf_stream"),
        "no end byte"
    );
    assert_eq!(
        with_stream("/Filter /RL", &[5, b'a', 128]),
        Err("pdf_stream"),
        "run cut short"
    );
    assert_eq!(with_stream("/Filter /RL", &[128, b'x']), Err("pdf_stream"));
}

#[test]
fn dct_streams_must_be_jpeg_structure() {
    let pdf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pdf/img2pdf-jpeg.pdf"),
    )
    .unwrap();
    let start = find(&pdf, &[0xff, 0xd8, 0xff], 0).unwrap();
    let end = rfind(&pdf, &[0xff, 0xd9]).unwrap() + 2;
    let jpeg = &pdf[start..end];
    assert_eq!(
        with_stream("/Filter /DCTDecode", jpeg),
        Ok(DocumentType::Pdf)
    );
    let wrapped = flate(jpeg);
    assert_eq!(
        with_stream("/Filter [/FlateDecode /DCTDecode]", &wrapped),
        Ok(DocumentType::Pdf)
    );
    let refused = Err("pdf_stream");
    let garbage: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
    assert_eq!(with_stream("/Filter /DCTDecode", &garbage), refused);
    assert_eq!(
        with_stream("/Filter [/FlateDecode /DCTDecode]", &flate(&garbage)),
        refused
    );
    // Cut before EOI, or a segment whose length runs past the data.
    assert_eq!(
        with_stream("/Filter /DCTDecode", &jpeg[..jpeg.len() - 2]),
        refused
    );
    assert_eq!(with_stream("/Filter /DCTDecode", &jpeg[..40]), refused);
    // A scan without a frame header: SOI, SOS, data, EOI.
    let no_frame = [0xff, 0xd8, 0xff, 0xda, 0, 2, 1, 2, 3, 0xff, 0xd9];
    assert_eq!(with_stream("/Filter /DCTDecode", &no_frame), refused);
}

#[test]
fn framing_tolerance_follows_the_table_in_validation_md() {
    let pdf = build_pdf(CATALOG, &[(2, PAGES)], "");
    let reason = |bytes: &[u8]| validate(bytes).map_err(|e| e.reason());
    let before = |n: usize| [vec![b'x'; n], pdf.clone()].concat();
    let after = |tail: &[u8]| [pdf.clone(), tail.to_vec()].concat();
    // Bytes before %PDF-: offsets count from the header, as readers count them.
    assert_eq!(reason(&before(100)), Ok(DocumentType::Pdf));
    assert_eq!(reason(&before(1000)), Ok(DocumentType::Pdf));
    let glued = [
        &b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n"[..],
        &pdf,
    ]
    .concat();
    assert_eq!(reason(&glued), Ok(DocumentType::Pdf));
    assert_eq!(reason(&before(1100)), Err("unknown_format"));
    // A shifted header whose offsets were not shifted is a repair: refused.
    let shifted = [&b"%PDF-1.7\n%junk\n"[..], &pdf].concat();
    assert!(matches!(
        reason(&shifted),
        Err("pdf_startxref" | "pdf_xref")
    ));
    // After %%EOF: whitespace, NUL padding, Ctrl-Z.
    assert_eq!(reason(&after(b"\x1a")), Ok(DocumentType::Pdf));
    assert_eq!(reason(&after(b"\r\n\x1a")), Ok(DocumentType::Pdf));
    assert_eq!(reason(&after(&[0; 500])), Ok(DocumentType::Pdf));
    // ...as long as startxref stays in the last 1,024 bytes, where readers look.
    assert_eq!(reason(&after(&[0; 2000])), Err("pdf_startxref"));
    // Anything else could be the start of a cut-off incremental update.
    assert_eq!(
        reason(&after(b"garbage after the end\n")),
        Err("pdf_eof_marker")
    );
    assert_eq!(reason(&after(b"\n5 0 obj\n")), Err("pdf_eof_marker"));
}

#[test]
fn flate_stream_in_the_last_object_must_inflate_completely() {
    let build = |data: &[u8]| {
        let mut pdf = build_pdf(CATALOG, &[(2, PAGES)], "");
        let xref = find(&pdf, b"\nxref\n", 0).unwrap() + 1;
        let mut obj = format!(
            "3 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            data.len()
        )
        .into_bytes();
        obj.extend_from_slice(data);
        obj.extend_from_slice(b"\nendstream\nendobj\n");
        let tail = String::from_utf8(pdf.split_off(xref)).unwrap();
        let new_xref = xref + obj.len();
        let tail = tail
            .replace("0 3\n", "0 4\n")
            .replace("trailer", &format!("{xref:010} 00000 n \ntrailer"))
            .replace("/Size 3", "/Size 4")
            .replace(
                &format!("startxref\n{xref}\n"),
                &format!("startxref\n{new_xref}\n"),
            );
        pdf.extend_from_slice(&obj);
        pdf.extend_from_slice(tail.as_bytes());
        pdf
    };
    let data = flate(&b"0 0 m 100 100 l S\n".repeat(50));
    assert_eq!(validate(&build(&data)), Ok(DocumentType::Pdf));
    let truncated = &data[..data.len() - 3];
    assert_eq!(
        validate(&build(truncated)).map_err(|e| e.reason()),
        Err("pdf_stream")
    );
    let mut flipped = data.clone();
    flipped[data.len() / 2] ^= 0x10;
    assert_eq!(
        validate(&build(&flipped)).map_err(|e| e.reason()),
        Err("pdf_stream")
    );
    let mut trailing = data.clone();
    trailing.extend_from_slice(b"junk");
    assert_eq!(
        validate(&build(&trailing)).map_err(|e| e.reason()),
        Err("pdf_stream")
    );
}

/// A PDF 1.5 file whose objects 1.. live in one object stream (object 90),
/// indexed by an xref stream (object 91, PNG Up predictor). `entry` maps an
/// inner object number and its true index to the index the xref records.
fn objstm_pdf(
    inner: &[(u32, &str)],
    header: Option<&str>,
    entry: impl Fn(u32, u32) -> u32,
) -> Vec<u8> {
    let mut offsets_in_stream = String::new();
    let mut bodies = String::new();
    for (num, body) in inner {
        offsets_in_stream.push_str(&format!("{num} {} ", bodies.len()));
        bodies.push_str(body);
        bodies.push('\n');
    }
    let head = header.map_or(offsets_in_stream, str::to_string);
    let data = flate(format!("{head}{bodies}").as_bytes());
    let mut pdf = b"%PDF-1.5\n".to_vec();
    let objstm_at = pdf.len();
    pdf.extend_from_slice(
        format!("90 0 obj\n<< /Type /ObjStm /N {} /First {} /Filter /FlateDecode /Length {} >>\nstream\n", inner.len(), head.len(), data.len())
            .as_bytes(),
    );
    pdf.extend_from_slice(&data);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref_at = pdf.len();
    // Rows of W [1 4 2]: type, field 2, field 3.
    let mut rows: Vec<[u8; 7]> = Vec::new();
    let row = |t: u8, a: u32, b: u16| {
        let mut r = [t, 0, 0, 0, 0, 0, 0];
        r[1..5].copy_from_slice(&a.to_be_bytes());
        r[5..7].copy_from_slice(&b.to_be_bytes());
        r
    };
    let mut index = Vec::new();
    for (i, (num, _)) in inner.iter().enumerate() {
        rows.push(row(2, 90, entry(*num, i as u32) as u16));
        index.push(format!("{num} 1"));
    }
    rows.push(row(1, objstm_at as u32, 0));
    rows.push(row(1, xref_at as u32, 0));
    index.push("90 2".to_string());
    let mut predicted = Vec::new();
    let mut prev = [0u8; 7];
    for r in &rows {
        predicted.push(2u8);
        predicted.extend(r.iter().zip(prev).map(|(a, b)| a.wrapping_sub(b)));
        prev = *r;
    }
    let xdata = flate(&predicted);
    pdf.extend_from_slice(
        format!(
            "91 0 obj\n<< /Type /XRef /Size 92 /W [1 4 2] /Index [{}] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >> /Length {} >>\nstream\n",
            index.join(" "),
            xdata.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&xdata);
    pdf.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    pdf
}

#[test]
fn objects_inside_object_streams_are_checked() {
    let same = |_, i| i;
    let reason = |pdf: Vec<u8>| validate(&pdf).map_err(|e| e.reason());
    let good = [(1, CATALOG), (2, PAGES)];
    assert_eq!(reason(objstm_pdf(&good, None, same)), Ok(DocumentType::Pdf));
    let broken = [(1, CATALOG), (2, "<< /Type /Pages /Kids [] ")];
    assert_eq!(
        reason(objstm_pdf(&broken, None, same)),
        Err("pdf_object"),
        "unterminated dictionary"
    );
    let not_catalog = [(1, PAGES), (2, PAGES)];
    assert_eq!(
        reason(objstm_pdf(&not_catalog, None, same)),
        Err("pdf_root")
    );
    assert_eq!(
        reason(objstm_pdf(&good, None, |_, i| 1 - i)),
        Err("pdf_xref"),
        "indexes swapped"
    );
    assert_eq!(
        reason(objstm_pdf(&good, None, |_, i| i + 5)),
        Err("pdf_xref"),
        "index past /N"
    );
    let out_of_order = format!("1 {} 2 0 ", PAGES.len() + 1);
    let swapped = [(2, PAGES), (1, CATALOG)];
    assert_eq!(
        reason(objstm_pdf(&swapped, Some(&out_of_order), |n, _| n - 1)),
        Err("pdf_object"),
        "offsets decrease"
    );
    assert_eq!(
        reason(objstm_pdf(&good, Some("1 0 2 x "), same)),
        Err("pdf_object"),
        "bad header"
    );
    let with_params = |params: &[u8]| {
        let pdf = objstm_pdf(&good, None, same);
        let at = find(&pdf, b"/Predictor 12 /Columns 7", 0).unwrap();
        [&pdf[..at], params, &pdf[at + 24..]].concat()
    };
    assert_eq!(
        reason(with_params(b"/Predictor 12 /Columns 7")),
        Ok(DocumentType::Pdf)
    );
    for bad in [
        &b"/Predictor 12 /Columns 9223372036854775807"[..],
        b"/Predictor 12 /Colors -3",
        b"/Predictor 2",
    ] {
        assert_eq!(
            reason(with_params(bad)),
            Err("pdf_stream"),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(
        reason(with_params(b"/Predictor 12 /Columns 9")),
        Err("pdf_stream"),
        "rows do not divide"
    );
}

// --- Hand-built PNGs ---------------------------------------------------------

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
    out
}

fn ihdr(w: u32, h: u32, depth: u8, colour: u8, interlace: u8) -> Vec<u8> {
    let mut d = w.to_be_bytes().to_vec();
    d.extend_from_slice(&h.to_be_bytes());
    d.extend_from_slice(&[depth, colour, 0, 0, interlace]);
    chunk(b"IHDR", &d)
}

/// A 2x2 8-bit greyscale image: two scanlines of filter byte + two pixels.
fn grey_2x2(chunks_between: &[Vec<u8>]) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(ihdr(2, 2, 8, 0, 0));
    for c in chunks_between {
        png.extend_from_slice(c);
    }
    png.extend(chunk(b"IDAT", &flate(&[0, 10, 20, 1, 5, 5])));
    png.extend(chunk(b"IEND", b""));
    png
}

/// An APNG of 4x4 8-bit greyscale: the default image (IDAT) is frame 0, then
/// one 2x2 frame at (1, 1) whose data is `frame` split over two fdAT chunks.
fn apng(frame_data: &[u8], frame_size: (u32, u32), frames: u32) -> Vec<u8> {
    let fctl = |seq: u32, (w, h): (u32, u32), (x, y): (u32, u32)| {
        let mut d = seq.to_be_bytes().to_vec();
        for v in [w, h, x, y] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        d.extend_from_slice(&[0, 1, 0, 10, 0, 0]);
        chunk(b"fcTL", &d)
    };
    let mut actl = frames.to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(ihdr(4, 4, 8, 0, 0));
    png.extend(chunk(b"acTL", &actl));
    png.extend(fctl(0, (4, 4), (0, 0)));
    png.extend(chunk(b"IDAT", &flate(&[0u8; 20])));
    png.extend(fctl(1, frame_size, (1, 1)));
    let data = flate(frame_data);
    let (a, b) = data.split_at(data.len() / 2);
    for (seq, part) in [(2u32, a), (3, b)] {
        let mut d = seq.to_be_bytes().to_vec();
        d.extend_from_slice(part);
        png.extend(chunk(b"fdAT", &d));
    }
    png.extend(chunk(b"IEND", b""));
    png
}

#[test]
fn apng_frames_are_inflated_and_checked_against_their_size() {
    let frame = [0, 1, 2, 0, 3, 4];
    let reason = |png: &[u8]| validate(png).map_err(|e| e.reason());
    assert_eq!(reason(&apng(&frame, (2, 2), 2)), Ok(DocumentType::Png));
    // Frame data short of, or beyond, the fcTL's 2x2.
    assert_eq!(reason(&apng(&frame[..4], (2, 2), 2)), Err("png_image_data"));
    assert_eq!(
        reason(&apng(&[frame, frame].concat(), (2, 2), 2)),
        Err("png_image_data")
    );
    // A bad scanline filter inside the frame.
    assert_eq!(
        reason(&apng(&[9, 1, 2, 0, 3, 4], (2, 2), 2)),
        Err("png_image_data")
    );
    // Corrupt zlib data with good CRCs (the CRCs are recomputed by `chunk`).
    let mut png = apng(&frame, (2, 2), 2);
    let at = png.windows(4).rposition(|w| w == b"fdAT").unwrap() + 8;
    png[at] ^= 0xff;
    let crc_at = png.len() - 12 - 4;
    let data_start = png.windows(4).rposition(|w| w == b"fdAT").unwrap();
    let crc = crc32fast::hash(&png[data_start..crc_at]);
    png[crc_at..crc_at + 4].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(reason(&png), Err("png_image_data"));
    // A frame outside the canvas, or a frame count acTL does not announce.
    assert_eq!(reason(&apng(&[0; 12], (4, 3), 2)), Err("png_chunk_layout"));
    assert_eq!(reason(&apng(&frame, (2, 2), 3)), Err("png_chunk_layout"));
    assert_eq!(reason(&apng(&frame, (2, 2), 1)), Err("png_chunk_layout"));
}

/// Real scans are big: the default caps (1 GiB, `Limits::default`) must admit
/// img2pdf's three lossless A4 pages at 600 dpi (about 313 MB inflated) and
/// Pillow's 12000x12000 RGB PNG (432 MB of scanlines). Made here, not
/// committed: blank pixels deflate about 1,000:1.
#[test]
fn big_scans_pass_the_default_caps_and_a_lower_cap_refuses_them() {
    use docproxy::document::{Limits, validate_with};
    let (w, h) = (4960usize, 7016usize);
    let page = flate(&vec![0u8; w * h * 3]);
    let mut bodies = vec![];
    for i in 0..3u32 {
        let mut body = format!(
            "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Filter /FlateDecode /Length {} >>\nstream\n",
            page.len()
        )
        .into_bytes();
        body.extend_from_slice(&page);
        body.extend_from_slice(b"\nendstream");
        bodies.push((3 + i, body));
    }
    // build_pdf takes text: splice each binary body in for a placeholder.
    let extra: Vec<(u32, String)> = bodies
        .iter()
        .map(|(n, _)| (*n, format!("IMAGE{n}")))
        .collect();
    let extra_refs: Vec<(u32, &str)> = extra.iter().map(|(n, b)| (*n, b.as_str())).collect();
    let template = build_pdf(CATALOG, &[&[(2, PAGES)][..], &extra_refs].concat(), "");
    let pdf = splice_bodies(&template, &bodies);
    assert_eq!(validate(&pdf), Ok(DocumentType::Pdf));
    let low = Limits {
        max_inflated_bytes: 256 << 20,
        ..Limits::default()
    };
    assert_eq!(
        validate_with(&pdf, &low).map_err(|e| e.reason()),
        Err("pdf_limit")
    );

    let (w, h) = (12000u32, 12000u32);
    let row = 1 + w as usize * 3;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(ihdr(w, h, 8, 2, 0));
    let data = flate(&vec![0u8; row * h as usize]);
    for part in data.chunks(1 << 20) {
        png.extend(chunk(b"IDAT", part));
    }
    png.extend(chunk(b"IEND", b""));
    assert_eq!(validate(&png), Ok(DocumentType::Png));
    let low = Limits {
        max_png_image_bytes: 256 << 20,
        ..Limits::default()
    };
    assert_eq!(
        validate_with(&png, &low).map_err(|e| e.reason()),
        Err("png_ihdr")
    );
}

/// Rebuilds a `build_pdf` file with binary object bodies in place of their
/// `IMAGE<num>` placeholders, recomputing the xref offsets.
fn splice_bodies(template: &[u8], bodies: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let text = String::from_utf8_lossy(template);
    let xref_at = text.rfind("xref\n").unwrap();
    let header_len = text.find("1 0 obj").unwrap();
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    let mut rest = &text[header_len..xref_at];
    while let Some(end) = rest.find("endobj\n") {
        let object = &rest[..end + 7];
        offsets.push(out.len());
        let num: u32 = object.split(' ').next().unwrap().parse().unwrap();
        match bodies.iter().find(|(n, _)| *n == num) {
            Some((_, body)) => {
                out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
                out.extend_from_slice(body);
                out.extend_from_slice(b"\nendobj\n");
            }
            None => out.extend_from_slice(object.as_bytes()),
        }
        rest = &rest[end + 7..];
    }
    let mut pdf = text[..header_len].as_bytes().to_vec();
    let base = pdf.len();
    pdf.extend_from_slice(&out);
    let xref = pdf.len();
    let size = offsets.len() + 1;
    pdf.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{:010} 00000 n \n", base + offset).as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    pdf
}

#[test]
fn png_structural_rules_are_enforced() {
    let reason = |png: &[u8]| validate(png).map_err(|e| e.reason());
    assert_eq!(reason(&grey_2x2(&[])), Ok(DocumentType::Png));
    assert_eq!(
        reason(&grey_2x2(&[chunk(b"tEXt", b"k\0v")])),
        Ok(DocumentType::Png)
    );
    assert_eq!(
        reason(&grey_2x2(&[chunk(b"QUUX", b"")])),
        Err("png_chunk_layout"),
        "unknown critical chunk"
    );
    assert_eq!(
        reason(&grey_2x2(&[chunk(b"PLTE", &[0; 3])])),
        Err("png_chunk_layout"),
        "PLTE in greyscale"
    );
    assert_eq!(
        reason(&grey_2x2(&[ihdr(2, 2, 8, 0, 0)])),
        Err("png_chunk_layout"),
        "second IHDR"
    );

    let mut trailing = grey_2x2(&[]);
    trailing.push(0);
    assert_eq!(
        reason(&trailing),
        Err("png_chunk_layout"),
        "data after IEND"
    );

    let mut no_iend = grey_2x2(&[]);
    no_iend.truncate(no_iend.len() - 12);
    assert_eq!(reason(&no_iend), Err("png_missing_iend"));

    let sig = b"\x89PNG\r\n\x1a\n".to_vec();
    let no_idat = [sig.clone(), ihdr(2, 2, 8, 0, 0), chunk(b"IEND", b"")].concat();
    assert_eq!(reason(&no_idat), Err("png_missing_idat"));

    let split = |first: &[u8], second: &[u8], between: Option<Vec<u8>>| {
        let mut png = [sig.clone(), ihdr(2, 2, 8, 0, 0), chunk(b"IDAT", first)].concat();
        png.extend(between.unwrap_or_default());
        png.extend(chunk(b"IDAT", second));
        png.extend(chunk(b"IEND", b""));
        png
    };
    let z = flate(&[0, 10, 20, 1, 5, 5]);
    let (a, b) = z.split_at(4);
    assert_eq!(
        reason(&split(a, b, None)),
        Ok(DocumentType::Png),
        "IDAT split across chunks"
    );
    assert_eq!(
        reason(&split(a, b, Some(chunk(b"tEXt", b"k\0v")))),
        Err("png_image_data"),
        "zlib cut by a chunk"
    );
    assert_eq!(
        reason(&split(&z, b"", Some(chunk(b"tEXt", b"k\0v")))),
        Err("png_chunk_layout"),
        "IDATs not consecutive"
    );

    for (w, h, depth, colour, why) in [
        (0, 2, 8, 0, "zero width"),
        (2, 2, 3, 0, "bad depth"),
        (2, 2, 8, 1, "bad colour type"),
        (2, 2, 16, 3, "16-bit palette"),
        (1 << 30, 1 << 30, 8, 6, "too large"),
    ] {
        let png = [
            sig.clone(),
            ihdr(w, h, depth, colour, 0),
            chunk(b"IEND", b""),
        ]
        .concat();
        assert_eq!(reason(&png), Err("png_ihdr"), "{why}");
    }

    let image = |raw: &[u8], w: u32, h: u32| {
        [
            sig.clone(),
            ihdr(w, h, 8, 0, 0),
            chunk(b"IDAT", &flate(raw)),
            chunk(b"IEND", b""),
        ]
        .concat()
    };
    assert_eq!(
        reason(&image(&[0, 10, 20, 1, 5, 5], 2, 2)),
        Ok(DocumentType::Png)
    );
    assert_eq!(
        reason(&image(&[0, 10, 20, 1, 5], 2, 2)),
        Err("png_image_data"),
        "short"
    );
    assert_eq!(
        reason(&image(&[0, 10, 20, 1, 5, 5, 0], 2, 2)),
        Err("png_image_data"),
        "long"
    );
    assert_eq!(
        reason(&image(&[0, 10, 20, 7, 5, 5], 2, 2)),
        Err("png_image_data"),
        "bad filter type"
    );
    assert_eq!(
        reason(&image(&[0, 10, 20, 1, 5, 5], 2, 3)),
        Err("png_image_data"),
        "IHDR says 3 rows"
    );
}

#[test]
fn rejection_display_names_the_problem() {
    let e = Rejection::Png(PngError::ChunkCrc {
        chunk: *b"IDAT",
        offset: 33,
    });
    assert_eq!(
        e.to_string(),
        "invalid PNG: CRC mismatch in chunk IDAT at offset 33"
    );
    assert_eq!(e.reason(), "png_chunk_crc");
}

// --- Property tests: never a panic -------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Mutation::Set(p, v)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, v)| Mutation::Insert(p, v)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Flip(p, bit) => {
            if let Some(b) = bytes.get_mut(p % len) {
                *b ^= 1 << bit;
            }
        }
        Mutation::Set(p, v) => {
            if let Some(b) = bytes.get_mut(p % len) {
                *b = *v;
            }
        }
        Mutation::Insert(p, v) => {
            let at = p % (bytes.len() + 1);
            bytes.splice(at..at, v.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let at = p % len;
            let end = (at + n).min(bytes.len());
            if at < end {
                bytes.drain(at..end);
            }
        }
        Mutation::Truncate(p) => bytes.truncate(p % len),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_are_valid_or_rejected_never_a_panic(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let all = all_fixtures();
        let (_, original, kind) = &all[pick.index(all.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        match validate(&bytes) {
            Ok(t) => prop_assert_eq!(t, *kind),
            Err(e) => prop_assert!(REJECTION_REASONS.contains(&e.reason())),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in prop::sample::select(vec![&b""[..], b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n"]),
        body in prop::collection::vec(any::<u8>(), 0..512),
        suffix in prop::sample::select(vec![&b""[..], b"\nstartxref\n9\n%%EOF\n", b"trailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF"]),
    ) {
        let bytes = [prefix, &body[..], suffix].concat();
        if let Err(e) = validate(&bytes) {
            prop_assert!(REJECTION_REASONS.contains(&e.reason()));
        }
    }
}
