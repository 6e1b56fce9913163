//! PNG structural validation: signature, chunk framing and CRCs, chunk order,
//! IHDR sanity, and the image data itself (the concatenated IDAT zlib stream
//! must inflate to exactly the scanline bytes IHDR announces, each scanline
//! starting with a valid filter type).
//!
//! Inflating is the expensive part but it is what proves the pixels are all
//! there: CRCs only prove each chunk arrived as its writer sent it, not that
//! the writer sent a whole image. APNG frames (`fcTL` + `fdAT`) are inflated
//! and checked the same way, against each frame's own size.

use flate2::{Decompress, FlushDecompress, Status};

use super::Limits;

pub const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Memory one validation holds besides the body, whatever the image: a zlib
/// state with its 32 KiB window, at most 32 KiB of scratch and the pass
/// table, twice over while an APNG frame's state replaces the last one.
/// `tests/hostile.rs` measures it on every fixture.
pub(crate) const WORKING_MEMORY: u64 = 256 << 10;

/// The PNG specification's limit on a chunk length (2^31 - 1).
const MAX_CHUNK_LEN: u32 = 0x7fff_ffff;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PngError {
    #[error("missing PNG signature")]
    Signature,
    #[error("truncated: chunk at offset {offset} runs past the end")]
    Truncated { offset: usize },
    #[error("bad IHDR: {0}")]
    Ihdr(&'static str),
    #[error("CRC mismatch in chunk {} at offset {offset}", .chunk.escape_ascii())]
    ChunkCrc { chunk: [u8; 4], offset: usize },
    #[error("bad chunk layout at offset {offset}: {what}")]
    ChunkLayout { offset: usize, what: &'static str },
    #[error("no IDAT chunk")]
    MissingIdat,
    #[error("no IEND chunk")]
    MissingIend,
    #[error("bad image data: {0}")]
    ImageData(&'static str),
}

impl PngError {
    /// Bounded metric label; every value is listed in `REJECTION_REASONS`.
    pub fn reason(&self) -> &'static str {
        match self {
            PngError::Signature => "png_signature",
            PngError::Truncated { .. } => "png_truncated",
            PngError::Ihdr(_) => "png_ihdr",
            PngError::ChunkCrc { .. } => "png_chunk_crc",
            PngError::ChunkLayout { .. } => "png_chunk_layout",
            PngError::MissingIdat => "png_missing_idat",
            PngError::MissingIend => "png_missing_iend",
            PngError::ImageData(_) => "png_image_data",
        }
    }

    /// One value of every variant, for the test that checks the label set.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<PngError> {
        vec![
            PngError::Signature,
            PngError::Truncated { offset: 0 },
            PngError::Ihdr(""),
            PngError::ChunkCrc {
                chunk: *b"IDAT",
                offset: 0,
            },
            PngError::ChunkLayout {
                offset: 0,
                what: "",
            },
            PngError::MissingIdat,
            PngError::MissingIend,
            PngError::ImageData(""),
        ]
    }
}

/// Validates a complete PNG file with the default [`Limits`].
pub fn validate_png(bytes: &[u8]) -> Result<(), PngError> {
    validate_png_with(bytes, &Limits::default())
}

/// Validates a complete PNG file. Bytes after IEND are refused: a served PNG
/// must be exactly one image, and trailing data usually means a concatenation
/// or a mislabelled body.
pub fn validate_png_with(bytes: &[u8], limits: &Limits) -> Result<(), PngError> {
    let mut rest = bytes.strip_prefix(SIGNATURE).ok_or(PngError::Signature)?;
    let mut offset = SIGNATURE.len();
    let mut header: Option<Header> = None;
    let mut image: Option<ImageData> = None;
    let mut seen_plte = false;
    let mut idat = IdatRun::NotYet;
    // Bytes every image and frame of this file may still inflate to.
    let mut inflate_left = limits.max_inflated_bytes;
    let mut animation: Option<Animation> = None;

    loop {
        if rest.is_empty() {
            return Err(if idat == IdatRun::NotYet {
                PngError::MissingIdat
            } else {
                PngError::MissingIend
            });
        }
        let chunk = Chunk::split(rest, offset)?;
        let layout = |what| PngError::ChunkLayout { offset, what };

        if header.is_none() && &chunk.kind != b"IHDR" {
            return Err(PngError::Ihdr("first chunk is not IHDR"));
        }
        if idat == IdatRun::Running && &chunk.kind != b"IDAT" {
            let image = image.as_mut().ok_or(layout("IDAT before IHDR"))?;
            image.finish()?;
            idat = IdatRun::Done;
        }
        match &chunk.kind {
            b"IHDR" => {
                if header.is_some() {
                    return Err(layout("second IHDR"));
                }
                let h = Header::parse(chunk.data)?;
                let size = h.image_bytes(h.width, h.height);
                if size.is_none_or(|n| n > limits.max_png_image_bytes) {
                    return Err(PngError::Ihdr(
                        "decoded image larger than the configured cap",
                    ));
                }
                image = Some(ImageData::new(&h, h.width, h.height, &mut inflate_left)?);
                header = Some(h);
            }
            b"PLTE" => {
                let h = header.as_ref().ok_or(layout("PLTE before IHDR"))?;
                if seen_plte {
                    return Err(layout("second PLTE"));
                }
                if idat != IdatRun::NotYet {
                    return Err(layout("PLTE after IDAT"));
                }
                h.check_palette(chunk.data.len())
                    .map_err(|what| PngError::ChunkLayout { offset, what })?;
                seen_plte = true;
            }
            b"IDAT" => {
                let h = header.as_ref().ok_or(layout("IDAT before IHDR"))?;
                if idat == IdatRun::Done {
                    return Err(layout("IDAT chunks are not consecutive"));
                }
                if h.colour_type == 3 && !seen_plte {
                    return Err(layout("indexed-colour image without PLTE"));
                }
                idat = IdatRun::Running;
                image
                    .as_mut()
                    .ok_or(layout("IDAT before IHDR"))?
                    .feed(chunk.data)?;
            }
            b"acTL" => {
                if idat != IdatRun::NotYet || animation.is_some() {
                    return Err(layout("acTL after IDAT or twice"));
                }
                animation = Some(Animation::new(chunk.data).map_err(layout)?);
            }
            b"fcTL" if animation.is_some() => {
                let h = header.as_ref().ok_or(layout("fcTL before IHDR"))?;
                let anim = animation.as_mut().ok_or(layout("fcTL without acTL"))?;
                anim.frame_control(h, chunk.data, idat == IdatRun::NotYet, &mut inflate_left)
                    .map_err(|e| e.at(offset))?;
            }
            b"fdAT" if animation.is_some() => {
                if idat == IdatRun::NotYet {
                    return Err(layout("fdAT before IDAT"));
                }
                let anim = animation.as_mut().ok_or(layout("fdAT without acTL"))?;
                anim.frame_data(chunk.data).map_err(|e| e.at(offset))?;
            }
            b"IEND" => {
                if !chunk.data.is_empty() {
                    return Err(layout("IEND with data"));
                }
                if idat == IdatRun::NotYet {
                    return Err(PngError::MissingIdat);
                }
                if let Some(anim) = animation.as_mut() {
                    anim.finish().map_err(|e| e.at(offset))?;
                }
                if chunk.total_len != rest.len() {
                    return Err(layout("data after IEND"));
                }
                return Ok(());
            }
            kind if kind[0].is_ascii_uppercase() => {
                return Err(layout("unknown critical chunk"));
            }
            _ => {} // Ancillary chunks: framing and CRC already checked.
        }
        rest = &rest[chunk.total_len..];
        offset += chunk.total_len;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdatRun {
    NotYet,
    Running,
    Done,
}

/// One framed chunk whose length and CRC have been checked.
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    /// Length, type, data and CRC.
    total_len: usize,
}

impl<'a> Chunk<'a> {
    fn split(rest: &'a [u8], offset: usize) -> Result<Self, PngError> {
        let truncated = PngError::Truncated { offset };
        let len_bytes: [u8; 4] = rest
            .get(0..4)
            .ok_or(truncated.clone())?
            .try_into()
            .unwrap_or_default();
        let len = u32::from_be_bytes(len_bytes);
        if len > MAX_CHUNK_LEN {
            return Err(PngError::ChunkLayout {
                offset,
                what: "chunk length above 2^31-1",
            });
        }
        let kind: [u8; 4] = rest
            .get(4..8)
            .ok_or(truncated.clone())?
            .try_into()
            .unwrap_or_default();
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(PngError::ChunkLayout {
                offset,
                what: "chunk type is not four letters",
            });
        }
        let data_end = 8usize.checked_add(len as usize).ok_or(truncated.clone())?;
        let data = rest.get(8..data_end).ok_or(truncated.clone())?;
        let crc_bytes: [u8; 4] = rest
            .get(data_end..data_end + 4)
            .ok_or(truncated)?
            .try_into()
            .unwrap_or_default();
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&kind);
        hasher.update(data);
        if hasher.finalize() != u32::from_be_bytes(crc_bytes) {
            return Err(PngError::ChunkCrc {
                chunk: kind,
                offset,
            });
        }
        Ok(Chunk {
            kind,
            data,
            total_len: data_end + 4,
        })
    }
}

