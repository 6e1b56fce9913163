//! Stream filters beyond Flate and the ASCII ones (ISO 32000-2 §7.4): LZW
//! and RunLength are decoded, DCT (JPEG) data is checked as JPEG structure
//! without decoding the image. Every decoder's output is capped by the
//! caller's inflate allowance, each input byte is looked at a bounded
//! number of times, and the output is kept only when a caller reads it (a
//! later filter, or the content-stream check): otherwise it is counted and
//! dropped as it is made, so memory stays constant whatever it decodes to.

use weezl::{BitOrder, LzwStatus, decode::Decoder};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("bad LZW data")]
    Lzw,
    #[error("bad RunLength data")]
    RunLength,
    #[error("bad JPEG structure: {0}")]
    Jpeg(&'static str),
    #[error("decoded data exceeds the inflate limit")]
    TooLarge,
}

/// LZWDecode. `early_change` is `/EarlyChange 1`, the default: the code width
/// grows one code early, as TIFF does. A missing EOD code is tolerated when
/// the data ends cleanly, as readers do.
/// Returns the decoded length; the bytes are appended to `keep` if given.
pub fn lzw(
    data: &[u8],
    early_change: bool,
    max_out: usize,
    mut keep: Option<&mut Vec<u8>>,
) -> Result<usize, FilterError> {
    let mut decoder = if early_change {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Decoder::new(BitOrder::Msb, 8)
    };
    let mut len = 0;
    let mut chunk = [0u8; 16 * 1024];
    let mut input = data;
    loop {
        let result = decoder.decode_bytes(input, &mut chunk);
        input = &input[result.consumed_in..];
        len += result.consumed_out;
        if len > max_out {
            return Err(FilterError::TooLarge);
        }
        if let Some(out) = keep.as_mut() {
            out.extend_from_slice(&chunk[..result.consumed_out]);
        }
        match result.status.map_err(|_| FilterError::Lzw)? {
            LzwStatus::Done => return Ok(len),
            LzwStatus::NoProgress if input.is_empty() => return Ok(len),
            LzwStatus::NoProgress => return Err(FilterError::Lzw),
            LzwStatus::Ok => {}
        }
    }
}

/// RunLengthDecode: a length byte n, then n + 1 literal bytes (n < 128) or one
/// byte repeated 257 − n times (n > 128); 128 is the end of data, which may be
/// missing when the data ends after a whole run.
/// Returns the decoded length; the bytes are appended to `keep` if given.
pub fn run_length(
    data: &[u8],
    max_out: usize,
    mut keep: Option<&mut Vec<u8>>,
) -> Result<usize, FilterError> {
    let mut len = 0;
    let mut i = 0;
    while let Some(&n) = data.get(i) {
        i += 1;
        let run = match n {
            128 => return Ok(len),
            0..=127 => {
                let literal = data
                    .get(i..i + usize::from(n) + 1)
                    .ok_or(FilterError::RunLength)?;
                i += literal.len();
                len += literal.len();
                if len > max_out {
                    return Err(FilterError::TooLarge);
                }
                if let Some(out) = keep.as_mut() {
                    out.extend_from_slice(literal);
                }
                continue;
            }
            _ => 257 - usize::from(n),
        };
        let &byte = data.get(i).ok_or(FilterError::RunLength)?;
        i += 1;
        len += run;
        if len > max_out {
            return Err(FilterError::TooLarge);
        }
        if let Some(out) = keep.as_mut() {
            out.resize(out.len() + run, byte);
        }
    }
    Ok(len)
}

/// DCTDecode data as JPEG structure (ITU T.81 Annex B): SOI; marker segments
/// with consistent lengths; a frame header (SOFn) with a non-empty image and 1
/// to 4 components before the first scan; scans (SOS) of 1 to 4 components
/// followed by entropy-coded data; EOI. Bytes after EOI are tolerated, as
/// every reader does. The image itself is not decoded.
pub fn check_jpeg(data: &[u8]) -> Result<(), FilterError> {
    use FilterError::Jpeg;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Jpeg("no SOI marker"));
    }
    let mut i = 2;
    let mut frame = false;
    let mut scans = 0u32;
    loop {
        // A marker: 0xFF, optional fill bytes 0xFF, then the code.
        if data.get(i) != Some(&0xFF) {
            return Err(Jpeg("expected a marker"));
        }
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let &code = data.get(i).ok_or(Jpeg("truncated before EOI"))?;
        i += 1;
        match code {
            0xD9 if frame && scans > 0 => return Ok(()),
            0xD9 => return Err(Jpeg("EOI before a frame and a scan")),
            0x00 | 0xD8 => return Err(Jpeg("unexpected marker")),
            // Standalone markers: RSTn and TEM.
            0xD0..=0xD7 | 0x01 => continue,
            _ => {}
        }
        let length = data
            .get(i..i + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .ok_or(Jpeg("truncated marker segment"))?;
        let segment = data
            .get(i + 2..i + length)
            .filter(|_| length >= 2)
            .ok_or(Jpeg("marker segment runs past the end"))?;
        i += length;
        match code {
            // SOF0-3, 5-7, 9-11, 13-15 (0xC4 DHT, 0xC8 JPG, 0xCC DAC are not frames).
            0xC0..=0xCF if !matches!(code, 0xC4 | 0xC8 | 0xCC) => {
                // Height 0 is allowed by T.81 (a DNL segment gives it later).
                let [_precision, _height1, _height0, w1, w0, components, ..] = *segment else {
                    return Err(Jpeg("short frame header"));
                };
                if u16::from_be_bytes([w1, w0]) == 0 || !(1..=4).contains(&components) {
                    return Err(Jpeg("frame header without a width or with bad components"));
                }
                if segment.len() != 6 + 3 * usize::from(components) {
                    return Err(Jpeg("frame header length does not match its components"));
                }
                frame = true;
            }
            0xDA => {
                let &components = segment.first().ok_or(Jpeg("empty scan header"))?;
                if !frame {
                    return Err(Jpeg("scan before the frame header"));
                }
                if !(1..=4).contains(&components)
                    || segment.len() != 4 + 2 * usize::from(components)
                {
                    return Err(Jpeg("bad scan header"));
                }
                scans += 1;
                i = entropy_coded_end(data, i);
            }
            _ => {}
        }
    }
}

