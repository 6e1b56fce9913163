//! Makes the three documents the simulator serves. The committed files under
//! `documents/` are the output of these functions; a test fails when they drift.
//!
//! Everything here is deterministic: a fixed-seed xorshift generator for the
//! "noise" (not `rand`, whose streams may change between versions) and a fixed
//! zlib level. Regenerate with `REGENERATE=1 cargo test -p dummy-pdf-or-png`.

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// The catalog's object number. The corruption edits `/Root 14 0 R`, so it must stay 14.
const CATALOG: usize = 14;
const PNG_WIDTH: u32 = 1239;
const PNG_HEIGHT: u32 = 1754;
const PDF_IMAGE_WIDTH: u32 = 48;
const PDF_IMAGE_HEIGHT: u32 = 36;
/// How many bytes of compressed image data go into one IDAT chunk (libpng uses 8 KiB).
const IDAT_CHUNK: usize = 8192;

/// A one-page PDF 1.4 with a Flate-compressed content stream (text and vector
/// drawings), an RGB image XObject and a classic xref table with CRLF line ends.
pub fn pdf() -> Vec<u8> {
    let mut pdf = PdfWriter::new();
    pdf.object(
        1,
        "<< /Title (Quarterly document report) /Author (docproxy) /Producer (dummy-pdf-or-png generator) \
         /Creator (dummy-pdf-or-png) /CreationDate (D:20251121000000Z) /ModDate (D:20251121000000Z) >>",
    );
    pdf.object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdf.object(
        3,
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 7 0 R /Annots [11 0 R]\r\n   \
         /Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> /XObject << /Im1 8 0 R >>\r\n   \
         /ExtGState << /GS1 9 0 R >> /ProcSet [/PDF /Text /ImageC] >> >>",
    );
    for (number, font) in [(4, "Helvetica"), (5, "Helvetica-Bold"), (6, "Courier")] {
        pdf.object(
            number,
            &format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding /WinAnsiEncoding >>"
            ),
        );
    }
    pdf.stream(7, "", &deflate(page_content().as_bytes()), true);
    pdf.stream(
        8,
        &format!(
            "/Type /XObject /Subtype /Image /Width {PDF_IMAGE_WIDTH} /Height {PDF_IMAGE_HEIGHT} \
             /ColorSpace /DeviceRGB /BitsPerComponent 8 "
        ),
        &deflate(&rgb_picture(
            PDF_IMAGE_WIDTH,
            PDF_IMAGE_HEIGHT,
            0x5eed_0001,
            40,
            1,
        )),
        true,
    );
    pdf.object(9, "<< /Type /ExtGState /CA 0.6 /ca 0.6 >>");
    pdf.object(10, "<< /Type /Outlines /Count 0 >>");
    pdf.object(
        11,
        "<< /Type /Annot /Subtype /Link /Rect [72 60 300 74] /Border [0 0 0]\r\n   \
         /A << /S /URI /URI (https://example.com/docproxy) >> >>",
    );
    pdf.stream(
        12,
        "/Type /Metadata /Subtype /XML ",
        xmp_metadata().as_bytes(),
        false,
    );
    pdf.object(13, "<< /DisplayDocTitle true /FitWindow false >>");
    pdf.object(
        CATALOG,
        "<< /Type /Catalog /Pages 2 0 R /Outlines 10 0 R /Metadata 12 0 R\r\n   \
         /ViewerPreferences 13 0 R /PageMode /UseNone /Lang (en-GB) >>",
    );
    pdf.finish()
}