struct Header {
    width: u32,
    height: u32,
    bit_depth: u8,
    colour_type: u8,
    interlaced: bool,
}

impl Header {
    fn parse(data: &[u8]) -> Result<Self, PngError> {
        let d: &[u8; 13] = data
            .try_into()
            .map_err(|_| PngError::Ihdr("length is not 13"))?;
        let width = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        let height = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
        let (bit_depth, colour_type) = (d[8], d[9]);
        if width == 0 || height == 0 {
            return Err(PngError::Ihdr("zero width or height"));
        }
        if width > MAX_CHUNK_LEN || height > MAX_CHUNK_LEN {
            return Err(PngError::Ihdr("dimension above 2^31-1"));
        }
        let depth_ok = match colour_type {
            0 => matches!(bit_depth, 1 | 2 | 4 | 8 | 16),
            3 => matches!(bit_depth, 1 | 2 | 4 | 8),
            2 | 4 | 6 => matches!(bit_depth, 8 | 16),
            _ => return Err(PngError::Ihdr("unknown colour type")),
        };
        if !depth_ok {
            return Err(PngError::Ihdr("bit depth not allowed for the colour type"));
        }
        if d[10] != 0 {
            return Err(PngError::Ihdr("unknown compression method"));
        }
        if d[11] != 0 {
            return Err(PngError::Ihdr("unknown filter method"));
        }
        let interlaced = match d[12] {
            0 => false,
            1 => true,
            _ => return Err(PngError::Ihdr("unknown interlace method")),
        };
        Ok(Header {
            width,
            height,
            bit_depth,
            colour_type,
            interlaced,
        })
    }

