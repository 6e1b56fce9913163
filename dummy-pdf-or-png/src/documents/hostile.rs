//! Hostile PDF shapes: bodies built to make a validator spend CPU or memory
//! out of proportion to their size (docproxy issue 10). Each is a
//! syntactically plausible PDF; docproxy's tests (tests/hostile.rs) bound what
//! validating each one costs, and the fuzz regression corpus is made from
//! small versions of them (`cargo xtask fuzz-corpus`).

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// One shape, by name, at the size the issue measured it.
pub struct Shape {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// The largest body the dummy serves a shape at: docproxy's default
/// maximum document size.
pub const SERVED_MAX_LEN: usize = 8 << 20;

/// The shapes' names, in the order `all` returns them.
pub const NAMES: [&str; 5] = [
    "nested-prev-chain-1.2MB",
    "nested-prev-chain-7MB",
    "xref-stream-rows",
    "trailer-name-array-8MiB",
    "object-stream-name-array-60MiB",
];

/// Every shape at full size (each at most `max_len` bytes, the proxy's
/// maximum document size).
pub fn all(max_len: usize) -> Vec<Shape> {
    NAMES
        .iter()
        .filter_map(|&name| {
            Some(Shape {
                name,
                bytes: full_size(name, max_len)?,
            })
        })
        .collect()
}

/// The shape called `name` (one of `NAMES`) at full size, at most `max_len` bytes.
pub fn full_size(name: &str, max_len: usize) -> Option<Vec<u8>> {
    Some(match name {
        "nested-prev-chain-1.2MB" => nested_prev_chain(4000, 1_200_000.min(max_len)),
        "nested-prev-chain-7MB" => nested_prev_chain(4000, 7_000_000.min(max_len)),
        "xref-stream-rows" => xref_stream_rows(4000, 1 << 20),
        "trailer-name-array-8MiB" => trailer_name_array(max_len - 1024),
        "object-stream-name-array-60MiB" => object_stream_name_array(60 << 20),
        _ => return None,
    })
}

/// Small versions of every shape, for a fuzz corpus (each at most `max_len`).
pub fn small(max_len: usize) -> Vec<Shape> {
    vec![
        Shape {
            name: "nested-prev-chain",
            bytes: nested_prev_chain(200, max_len.min(64 << 10)),
        },
        Shape {
            name: "xref-stream-rows",
            bytes: xref_stream_rows(40, 1 << 16),
        },
        Shape {
            name: "trailer-name-array",
            bytes: trailer_name_array(max_len.min(64 << 10) - 1024),
        },
        Shape {
            name: "object-stream-name-array",
            bytes: object_stream_name_array(4 << 20),
        },
    ]
}

/// The version line, then a comment carrying serial 0 in the form
/// `generate::serial_text` spells it, so a server can make every copy's
/// bytes distinct without moving an offset (the dummy's `--hostile`).
const HEADER: &str = "%PDF-1.7\n%serial 0000000000000000\n";
const CATALOG: &str = "1 0 obj\n<< /Type /Catalog >>\nendobj\n";

fn entry(offset: usize, kind: char) -> String {
    let generation = if kind == 'f' { 65535 } else { 0 };
    format!("{offset:010} {generation:05} {kind} ")
}

fn finish(out: &mut Vec<u8>, startxref: usize) {
    write!(out, "\nstartxref\n{startxref}\n%%EOF\n").unwrap_or_default();
}

/// Classic sections nested inside each other: every trailer's `/Prev` is
/// followed by a comment that holds the older section, all on one line, so
/// a reader that re-scans each section reads the rest of the line again at
/// every level (quadratic in `levels`). Padded to about `target_len` bytes.
pub fn nested_prev_chain(levels: usize, target_len: usize) -> Vec<u8> {
    let levels = levels.max(1);
    let mut out = format!("{HEADER}{CATALOG}").into_bytes();
    let catalog_at = HEADER.len();
    let per_level = target_len.saturating_sub(out.len()) / levels;
    // Everything one level writes before the next level starts.
    let prefix = |prev: Option<usize>, pad: usize| {
        let mut s = format!(
            "xref 0 2 {}{}trailer << /Size 2 /Root 1 0 R ",
            entry(0, 'f'),
            entry(catalog_at, 'n')
        );
        if let Some(prev) = prev {
            write!(s, "/Prev {prev:010} %").unwrap_or_default();
            s.push_str(&"x".repeat(pad));
        }
        s
    };
    let fixed = prefix(Some(0), 0).len();
    let pad = per_level.saturating_sub(fixed);
    let first = out.len();
    for level in 0..levels {
        let here = first + level * (fixed + pad);
        let prev = (level + 1 < levels).then_some(here + fixed + pad);
        out.extend_from_slice(prefix(prev, pad).as_bytes());
    }
    // Every comment ends here; every trailer dictionary closes on this line.
    out.extend_from_slice(b"\n>>");
    finish(&mut out, first);
    out
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(data).unwrap_or_default();
    z.finish().unwrap_or_default()
}

/// `sections` xref streams chained by `/Prev`, each `/W [1 0 0]` with `rows`
/// one-byte (free) entries that deflate to almost nothing: one row per
/// inflated byte, the same object numbers in every section.
pub fn xref_stream_rows(sections: usize, rows: usize) -> Vec<u8> {
    let mut out = format!("{HEADER}{CATALOG}").into_bytes();
    let data = deflate(&vec![0u8; rows]);
    let mut prev: Option<usize> = None;
    for section in 0..sections {
        let at = out.len();
        let mut dict = format!(
            "<< /Type /XRef /Size {rows} /W [1 0 0] /Root 1 0 R /Filter /FlateDecode /Length {}",
            data.len()
        );
        if let Some(prev) = prev {
            write!(dict, " /Prev {prev}").unwrap_or_default();
        }
        dict.push_str(" >>");
        write!(out, "{} 0 obj\n{dict}\nstream\n", section + 2).unwrap_or_default();
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\nendstream\nendobj\n");
        prev = Some(at);
    }
    finish(&mut out, prev.unwrap_or_default());
    out
}

/// A sound one-page document whose trailer carries an array of empty names
/// (`/ `, two bytes each) of `array_bytes` bytes under a key no reader uses.
pub fn trailer_name_array(array_bytes: usize) -> Vec<u8> {
    let mut out = String::from(HEADER);
    let mut offsets = Vec::new();
    for body in [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ] {
        offsets.push(out.len());
        write!(out, "{} 0 obj\n{body}\nendobj\n", offsets.len()).unwrap_or_default();
    }
    let xref = out.len();
    write!(out, "xref\n0 4\n{}\n", entry(0, 'f')).unwrap_or_default();
    for offset in offsets {
        writeln!(out, "{}", entry(offset, 'n')).unwrap_or_default();
    }
    out.push_str("trailer\n<< /Size 4 /Root 1 0 R /Junk [");
    out.push_str(&"/ ".repeat(array_bytes / 2));
    out.push_str("] >>");
    let mut out = out.into_bytes();
    finish(&mut out, xref);
    out
}

/// A document whose one object stream inflates to an array of empty names of
/// `inflated_bytes` bytes (deflating about 1,000:1), listed by an xref stream.
pub fn object_stream_name_array(inflated_bytes: usize) -> Vec<u8> {
    let mut out = String::from(HEADER).into_bytes();
    let mut offsets = Vec::new();
    for (num, body) in [
        (1, "<< /Type /Catalog /Pages 2 0 R >>"),
        (2, "<< /Type /Pages /Kids [5 0 R] /Count 1 >>"),
        (5, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"),
    ] {
        offsets.push(out.len());
        write!(out, "{num} 0 obj\n{body}\nendobj\n").unwrap_or_default();
    }
    let objstm_at = out.len();
    let header = "3 0 ";
    let mut content = String::with_capacity(inflated_bytes + 8);
    content.push_str(header);
    content.push('[');
    content.push_str(&"/ ".repeat(inflated_bytes / 2));
    content.push(']');
    let data = deflate(content.as_bytes());
    write!(
        out,
        "4 0 obj\n<< /Type /ObjStm /N 1 /First {} /Filter /FlateDecode /Length {} >>\nstream\n",
        header.len(),
        data.len()
    )
    .unwrap_or_default();
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref_at = out.len();
    // Rows: type (1 byte), offset or stream (4), generation or index (1).
    let mut rows = Vec::new();
    for (kind, field, extra) in [
        (0u8, 0u32, 255u8),
        (1, offsets[0] as u32, 0),
        (1, offsets[1] as u32, 0),
        (2, 4, 0),
        (1, objstm_at as u32, 0),
        (1, offsets[2] as u32, 0),
        (1, xref_at as u32, 0),
    ] {
        rows.push(kind);
        rows.extend_from_slice(&field.to_be_bytes());
        rows.push(extra);
    }
    let rows = deflate(&rows);
    write!(
        out,
        "6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 1] /Root 1 0 R /Filter /FlateDecode /Length {} >>\nstream\n",
        rows.len()
    )
    .unwrap_or_default();
    out.extend_from_slice(&rows);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    finish(&mut out, xref_at);
    out
}

/// A sound one-page document with one more stream, RunLength-encoded, that
/// decodes to `decoded_bytes` zeros (128 from every 2 bytes, 64:1): a
/// validator that keeps a last filter's output holds all of it.
pub fn run_length_bomb(decoded_bytes: usize) -> Vec<u8> {
    let mut out = String::from(HEADER).into_bytes();
    let mut offsets = Vec::new();
    let data = [0x81u8, 0].repeat(decoded_bytes / 128);
    for body in [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_string(),
        format!(
            "<< /Type /XObject /Subtype /Image /Width 1 /Height {} /ColorSpace /DeviceGray \
             /BitsPerComponent 8 /Filter /RunLengthDecode /Length {} >>\nstream\n",
            decoded_bytes / 128 * 128,
            data.len()
        ),
    ] {
        offsets.push(out.len());
        write!(out, "{} 0 obj\n{body}", offsets.len()).unwrap_or_default();
        if offsets.len() == 4 {
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\nendstream");
        }
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 5\n{}\n", entry(0, 'f')).unwrap_or_default();
    for offset in offsets {
        writeln!(out, "{}", entry(offset, 'n')).unwrap_or_default();
    }
    out.extend_from_slice(b"trailer\n<< /Size 5 /Root 1 0 R >>");
    finish(&mut out, xref);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_have_the_sizes_the_issue_measured() {
        let max = 8 << 20;
        for shape in all(max) {
            assert!(shape.bytes.len() <= max, "{}", shape.name);
            assert!(shape.bytes.starts_with(b"%PDF-1.7\n"), "{}", shape.name);
            assert!(shape.bytes.ends_with(b"%%EOF\n"), "{}", shape.name);
            assert!(
                shape.bytes[9..].starts_with(b"%serial 0000000000000000\n"),
                "{}",
                shape.name
            );
        }
        assert_eq!(all(max).len(), NAMES.len());
        let sizes: Vec<usize> = all(max).iter().map(|s| s.bytes.len()).collect();
        assert!((1_100_000..1_300_000).contains(&sizes[0]), "{sizes:?}");
        assert!((6_500_000..7_500_000).contains(&sizes[1]), "{sizes:?}");
        assert!((60_000..70_000).contains(&sizes[4]), "{sizes:?}");
    }

    #[test]
    fn nested_sections_point_into_each_other() {
        let pdf = nested_prev_chain(3, 1000);
        let text = String::from_utf8_lossy(&pdf);
        let prevs: Vec<usize> = text
            .match_indices("/Prev ")
            .map(|(at, _)| text[at + 6..at + 16].parse().unwrap())
            .collect();
        assert_eq!(prevs.len(), 2);
        for prev in prevs {
            assert!(pdf[prev..].starts_with(b"xref 0 2 "), "{prev}");
        }
        assert_eq!(
            text.matches('\n').count(),
            10,
            "one line of sections after the header's two"
        );
    }
}