/// A 1239x1754 RGBA PNG, the original's geometry (an A4 page at 150 dpi): a
/// white page with a header band, paragraphs and a table of glyph-like text,
/// and a bar chart. Mostly flat colour, so its 8.7 MB of scanlines compress to
/// ~48 KB, as the original's did. IHDR, IDAT chunks, the serial tEXt, IEND.
pub fn png() -> Vec<u8> {
    let page = Page::draw();
    let stride = (PNG_WIDTH * 4) as usize;
    // Per scanline, "None" or "Up", whichever leaves the smaller residue (the
    // heuristic encoders use): text rows repeat the row above, blank ones are flat.
    let mut filtered = Vec::with_capacity(page.pixels.len() + PNG_HEIGHT as usize);
    let mut above = vec![0u8; stride];
    for row in page.pixels.chunks(stride) {
        let up: Vec<u8> = row
            .iter()
            .zip(&above)
            .map(|(b, a)| b.wrapping_sub(*a))
            .collect();
        if residue(&up) < residue(row) {
            filtered.push(2);
            filtered.extend_from_slice(&up);
        } else {
            filtered.push(0);
            filtered.extend_from_slice(row);
        }
        above.copy_from_slice(row);
    }
    let compressed = deflate(&filtered);

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&PNG_WIDTH.to_be_bytes());
    ihdr.extend_from_slice(&PNG_HEIGHT.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit, RGBA, deflate, adaptive filtering, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"tEXt", b"Software\0dummy-pdf-or-png generator");
    for part in compressed.chunks(IDAT_CHUNK) {
        png_chunk(&mut png, b"IDAT", part);
    }
    png_chunk(
        &mut png,
        b"tEXt",
        &[&b"Comment\0"[..], SERIAL_MARKER, &serial_text(0)].concat(),
    );
    png_chunk(&mut png, b"IEND", b"");
    png
}

/// The sum of a filtered scanline's bytes read as signed: smaller compresses better.
fn residue(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .map(|&b| u64::from(b.min(b.wrapping_neg())))
        .sum()
}

/// What precedes the serial number every document carries once: 16 hex
/// digits, zeros in the committed files, a new number per response with
/// `--unique` (see `super::unique`).
pub const SERIAL_MARKER: &[u8] = b"serial ";

/// The serial number as the documents spell it.
pub fn serial_text(serial: u64) -> [u8; 16] {
    let mut text = [0u8; 16];
    text.copy_from_slice(format!("{serial:016x}").as_bytes());
    text
}

/// The PNG's pixels, RGBA, row-major, and the pen that draws them.
struct Page {
    pixels: Vec<u8>,
    rng: XorShift,
    /// 5x7 bitmaps, one per letter, drawn from the generator.
    glyphs: [[[bool; 5]; 7]; 26],
}

const WHITE: [u8; 4] = [255, 255, 255, 255];
const INK: [u8; 4] = [40, 40, 40, 255];
const BAND: [u8; 4] = [33, 74, 135, 255];
const RULE: [u8; 4] = [180, 180, 180, 255];
/// Left and right margin, in pixels.
const MARGIN: u32 = 100;

impl Page {
    fn draw() -> Page {
        let mut rng = XorShift(0x5eed_0002);
        let mut glyphs = [[[false; 5]; 7]; 26];
        for glyph in &mut glyphs {
            for row in glyph.iter_mut() {
                let bits = rng.next();
                for (column, pixel) in row.iter_mut().enumerate() {
                    *pixel = (bits >> (column * 3)) & 3 != 0;
                }
            }
        }
        let mut page = Page {
            pixels: WHITE.repeat((PNG_WIDTH * PNG_HEIGHT) as usize),
            rng,
            glyphs,
        };
        page.rect(0, 0, PNG_WIDTH, 150, BAND);
        page.text(MARGIN, 45, "quarterly document report", 7, WHITE);
        let mut y = page.paragraph(200, 12);

        // A table: rules, columns, six-letter cells.
        let top = y + 20;
        for row in 0..9 {
            page.rect(MARGIN, top + row * 32, PNG_WIDTH - 2 * MARGIN, 2, RULE);
            if row < 8 {
                for column in 0..6 {
                    let cell = page.word(6);
                    page.text(
                        110 + column * 170,
                        top + row * 32 + 10,
                        &cell,
                        2,
                        [20, 20, 20, 255],
                    );
                }
            }
        }
        for column in 0..7 {
            page.rect(MARGIN + column * 170, top, 2, 8 * 32 + 2, RULE);
        }
        y = top + 9 * 32 + 40;

        // A bar chart with its axes.
        page.rect(MARGIN, y, 2, 300, [0, 0, 0, 255]);
        page.rect(MARGIN, y + 300, PNG_WIDTH - 2 * MARGIN, 2, [0, 0, 0, 255]);
        for i in 0..24u32 {
            let h = 20 + (page.rng.next() % 260) as u32;
            let colour = [(50 + i * 5) as u8, 100, (200 - i * 5) as u8, 255];
            page.rect(120 + i * 42, y + 300 - h, 30, h, colour);
        }
        page.paragraph(y + 340, 14);

        page.rect(MARGIN, PNG_HEIGHT - 120, PNG_WIDTH - 2 * MARGIN, 2, BAND);
        page.text(
            MARGIN,
            PNG_HEIGHT - 100,
            "page one of one",
            2,
            [100, 100, 100, 255],
        );
        page
    }