    fn bits_per_pixel(&self) -> u64 {
        let channels = match self.colour_type {
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 1,
        };
        channels * u64::from(self.bit_depth)
    }

    fn check_palette(&self, len: usize) -> Result<(), &'static str> {
        if self.colour_type == 0 || self.colour_type == 4 {
            return Err("PLTE in a greyscale image");
        }
        if len == 0 || !len.is_multiple_of(3) || len / 3 > 256 {
            return Err("PLTE length is not 1..=256 entries");
        }
        if self.colour_type == 3 && len / 3 > (1usize << self.bit_depth) {
            return Err("PLTE has more entries than the bit depth allows");
        }
        Ok(())
    }

    /// Decoded scanline bytes of an image (or frame) of this size.
    fn image_bytes(&self, width: u32, height: u32) -> Option<u64> {
        self.passes(width, height)
            .iter()
            .try_fold(0u64, |acc, &(row, rows)| {
                row.checked_mul(rows).and_then(|n| acc.checked_add(n))
            })
    }

    /// (bytes per scanline including the filter byte, scanline count) for each
    /// non-empty pass of an image (or frame) of this size: one for plain
    /// images, up to seven for Adam7.
    fn passes(&self, width: u32, height: u32) -> Vec<(u64, u64)> {
        const ADAM7: [(u64, u64, u64, u64); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let (w, h) = (u64::from(width), u64::from(height));
        let row_bytes = |pixels: u64| 1 + (pixels * self.bits_per_pixel()).div_ceil(8);
        if !self.interlaced {
            return vec![(row_bytes(w), h)];
        }
        ADAM7
            .iter()
            .filter_map(|&(x0, y0, dx, dy)| {
                let pw = w.saturating_sub(x0).div_ceil(dx);
                let ph = h.saturating_sub(y0).div_ceil(dy);
                (pw > 0 && ph > 0).then(|| (row_bytes(pw), ph))
            })
            .collect()
    }
}

/// Streams the IDAT payloads through zlib, checking each scanline's filter
/// byte and the exact decoded length without keeping the pixels.
struct ImageData {
    inflater: Decompress,
    scratch: Vec<u8>,
    passes: Vec<(u64, u64)>,
    expected: u64,
    produced: u64,
    ended: bool,
    /// Position in the scanline layout: pass index, bytes into the current row.
    pass: usize,
    row_left: u64,
    rows_left: u64,
}

