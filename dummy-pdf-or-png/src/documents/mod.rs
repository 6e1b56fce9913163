//! The three documents the simulator serves, embedded from `documents/`.
//! They are made by `generate` in this crate; a test fails if the committed
//! files drift from it (`REGENERATE=1 cargo test -p dummy-pdf-or-png` rewrites them).

pub mod generate;
pub mod hostile;

use std::sync::OnceLock;

use bytes::Bytes;
use generate::{SERIAL_MARKER, serial_text};

/// A one-page PDF 1.4 (~13 KB) with Flate streams and a classic xref table.
pub const PDF: &[u8] = include_bytes!("../../documents/sample.pdf");
/// A 1239x1754 RGBA PNG (an A4 page at 150 dpi, ~48 KB).
pub const PNG: &[u8] = include_bytes!("../../documents/sample.png");
/// `PDF` after the original service's damage: lossy UTF-8, CR to LF, `/Root 00 0 R`.
pub const CORRUPT_PDF: &[u8] = include_bytes!("../../documents/corrupt.pdf");

/// Which document a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Png,
    CorruptPdf,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Pdf, Kind::Png, Kind::CorruptPdf];

    pub fn bytes(self) -> &'static [u8] {
        match self {
            Kind::Pdf => PDF,
            Kind::Png => PNG,
            Kind::CorruptPdf => CORRUPT_PDF,
        }
    }

    /// The file name the original served it under; its extension decides the label.
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Pdf => "sample.pdf",
            Kind::Png => "sample.png",
            Kind::CorruptPdf => "corrupt.pdf",
        }
    }

    /// Content-Type by extension, as the original did: the corrupt PDF is `application/pdf`.
    pub fn content_type(self) -> &'static str {
        if self.file_name().ends_with(".png") {
            "image/png"
        } else {
            "application/pdf"
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Png => "png",
            Kind::CorruptPdf => "corrupt_pdf",
        }
    }
}

/// A valid PNG of a little over `padding` bytes: `PNG` with a private
/// ancillary chunk (`prVt`, which decoders skip) of `padding` zeros after IHDR.
pub fn padded_png(padding: usize) -> Vec<u8> {
    const AFTER_IHDR: usize = 8 + 4 + 4 + 13 + 4;
    assert_eq!(&PNG[12..16], b"IHDR");
    let length = u32::try_from(padding).expect("a PNG chunk holds at most 4 GiB");
    let data = vec![0u8; padding];
    let mut crc = crc32fast::Hasher::new();
    crc.update(b"prVt");
    crc.update(&data);
    let mut png = Vec::with_capacity(PNG.len() + padding + 12);
    png.extend_from_slice(&PNG[..AFTER_IHDR]);
    png.extend_from_slice(&length.to_be_bytes());
    png.extend_from_slice(b"prVt");
    png.extend_from_slice(&data);
    png.extend_from_slice(&crc.finalize().to_be_bytes());
    png.extend_from_slice(&PNG[AFTER_IHDR..]);
    png
}

/// `kind`'s document carrying `serial` instead of serial 0: the same length,
/// as valid (or as corrupt) as the original, and different bytes for every
/// serial. The serial sits in a PDF comment line or a PNG tEXt chunk, whose
/// CRC is recomputed; offsets and image data are untouched.
pub fn unique(kind: Kind, serial: u64) -> Vec<u8> {
    static AT: OnceLock<[usize; 3]> = OnceLock::new();
    let at = AT.get_or_init(|| Kind::ALL.map(|k| serial_at(k.bytes())))[kind as usize];
    let mut bytes = kind.bytes().to_vec();
    bytes[at..at + 16].copy_from_slice(&serial_text(serial));
    if kind == Kind::Png {
        // The tEXt chunk ends 16 bytes after the serial's start, its CRC after it.
        let data_end = at + 16;
        let kind_start = bytes[..at]
            .windows(4)
            .rposition(|w| w == b"tEXt")
            .expect("the serial is in a tEXt chunk");
        let crc = crc32fast::hash(&bytes[kind_start..data_end]);
        bytes[data_end..data_end + 4].copy_from_slice(&crc.to_be_bytes());
    }
    bytes
}