    fn rect(&mut self, x: u32, y: u32, width: u32, height: u32, colour: [u8; 4]) {
        let x_end = (x + width).min(PNG_WIDTH);
        for row in y..(y + height).min(PNG_HEIGHT) {
            let start = ((row * PNG_WIDTH + x) * 4) as usize;
            let end = ((row * PNG_WIDTH + x_end) * 4) as usize;
            for pixel in self.pixels[start..end].chunks_exact_mut(4) {
                pixel.copy_from_slice(&colour);
            }
        }
    }

    /// Draws `text` in the 5x7 glyphs at `scale`; returns the pen's new x.
    fn text(&mut self, mut x: u32, y: u32, text: &str, scale: u32, colour: [u8; 4]) -> u32 {
        for letter in text.bytes() {
            if letter != b' ' {
                let glyph = self.glyphs[usize::from(letter % 26)];
                for (r, row) in glyph.iter().enumerate() {
                    for (c, &on) in row.iter().enumerate() {
                        if on {
                            let (gx, gy) = (x + c as u32 * scale, y + r as u32 * scale);
                            self.rect(gx, gy, scale, scale, colour);
                        }
                    }
                }
            }
            x += 6 * scale;
        }
        x
    }

    fn word(&mut self, len: u64) -> String {
        (0..len)
            .map(|_| char::from(b'a' + (self.rng.next() % 26) as u8))
            .collect()
    }

    /// `lines` justified-left lines of random words from `y`; returns the y below them.
    fn paragraph(&mut self, mut y: u32, lines: u32) -> u32 {
        for _ in 0..lines {
            let mut x = MARGIN;
            loop {
                let len = 2 + self.rng.next() % 9;
                let word = self.word(len) + " ";
                if x + len as u32 * 12 > PNG_WIDTH - MARGIN {
                    break;
                }
                x = self.text(x, y, &word, 2, INK);
            }
            y += 22;
        }
        y + 12
    }
}

/// The damage the original service's corrupt PDF carries: a lossy UTF-8 decode
/// (each invalid sequence becomes U+FFFD, bytes EF BF BD), every CR turned into
/// LF, then the trailer's `/Root 14 0 R` edited to `/Root 00 0 R`.
pub fn corrupt_pdf(pdf: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(pdf)
        .replace('\r', "\n")
        .replace("/Root 14 0 R", "/Root 00 0 R")
        .into_bytes()
}

/// Writes objects in order, remembering offsets for the xref table.
struct PdfWriter {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl PdfWriter {
    fn new() -> Self {
        // The binary comment tells transfer tools the file is binary (bytes >= 0x80).
        let mut out = b"%PDF-1.4\r\n%".to_vec();
        out.extend_from_slice(&[0xE2, 0xE3, 0xCF, 0xD3]);
        out.extend_from_slice(b"\r\n%");
        out.extend_from_slice(SERIAL_MARKER);
        out.extend_from_slice(&serial_text(0));
        out.extend_from_slice(b"\r\n");
        PdfWriter {
            out,
            offsets: Vec::new(),
        }
    }

    fn begin(&mut self, number: usize) {
        assert_eq!(
            number,
            self.offsets.len() + 1,
            "objects are written in order"
        );
        self.offsets.push(self.out.len());
        write!(self.out, "{number} 0 obj\r\n").unwrap();
    }