impl ImageData {
    /// The data of an image or frame of `width` x `height`, whose decoded
    /// size is taken from what the document may still inflate.
    fn new(
        header: &Header,
        width: u32,
        height: u32,
        inflate_left: &mut u64,
    ) -> Result<Self, PngError> {
        let passes = header.passes(width, height);
        let expected = header
            .image_bytes(width, height)
            .and_then(|n| inflate_left.checked_sub(n).map(|left| (n, left)));
        let Some((expected, left)) = expected else {
            return Err(PngError::ImageData(
                "images and frames inflate to more than the configured cap",
            ));
        };
        *inflate_left = left;
        let (first_rows, pass) = (passes.first().map_or(0, |p| p.1), 0);
        Ok(ImageData {
            inflater: Decompress::new(true),
            // Small images need no more than their own size of scratch.
            scratch: vec![0; expected.clamp(1, 32 * 1024) as usize],
            passes,
            expected,
            produced: 0,
            ended: false,
            pass,
            row_left: 0,
            rows_left: first_rows,
        })
    }

    fn feed(&mut self, mut input: &[u8]) -> Result<(), PngError> {
        loop {
            if self.ended {
                return if input.is_empty() {
                    Ok(())
                } else {
                    Err(PngError::ImageData("data after the zlib stream end"))
                };
            }
            let (in_before, out_before) = (self.inflater.total_in(), self.inflater.total_out());
            let status = self
                .inflater
                .decompress(input, &mut self.scratch, FlushDecompress::None)
                .map_err(|_| PngError::ImageData("corrupt zlib stream"))?;
            let consumed =
                usize::try_from(self.inflater.total_in() - in_before).unwrap_or(usize::MAX);
            let produced =
                usize::try_from(self.inflater.total_out() - out_before).unwrap_or(usize::MAX);
            input = input.get(consumed..).unwrap_or_default();
            self.account(produced)?;
            match status {
                Status::StreamEnd => self.ended = true,
                Status::Ok | Status::BufError => {
                    if input.is_empty() && produced < self.scratch.len() {
                        return Ok(());
                    }
                    if consumed == 0 && produced == 0 {
                        return Err(PngError::ImageData("zlib stream made no progress"));
                    }
                }
            }
        }
    }

    /// Counts freshly inflated bytes and checks the filter byte of every
    /// scanline that starts in them.
    fn account(&mut self, produced: usize) -> Result<(), PngError> {
        self.produced += produced as u64;
        if self.produced > self.expected {
            return Err(PngError::ImageData("more image data than IHDR announces"));
        }
        let mut out = self.scratch.get(..produced).unwrap_or_default();
        while !out.is_empty() {
            if self.row_left == 0 {
                while self.rows_left == 0 {
                    self.pass += 1;
                    let (_, rows) = self
                        .passes
                        .get(self.pass)
                        .copied()
                        .ok_or(PngError::ImageData("scanline overflow"))?;
                    self.rows_left = rows;
                }
                if out[0] > 4 {
                    return Err(PngError::ImageData("unknown scanline filter type"));
                }
                let (row, _) = self.passes.get(self.pass).copied().unwrap_or_default();
                self.row_left = row;
                self.rows_left -= 1;
            }
            let step = self.row_left.min(out.len() as u64);
            self.row_left -= step;
            out = out.get(step as usize..).unwrap_or_default();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), PngError> {
        if !self.ended {
            return Err(PngError::ImageData("zlib stream does not end"));
        }
        if self.produced != self.expected {
            return Err(PngError::ImageData("less image data than IHDR announces"));
        }
        Ok(())
    }
}

/// APNG (acTL, then fcTL and fdAT): every frame's data is one zlib stream
/// over its fdAT chunks, which must inflate to exactly the frame's
/// scanlines; sequence numbers run 0, 1, 2... over fcTL and fdAT; the frame
/// count is what acTL announced. Without acTL these chunks are ancillary and
/// readers ignore them, so they are only CRC-checked.
struct Animation {
    frames_announced: u32,
    frames_seen: u32,
    next_sequence: u32,
    /// The frame whose fdAT chunks are being read (frames after the default image).
    frame: Option<ImageData>,
}

/// A rule an APNG chunk broke, placed at its chunk by `at`.
enum FrameFault {
    Layout(&'static str),
    Data(PngError),
}

impl FrameFault {
    fn at(self, offset: usize) -> PngError {
        match self {
            FrameFault::Layout(what) => PngError::ChunkLayout { offset, what },
            FrameFault::Data(e) => e,
        }
    }
}

impl Animation {
    fn new(actl: &[u8]) -> Result<Self, &'static str> {
        let d: &[u8; 8] = actl.try_into().map_err(|_| "acTL length is not 8")?;
        let frames = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        if frames == 0 {
            return Err("acTL announces no frames");
        }
        Ok(Animation {
            frames_announced: frames,
            frames_seen: 0,
            next_sequence: 0,
            frame: None,
        })
    }