/// The index of the first marker after entropy-coded data starting at `i`:
/// 0xFF followed by 0x00 (a stuffed byte) or RSTn belongs to the data.
fn entropy_coded_end(data: &[u8], mut i: usize) -> usize {
    while i < data.len() {
        if data[i] == 0xFF {
            match data.get(i + 1) {
                Some(0x00 | 0xD0..=0xD7) => i += 2,
                Some(0xFF) => i += 1,
                _ => return i,
            }
        } else {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny baseline JPEG's structure: SOI, DQT, SOF0 8x8 greyscale, DHT,
    /// SOS, entropy data with a stuffed byte and a restart marker, EOI.
    fn jpeg() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend([0xFF, 0xDB, 0x00, 0x43, 0x00]);
        j.extend([1u8; 64]);
        j.extend([0xFF, 0xC0, 0x00, 0x0B, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        j.extend([0xFF, 0xC4, 0x00, 0x14, 0x00]);
        j.extend([0u8; 16]);
        j.push(0);
        j.extend([0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 0, 63, 0]);
        j.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        j.extend([0xFF, 0xD9]);
        j
    }

    #[test]
    fn jpeg_structure_is_accepted_and_damage_refused() {
        let good = jpeg();
        assert_eq!(check_jpeg(&good), Ok(()));
        let mut trailing = good.clone();
        trailing.extend(b"\n\0junk");
        assert_eq!(check_jpeg(&trailing), Ok(()));
        assert!(check_jpeg(b"garbage that is not a JPEG").is_err());
        for cut in 1..good.len() - 1 {
            assert!(check_jpeg(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut no_frame = good.clone();
        no_frame[2 + 69 + 1] = 0xFE; // the SOF0 becomes a comment
        assert!(check_jpeg(&no_frame).is_err());
    }

    /// A decoder's kept output, checked against the length it returns.
    fn kept(
        decode: impl FnOnce(Option<&mut Vec<u8>>) -> Result<usize, FilterError>,
    ) -> Result<Vec<u8>, FilterError> {
        let mut out = Vec::new();
        let len = decode(Some(&mut out))?;
        assert_eq!(len, out.len());
        Ok(out)
    }

    #[test]
    fn lzw_decodes_what_the_spec_example_encodes() {
        // ISO 32000-2 §7.4.4.2's example: 45 45 45 45 45 65 45 45 45 66, encoded
        // with EarlyChange 1 as the codes 256 45 258 258 65 259 66 257.
        let data = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        assert_eq!(
            kept(|out| lzw(&data, true, 1 << 20, out)),
            Ok(vec![45, 45, 45, 45, 45, 65, 45, 45, 45, 66])
        );
        assert_eq!(lzw(&data, true, 1 << 20, None), Ok(10));
        assert_eq!(lzw(&data, true, 5, None), Err(FilterError::TooLarge));
        assert!(lzw(&[0xFF, 0xFF, 0xFF, 0xFF], true, 1 << 20, None).is_err());
    }

    #[test]
    fn run_length_decodes_and_bounds_its_output() {
        let data = [2, b'a', b'b', b'c', 254, b'x', 128];
        assert_eq!(
            kept(|out| run_length(&data, 100, out)),
            Ok(b"abcxxx".to_vec())
        );
        assert_eq!(
            kept(|out| run_length(&data[..6], 100, out)),
            Ok(b"abcxxx".to_vec())
        );
        assert_eq!(run_length(&data, 100, None), Ok(6));
        assert_eq!(
            run_length(&[5, b'a'], 100, None),
            Err(FilterError::RunLength)
        );
        assert_eq!(run_length(&[129], 100, None), Err(FilterError::RunLength));
        assert_eq!(
            run_length(&[129, 0, 129, 0], 200, None),
            Err(FilterError::TooLarge)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_get_an_answer(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = check_jpeg(&data);
            let _ = lzw(&data, true, 1 << 16, None);
            let _ = lzw(&data, false, 1 << 16, Some(&mut Vec::new()));
            let _ = run_length(&data, 1 << 16, Some(&mut Vec::new()));
        }
    }
}