/// A hostile shape (`hostile::full_size`), built once and served with a new
/// serial in its header comment each time: every copy's bytes differ, so no
/// content-keyed verdict cache can help, and only the first few dozen bytes
/// are made per response.
pub struct HostileBody {
    pub name: &'static str,
    bytes: Bytes,
    /// Where the serial's digits end: the part made anew per response.
    head: usize,
}

impl HostileBody {
    pub fn new(name: &'static str, bytes: Vec<u8>) -> Self {
        let head = serial_at(&bytes) + 16;
        HostileBody {
            name,
            bytes: Bytes::from(bytes),
            head,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The body carrying `serial`, in two parts: the header with the serial,
    /// then the rest of the shape, shared between responses.
    pub fn with_serial(&self, serial: u64) -> [Bytes; 2] {
        let mut head = self.bytes[..self.head].to_vec();
        head[self.head - 16..].copy_from_slice(&serial_text(serial));
        [Bytes::from(head), self.bytes.slice(self.head..)]
    }
}

/// Where the 16 digits of serial 0 start in a committed document.
fn serial_at(document: &[u8]) -> usize {
    let needle = [SERIAL_MARKER, &serial_text(0)].concat();
    document
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("every document carries serial 0")
        + SERIAL_MARKER.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn committed_documents_match_the_generator() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/documents");
        let pdf = generate::pdf();
        let expected = [
            ("sample.pdf", pdf.clone()),
            ("sample.png", generate::png()),
            ("corrupt.pdf", generate::corrupt_pdf(&pdf)),
        ];
        for (name, bytes) in expected {
            let path = format!("{dir}/{name}");
            if std::env::var_os("REGENERATE").is_some() {
                std::fs::write(&path, &bytes).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == bytes,
                "{name} drifted from the generator; run REGENERATE=1 cargo test -p dummy-pdf-or-png"
            );
        }
    }

    #[test]
    fn a_padded_png_is_the_sample_with_one_more_sound_chunk() {
        let png = padded_png(1000);
        assert_eq!(png.len(), PNG.len() + 1000 + 12);
        // The private chunk after IHDR: length, type, zeros, CRC of type and data.
        let chunk = &png[33..33 + 12 + 1000];
        assert_eq!(&chunk[..8], [&1000u32.to_be_bytes()[..], b"prVt"].concat());
        assert_eq!(
            chunk[1008..],
            crc32fast::hash(&chunk[4..1008]).to_be_bytes()
        );
        // Everything else is the sample, unchanged.
        assert_eq!(png[..33], PNG[..33]);
        assert_eq!(png[33 + 1012..], PNG[33..]);
    }

    #[test]
    fn sizes_are_those_of_the_original() {
        assert!((12_000..15_000).contains(&PDF.len()), "{}", PDF.len());
        assert!((45_000..52_000).contains(&PNG.len()), "{}", PNG.len());
    }

    /// The offset after the last `startxref`.
    fn startxref(pdf: &[u8]) -> usize {
        let at = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
        let text = String::from_utf8_lossy(&pdf[at + 9..]);
        text.split_whitespace().next().unwrap().parse().unwrap()
    }

    fn first_stream(pdf: &[u8]) -> &[u8] {
        let start = pdf.windows(6).position(|w| w == b"stream").unwrap() + 6;
        let start = start + if pdf[start] == b'\r' { 2 } else { 1 };
        let end = start
            + pdf[start..]
                .windows(9)
                .position(|w| w == b"endstream")
                .unwrap();
        &pdf[start..end]
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn inflates(data: &[u8]) -> bool {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .is_ok()
    }

    #[test]
    fn the_pdf_is_well_formed() {
        assert!(PDF.starts_with(b"%PDF-1.4"));
        assert!(
            PDF.contains(&b'\r'),
            "CRLF line ends, so the CR damage moves offsets"
        );
        assert!(PDF.windows(12).any(|w| w == b"/Root 14 0 R"));
        assert!(
            PDF[9..15].iter().filter(|&&b| b >= 0x80).count() >= 4,
            "binary comment line"
        );
        let xref = startxref(PDF);
        assert!(PDF[xref..].starts_with(b"xref\r\n0 15\r\n"));
        // Every in-use entry (20 bytes each) points at its object's header.
        let table = &PDF[xref + b"xref\r\n0 15\r\n".len()..];
        assert!(table.starts_with(b"0000000000 65535 f\r\n"));
        for number in 1..15 {
            let entry = &table[number * 20..number * 20 + 20];
            assert!(entry.ends_with(b" 00000 n\r\n"), "entry {number}");
            let offset: usize = std::str::from_utf8(&entry[..10]).unwrap().parse().unwrap();
            let header = format!("{number} 0 obj\r\n");
            assert!(
                PDF[offset..].starts_with(header.as_bytes()),
                "object {number} at {offset}"
            );
        }
        assert!(contains(PDF, b"trailer\r\n<< /Size 15 /Root 14 0 R"));
        assert!(inflates(first_stream(PDF)));
        let image = PDF
            .windows(15)
            .position(|w| w == b"/Subtype /Image")
            .unwrap();
        assert!(
            inflates(first_stream(&PDF[image..])),
            "the image XObject inflates"
        );
    }

    #[test]
    fn the_corrupt_pdf_has_exactly_the_originals_damage() {
        let expected = String::from_utf8_lossy(PDF)
            .replace('\r', "\n")
            .replace("/Root 14 0 R", "/Root 00 0 R");
        assert_eq!(CORRUPT_PDF, expected.as_bytes());
        assert!(CORRUPT_PDF.starts_with(b"%PDF-1.4"));
        assert!(CORRUPT_PDF.trim_ascii_end().ends_with(b"%%EOF"));
        assert!(
            CORRUPT_PDF.windows(3).any(|w| w == [0xEF, 0xBF, 0xBD]),
            "replacement characters"
        );
        let offset = startxref(CORRUPT_PDF);
        assert_ne!(
            CORRUPT_PDF.get(offset..offset + 4),
            Some(&b"xref"[..]),
            "startxref no longer points at xref"
        );
        assert!(
            !inflates(first_stream(CORRUPT_PDF)),
            "its Flate stream no longer inflates"
        );
        let image = CORRUPT_PDF
            .windows(15)
            .position(|w| w == b"/Subtype /Image")
            .unwrap();
        assert!(!inflates(first_stream(&CORRUPT_PDF[image..])));
    }

    /// The chunk types in order, checking every CRC.
    fn png_chunks(png: &[u8]) -> Vec<String> {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let mut at = 8;
        let mut kinds = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32fast::hash(body), crc);
            kinds.push(String::from_utf8_lossy(&body[..4]).into_owned());
            at += 12 + len;
        }
        kinds
    }