    fn sequence(&mut self, data: &[u8]) -> Result<(), FrameFault> {
        let seq = data
            .get(..4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
            .ok_or(FrameFault::Layout("APNG chunk without a sequence number"))?;
        if seq != self.next_sequence {
            return Err(FrameFault::Layout("APNG sequence number out of order"));
        }
        self.next_sequence = seq.wrapping_add(1);
        Ok(())
    }

    /// An fcTL: ends the previous frame's data, checks this frame's region,
    /// and (unless it describes the default image, before IDAT) starts
    /// reading its fdAT data.
    fn frame_control(
        &mut self,
        header: &Header,
        fctl: &[u8],
        before_idat: bool,
        inflate_left: &mut u64,
    ) -> Result<(), FrameFault> {
        let d: &[u8; 26] = fctl
            .try_into()
            .map_err(|_| FrameFault::Layout("fcTL length is not 26"))?;
        self.sequence(d)?;
        self.end_frame()?;
        let be = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        let (width, height, x, y) = (be(4), be(8), be(12), be(16));
        let inside = width > 0
            && height > 0
            && x.checked_add(width).is_some_and(|r| r <= header.width)
            && y.checked_add(height).is_some_and(|b| b <= header.height);
        if !inside {
            return Err(FrameFault::Layout("fcTL frame outside the image"));
        }
        if d[24] > 2 || d[25] > 1 {
            return Err(FrameFault::Layout(
                "unknown fcTL dispose or blend operation",
            ));
        }
        self.frames_seen += 1;
        if self.frames_seen > self.frames_announced {
            return Err(FrameFault::Layout("more fcTL frames than acTL announces"));
        }
        if before_idat {
            // The default image is the first frame: IDAT holds its data.
            if (width, height, x, y) != (header.width, header.height, 0, 0) {
                return Err(FrameFault::Layout("first fcTL is not the whole image"));
            }
            return Ok(());
        }
        self.frame =
            Some(ImageData::new(header, width, height, inflate_left).map_err(FrameFault::Data)?);
        Ok(())
    }

    fn frame_data(&mut self, fdat: &[u8]) -> Result<(), FrameFault> {
        self.sequence(fdat)?;
        let frame = self
            .frame
            .as_mut()
            .ok_or(FrameFault::Layout("fdAT without its fcTL"))?;
        frame.feed(&fdat[4..]).map_err(FrameFault::Data)
    }

    fn end_frame(&mut self) -> Result<(), FrameFault> {
        match self.frame.take() {
            Some(mut frame) => frame.finish().map_err(FrameFault::Data),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), FrameFault> {
        self.end_frame()?;
        if self.frames_seen != self.frames_announced {
            return Err(FrameFault::Layout("fewer fcTL frames than acTL announces"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(width: u32, height: u32, bit_depth: u8, colour_type: u8, interlaced: bool) -> Header {
        Header {
            width,
            height,
            bit_depth,
            colour_type,
            interlaced,
        }
    }

    #[test]
    fn scanline_layout_follows_adam7() {
        // 1x1: only the first pass has a pixel.
        assert_eq!(header(1, 1, 8, 6, true).passes(1, 1), vec![(5, 1)]);
        // 8x8 RGB: passes of 1x1, 1x1, 2x1, 2x2, 4x2, 4x4, 8x4 pixels.
        let rows: Vec<_> = header(8, 8, 8, 2, true).passes(8, 8);
        assert_eq!(
            rows,
            vec![(4, 1), (4, 1), (7, 1), (7, 2), (13, 2), (13, 4), (25, 4)]
        );
        // 3x2 at 4 bits: passes 1 (1x1), 4 (1x1: x=2), 6 (1x1: x=1) and 7 (3x1).
        assert_eq!(
            header(3, 2, 4, 0, true).passes(3, 2),
            vec![(2, 1), (2, 1), (2, 1), (3, 1)]
        );
        // Not interlaced: one pass, bits rounded up to whole bytes.
        assert_eq!(header(9, 5, 1, 0, false).passes(9, 5), vec![(3, 5)]);
    }
}