    fn object(&mut self, number: usize, body: &str) {
        self.begin(number);
        write!(self.out, "{body}\r\nendobj\r\n").unwrap();
    }

    fn stream(&mut self, number: usize, dict: &str, data: &[u8], flate: bool) {
        self.begin(number);
        let filter = if flate { "/Filter /FlateDecode " } else { "" };
        write!(
            self.out,
            "<< {dict}{filter}/Length {} >>\r\nstream\r\n",
            data.len()
        )
        .unwrap();
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\r\nendstream\r\nendobj\r\n");
    }

    fn finish(mut self) -> Vec<u8> {
        let xref = self.out.len();
        let size = self.offsets.len() + 1;
        write!(self.out, "xref\r\n0 {size}\r\n0000000000 65535 f\r\n").unwrap();
        for offset in &self.offsets {
            write!(self.out, "{offset:010} 00000 n\r\n").unwrap();
        }
        // A stable file identifier derived from the content, as producers do with MD5.
        let id = crc32fast::hash(&self.out);
        let id = format!("{id:08X}{:08X}{id:08X}{:08X}", !id, id.rotate_left(16));
        write!(
            self.out,
            "trailer\r\n<< /Size {size} /Root {CATALOG} 0 R /Info 1 0 R /ID [<{id}> <{id}>] >>\r\n\
             startxref\r\n{xref}\r\n%%EOF\r\n"
        )
        .unwrap();
        self.out
    }
}

/// The page: a title, paragraphs, a table in Courier, a bar chart, a line
/// chart, a grid of swatches and the image, all as ordinary content operators.
fn page_content() -> String {
    let mut rng = XorShift(0x5eed_0003);
    let mut c = String::new();
    let w = &mut c;
    writeln!(w, "/GS1 gs").unwrap();
    // Header band.
    writeln!(w, "q 0.13 0.29 0.53 rg 0 742 612 50 re f Q").unwrap();
    writeln!(
        w,
        "BT /F2 20 Tf 1 1 1 rg 54 760 Td (Quarterly document report) Tj ET"
    )
    .unwrap();
    writeln!(w, "BT /F1 9 Tf 0.2 0.2 0.2 rg 54 728 Td 12 TL").unwrap();
    let sentences = [
        "This page was generated by the dummy-pdf-or-png crate to stand in for a real upstream document.",
        "It carries text in three fonts, vector drawings, a small raster image and document metadata.",
        "Figures below are synthetic: every number comes from a fixed-seed generator, not from a business.",
        "The proxy in front of this service checks the header, the xref table and the trailer of each file.",
        "A damaged copy of this very file is served one time in ten to exercise that validation path.",
    ];
    for (i, sentence) in sentences.iter().cycle().take(10).enumerate() {
        writeln!(w, "({}) '", pdf_escape(&format!("{} {sentence}", i + 1))).unwrap();
    }
    writeln!(w, "ET").unwrap();

    // Table of synthetic figures in a monospaced font.
    writeln!(w, "BT /F3 8 Tf 0 0 0 rg 54 590 Td 10 TL").unwrap();
    writeln!(
        w,
        "(region      q1        q2        q3        q4     total) '"
    )
    .unwrap();
    for region in [
        "north", "south", "east", "west", "central", "islands", "online", "partners",
    ] {
        let values: Vec<u32> = (0..4).map(|_| 1000 + rng.next() as u32 % 9000).collect();
        let total: u32 = values.iter().sum();
        let mut line = format!("{region:<10}");
        for v in &values {
            write!(line, "{v:>8}  ").unwrap();
        }
        write!(line, "{total:>8}").unwrap();
        writeln!(w, "({line}) '").unwrap();
    }
    writeln!(w, "ET").unwrap();

    // Bar chart with axes and gridlines.
    writeln!(w, "q 0.5 w 0.75 G").unwrap();
    for i in 0..=10 {
        let y = 320 + i * 16;
        writeln!(w, "54 {y} m 300 {y} l S").unwrap();
    }
    writeln!(w, "Q q 1 w 0 G 54 320 m 54 480 l 300 480 l S Q").unwrap();
    for i in 0..24u32 {
        let h = 10 + rng.next() % 150;
        let (r, g, b) = (0.2 + (i as f32) * 0.02, 0.4, 0.8 - (i as f32) * 0.02);
        writeln!(w, "{r:.3} {g:.3} {b:.3} rg {} 320 8 {h} re f", 58 + i * 10).unwrap();
    }

    // Line chart: a random walk drawn as a polyline, twice.
    for (colour, seed_shift) in [("0.8 0.1 0.1 RG", 0u64), ("0.1 0.6 0.2 RG", 7)] {
        let mut y: i64 = 400 + (seed_shift as i64);
        writeln!(w, "q 1.2 w {colour} 320 {y} m").unwrap();
        for x in (322..=560).step_by(2) {
            y = (y + (rng.next() % 9) as i64 - 4).clamp(330, 470);
            writeln!(w, "{x} {y} l").unwrap();
        }
        writeln!(w, "S Q").unwrap();
    }

    // Swatch grid: many small filled rectangles with varied colours.
    for row in 0..12u32 {
        for col in 0..30u32 {
            let v = rng.next();
            let (r, g, b) = (
                (v & 0xff) as f32 / 255.0,
                ((v >> 8) & 0xff) as f32 / 255.0,
                ((v >> 16) & 0xff) as f32 / 255.0,
            );
            writeln!(
                w,
                "{r:.3} {g:.3} {b:.3} rg {} {} 14 14 re f",
                54 + col * 16,
                100 + row * 16
            )
            .unwrap();
        }
    }

    // The raster image, scaled up, and a caption.
    writeln!(w, "q 160 0 0 108 380 488 cm /Im1 Do Q").unwrap();
    writeln!(
        w,
        "BT /F1 7 Tf 0.3 0.3 0.3 rg 380 478 Td (Figure 1: synthetic sensor image) Tj ET"
    )
    .unwrap();
    writeln!(
        w,
        "BT /F1 8 Tf 0 0 0.8 rg 72 64 Td (https://example.com/docproxy) Tj ET"
    )
    .unwrap();
    c
}

/// Row-major 8-bit RGB: a sky gradient, a sun and a band of hills, plus grain:
/// one pixel in `density` is lightened or darkened by up to `noise`. The two
/// knobs set how well zlib compresses it, and so the file size.
fn rgb_picture(width: u32, height: u32, seed: u64, noise: u32, density: u64) -> Vec<u8> {
    let mut rng = XorShift(seed);
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    let (cx, cy, radius) = (
        width as f32 * 0.72,
        height as f32 * 0.3,
        height as f32 * 0.16,
    );
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let hill = 0.62 + 0.08 * (fx * 9.0).sin() + 0.05 * (fx * 23.0).cos();
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let base = if dx * dx + dy * dy < radius * radius {
                [250.0, 220.0, 90.0]
            } else if fy > hill {
                [60.0 + 80.0 * fx, 140.0 - 50.0 * fy, 50.0]
            } else {
                [90.0 + 100.0 * fy, 150.0 + 60.0 * fy, 235.0 - 40.0 * fx]
            };
            // Noise on one pixel in `density`, the same for all three channels (luminance grain).
            let roll = rng.next();
            let jitter = if roll.is_multiple_of(density) {
                ((roll >> 32) % (2 * noise as u64 + 1)) as f32 - noise as f32
            } else {
                0.0
            };
            for channel in base {
                out.push((channel + jitter).clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// Appends one PNG chunk: length, type, data and its CRC.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn pdf_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)")
}

fn xmp_metadata() -> String {
    "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
     <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
     <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
     <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
     xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n\
     <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">Quarterly document report</rdf:li></rdf:Alt></dc:title>\n\
     <dc:creator><rdf:Seq><rdf:li>docproxy</rdf:li></rdf:Seq></dc:creator>\n\
     <pdf:Producer>dummy-pdf-or-png generator</pdf:Producer>\n\
     <xmp:CreateDate>2025-11-21T00:00:00Z</xmp:CreateDate>\n\
     </rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
        .to_string()
}

/// xorshift64: tiny, fixed forever, good enough for visual noise.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