    #[test]
    fn the_png_chunks_are_sound() {
        let kinds = png_chunks(PNG);
        assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
        assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
        assert!(kinds.iter().any(|k| k == "IDAT"));
    }

    #[test]
    fn the_png_has_the_originals_geometry() {
        // IHDR: width, height, bit depth 8, colour type 6 (RGBA).
        assert_eq!(&PNG[16..20], &1239u32.to_be_bytes());
        assert_eq!(&PNG[20..24], &1754u32.to_be_bytes());
        assert_eq!(&PNG[24..26], &[8, 6]);
    }

    #[test]
    fn unique_documents_differ_only_in_their_serial() {
        for kind in Kind::ALL {
            let (a, b) = (unique(kind, 1), unique(kind, u64::MAX));
            assert_ne!(a, b, "{kind:?}");
            assert_eq!(a.len(), kind.bytes().len());
            assert_eq!(
                unique(kind, 0),
                kind.bytes(),
                "serial 0 is the committed file"
            );
            let differing = a.iter().zip(kind.bytes()).filter(|(x, y)| x != y).count();
            assert!(differing <= 16 + 4, "{kind:?}: {differing} bytes differ");
        }
        assert_eq!(png_chunks(&unique(Kind::Png, 42)), png_chunks(PNG));
        let pdf = unique(Kind::Pdf, 42);
        assert_eq!(startxref(&pdf), startxref(PDF), "offsets unchanged");
        assert!(contains(&pdf, b"%serial 000000000000002a\r\n"));
    }

    #[test]
    fn hostile_bodies_differ_only_in_their_serial() {
        let shape = hostile::trailer_name_array(4096);
        let body = HostileBody::new("trailer", shape.clone());
        let [head, tail] = body.with_serial(42);
        let served = [head, tail].concat();
        assert_eq!(served.len(), shape.len());
        assert!(served.starts_with(b"%PDF-1.7\n%serial 000000000000002a\n"));
        assert_eq!(served[served.len() - 4000..], shape[shape.len() - 4000..]);
        assert_eq!(body.with_serial(0).concat(), shape);
    }
}
