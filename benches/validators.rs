//! Validation throughput: `cargo bench --bench validators`.
//!
//! Three kinds of input, because their costs differ by orders of magnitude:
//! the real fixtures and the dummy upstream's documents (small), a large PDF whose bulk is an
//! unfiltered stream (the structural walk alone: `/Length` lets it skip the
//! data), and large Flate-compressed PDF and PNG bodies (dominated by
//! inflating, which the validators must do to prove the data is whole). And
//! the bare inflate of the dummy's documents' zlib streams (`inflate_only`):
//! the limit full validation of those documents can approach.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use docproxy::document::validate;

fn fixtures(kind: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("fixture"))
        .collect()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(data).expect("in-memory write");
    z.finish().expect("in-memory write")
}

/// Pseudo-random but compressible bytes, so inflating does real work.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 16) as u8 * 16
        })
        .collect()
}

/// A PDF with a catalog, an empty page tree, then `bodies` as objects 3, 4...
fn pdf_from_bodies(bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    let fixed: [&[u8]; 2] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ];
    for (i, body) in fixed
        .into_iter()
        .chain(bodies.iter().map(Vec::as_slice))
        .enumerate()
    {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let size = offsets.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A PDF whose content is one stream of `data` with `filter`.
fn pdf_with_stream(data: &[u8], filter: &str) -> Vec<u8> {
    let stream = [
        format!("<< /Length {} {filter} >>\nstream\n", data.len()).as_bytes(),
        data,
        b"\nendstream",
    ]
    .concat();
    pdf_from_bodies(&[stream])
}

/// A PDF of many small dictionaries: the object parser's throughput.
fn pdf_with_objects(count: usize) -> Vec<u8> {
    let bodies: Vec<Vec<u8>> = (0..count)
        .map(|i| format!("<< /Type /Annot /Subtype /Link /Rect [{i} 10 {} 20.5] /Border [0 0 1] /A << /S /URI /URI (https://example.com/{i}) >> /P 2 0 R >>", i + 40).into_bytes())
        .collect();
    pdf_from_bodies(&bodies)
}

/// An 8-bit RGB PNG of `side` x `side` pixels split into 64 KiB IDAT chunks.
fn large_png(side: u32) -> Vec<u8> {
    let row = 1 + side as usize * 3;
    let mut raw = noise(row * side as usize);
    raw.iter_mut().step_by(row).for_each(|b| *b = 0);
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut h = crc32fast::Hasher::new();
        h.update(kind);
        h.update(data);
        [
            &(data.len() as u32).to_be_bytes()[..],
            kind,
            data,
            &h.finalize().to_be_bytes(),
        ]
        .concat()
    };
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    for part in zlib(&raw).chunks(64 * 1024) {
        png.extend(chunk(b"IDAT", part));
    }
    png.extend(chunk(b"IEND", b""));
    png
}

/// The concatenated IDAT data of a PNG: its one zlib stream.
fn png_zlib_stream(png: &[u8]) -> Vec<u8> {
    let mut at = 8;
    let mut stream = Vec::new();
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes")) as usize;
        if &png[at + 4..at + 8] == b"IDAT" {
            stream.extend_from_slice(&png[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    stream
}

/// The data of every stream in a PDF that inflates as zlib (its Flate streams).
fn pdf_zlib_streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let find = |from: usize, needle: &[u8]| {
        pdf[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let mut streams = Vec::new();
    let mut at = 0;
    while let Some(start) = find(at, b"stream\r\n") {
        let data = start + b"stream\r\n".len();
        let Some(end) = find(data, b"\r\nendstream") else {
            break;
        };
        let candidate = pdf[data..end].to_vec();
        if inflate(&candidate) > 0 {
            streams.push(candidate);
        }
        // Past `endstream`, whose own `stream\r\n` would otherwise be taken
        // for the next stream's start (and that stream skipped).
        at = end + b"\r\nendstream".len();
    }
    streams
}

/// Inflates a zlib stream into a fixed scratch buffer, as the validators do,
/// and returns the inflated length (0 if it is not a whole zlib stream): the
/// bare cost of inflating, the limit of any validator that proves the data whole.
fn inflate(stream: &[u8]) -> u64 {
    let mut z = flate2::Decompress::new(true);
    let mut scratch = [0u8; 32 * 1024];
    loop {
        let (before_in, before_out) = (z.total_in() as usize, z.total_out());
        match z.decompress(
            &stream[before_in..],
            &mut scratch,
            flate2::FlushDecompress::None,
        ) {
            Ok(flate2::Status::StreamEnd) => return z.total_out(),
            Ok(_) if z.total_in() as usize == before_in && z.total_out() == before_out => return 0,
            Ok(_) => {}
            Err(_) => return 0,
        }
    }
}

/// Bare inflate of the same zlib streams the validators inflate for the
/// dummy's documents: the ratio of `validate/dummy_upstream_*` to these is
/// how close full validation comes to its limit.
fn bench_inflate_baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("inflate_only");
    let inputs = [
        (
            "dummy_upstream_pdf",
            dummy_pdf_or_png::PDF,
            pdf_zlib_streams(dummy_pdf_or_png::PDF),
        ),
        (
            "dummy_upstream_png",
            dummy_pdf_or_png::PNG,
            vec![png_zlib_stream(dummy_pdf_or_png::PNG)],
        ),
    ];
    // The PDF's content stream and image; the PNG's IDAT data.
    for ((name, document, streams), expected) in inputs.iter().zip([2, 1]) {
        assert_eq!(streams.len(), expected, "{name}: zlib streams found");
        for stream in streams {
            assert!(inflate(stream) > 0, "{name}: a stream does not inflate");
        }
        // Per document byte, like the validators' figures, so the two compare.
        group.throughput(Throughput::Bytes(document.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                for stream in streams {
                    black_box(inflate(black_box(stream)));
                }
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    let eight_mib = 8 << 20;
    let inputs: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("pdf_fixtures", fixtures("pdf")),
        ("png_fixtures", fixtures("png")),
        ("dummy_upstream_pdf", vec![dummy_pdf_or_png::PDF.to_vec()]),
        ("dummy_upstream_png", vec![dummy_pdf_or_png::PNG.to_vec()]),
        (
            "pdf_8MiB_unfiltered_stream",
            vec![pdf_with_stream(&noise(eight_mib), "")],
        ),
        ("pdf_50k_small_objects", vec![pdf_with_objects(50_000)]),
        (
            "pdf_flate_stream",
            vec![pdf_with_stream(
                &zlib(&noise(eight_mib)),
                "/Filter /FlateDecode",
            )],
        ),
        ("png_1024x1024_rgb", vec![large_png(1024)]),
    ];
    for (name, docs) in &inputs {
        for doc in docs {
            assert!(validate(doc).is_ok(), "{name}: bench input must be valid");
        }
        let bytes: usize = docs.iter().map(Vec::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                for doc in docs {
                    black_box(validate(black_box(doc)).is_ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_inflate_baseline);
criterion_main!(benches);
