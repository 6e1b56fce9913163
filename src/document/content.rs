//! Page content streams (ISO 32000-2 §7.8.2 and Annex A): the decoded data
//! must tokenize as operands followed by operators from the specification's
//! operator table. An unknown operator is allowed only between `BX` and `EX`,
//! where the specification tells readers to ignore what they do not know.
//!
//! One pass over the data, each byte looked at a bounded number of times;
//! nesting of arrays and dictionaries is capped. Inline image data (`ID` to
//! `EI`) has no length, and a scan for `EI` can stop early inside a real
//! image's bytes, so the check ends at the first `ID`: a valid file from a
//! real producer must never be refused (docs/VALIDATION.md).

/// Arrays and dictionaries nested deeper than this are refused.
const MAX_NESTING: usize = 32;

/// Why a content stream does not tokenize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("unknown operator outside BX/EX")]
    UnknownOperator,
    #[error("malformed token")]
    Token,
    #[error("unbalanced array, dictionary or BX/EX")]
    Unbalanced,
}

/// Every operator of Annex A, Table A.1, sorted for binary search.
const OPERATORS: &[&[u8]] = &[
    b"\"", b"'", b"B", b"B*", b"BDC", b"BI", b"BMC", b"BT", b"BX", b"CS", b"DP", b"Do", b"EI",
    b"EMC", b"ET", b"EX", b"F", b"G", b"ID", b"J", b"K", b"M", b"MP", b"Q", b"RG", b"S", b"SC",
    b"SCN", b"T*", b"TD", b"TJ", b"TL", b"Tc", b"Td", b"Tf", b"Tj", b"Tm", b"Tr", b"Ts", b"Tw",
    b"Tz", b"W", b"W*", b"b", b"b*", b"c", b"cm", b"cs", b"d", b"d0", b"d1", b"f", b"f*", b"g",
    b"gs", b"h", b"i", b"j", b"k", b"l", b"m", b"n", b"q", b"re", b"rg", b"ri", b"s", b"sc",
    b"scn", b"sh", b"v", b"w", b"y",
];

fn is_ws(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_ws(b) && !is_delimiter(b)
}

/// Checks that `data`, a page's decoded content, tokenizes as content-stream
/// syntax. Linear in `data.len()`.
pub fn check_content(data: &[u8]) -> Result<(), ContentError> {
    let mut i = 0;
    // Open arrays and dictionaries ('[' or '<'), and the BX/EX depth.
    let mut open: Vec<u8> = Vec::new();
    let mut compatibility = 0usize;
    while i < data.len() {
        let b = data[i];
        match b {
            _ if is_ws(b) => i += 1,
            b'%' => {
                while i < data.len() && !matches!(data[i], b'\r' | b'\n') {
                    i += 1;
                }
            }
            b'(' => i = literal_string(data, i)?,
            b'<' if data.get(i + 1) == Some(&b'<') => {
                push(&mut open, b'<')?;
                i += 2;
            }
            b'>' if data.get(i + 1) == Some(&b'>') => {
                pop(&mut open, b'<')?;
                i += 2;
            }
            b'<' => i = hex_string(data, i)?,
            b'[' => {
                push(&mut open, b'[')?;
                i += 1;
            }
            b']' => {
                pop(&mut open, b'[')?;
                i += 1;
            }
            b'/' => {
                i += 1;
                while i < data.len() && is_regular(data[i]) {
                    i += 1;
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => i = number(data, i)?,
            _ if is_regular(b) => {
                let start = i;
                while i < data.len() && is_regular(data[i]) {
                    i += 1;
                }
                let word = &data[start..i];
                match word {
                    b"true" | b"false" | b"null" => continue,
                    _ if !open.is_empty() => return Err(ContentError::Token),
                    b"BX" => compatibility += 1,
                    b"EX" => {
                        compatibility = compatibility
                            .checked_sub(1)
                            .ok_or(ContentError::Unbalanced)?;
                    }
                    // Inline image data follows; see the module comment.
                    b"ID" => return Ok(()),
                    _ if OPERATORS.binary_search(&word).is_ok() => {}
                    _ if compatibility > 0 => {}
                    _ => return Err(ContentError::UnknownOperator),
                }
            }
            _ => return Err(ContentError::Token),
        }
    }
    // An unclosed BX at the end is tolerated (readers stop there anyway);
    // an unclosed array or dictionary is not content syntax.
    if open.is_empty() {
        Ok(())
    } else {
        Err(ContentError::Unbalanced)
    }
}

fn push(open: &mut Vec<u8>, kind: u8) -> Result<(), ContentError> {
    if open.len() >= MAX_NESTING {
        return Err(ContentError::Unbalanced);
    }
    open.push(kind);
    Ok(())
}

fn pop(open: &mut Vec<u8>, kind: u8) -> Result<(), ContentError> {
    match open.pop() {
        Some(k) if k == kind => Ok(()),
        _ => Err(ContentError::Unbalanced),
    }
}

/// A literal string from its `(`: balanced parentheses, backslash escapes.
/// Returns the index just after its `)`.
fn literal_string(data: &[u8], start: usize) -> Result<usize, ContentError> {
    let (mut depth, mut i) = (0usize, start);
    while i < data.len() {
        match data[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(ContentError::Token)
}

/// A hex string from its `<`: hex digits and whitespace up to `>`.
fn hex_string(data: &[u8], start: usize) -> Result<usize, ContentError> {
    let mut i = start + 1;
    while i < data.len() {
        match data[i] {
            b'>' => return Ok(i + 1),
            c if c.is_ascii_hexdigit() || is_ws(c) => i += 1,
            _ => return Err(ContentError::Token),
        }
    }
    Err(ContentError::Token)
}

/// A number: optional sign, digits with at most one point; it must end at a
/// delimiter or whitespace.
fn number(data: &[u8], start: usize) -> Result<usize, ContentError> {
    let mut i = start;
    if matches!(data[i], b'+' | b'-') {
        i += 1;
    }
    let (mut digits, mut points) = (0, 0);
    while i < data.len() && is_regular(data[i]) {
        match data[i] {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return Err(ContentError::Token),
        }
        i += 1;
    }
    if digits == 0 || points > 1 {
        return Err(ContentError::Token);
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_table_is_sorted_for_binary_search() {
        assert!(OPERATORS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn real_content_tokenizes() {
        for ok in [
            &b"q 1 0 0 1 72 720 cm BT /F1 12 Tf (Hello \\(world\\)) Tj ET Q"[..],
            b"0.5 g 10 10 100 100 re f\n% a comment\n[1 2] 0 d <48656c6c6f> Tj",
            b"/Span <</MCID 0 /Lang (en)>> BDC [(A) -120 (B)] TJ EMC",
            b"BX 1 2 3 newop EX 0 0 m 1 1 l S",
            b"BT 0 Tr -.5 Ts +3 TL T* (x) ' 1 2 (y) \" ET",
            b"q BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\x10 garbage EI Q",
            b"",
            b"  \n\r\t\x0c ",
        ] {
            assert_eq!(
                check_content(ok),
                Ok(()),
                "{:?}",
                String::from_utf8_lossy(ok)
            );
        }
    }

    #[test]
    fn garbage_and_broken_syntax_are_refused() {
        for (bad, why) in [
            (
                &b"q 1 0 0 1 72 720 cn BT"[..],
                ContentError::UnknownOperator,
            ),
            (b"\x89\x13\x07 garbage", ContentError::UnknownOperator),
            (b"q ) Q", ContentError::Token),
            (b"BT (unterminated Tj ET", ContentError::Token),
            (b"[1 2 0", ContentError::Unbalanced),
            (b"1 2 ] d", ContentError::Unbalanced),
            (b"EX", ContentError::Unbalanced),
            (b"<4g> Tj", ContentError::Token),
            (b"1.2.3 w", ContentError::Token),
            (b"12abc w", ContentError::Token),
            (b"[1 re]", ContentError::Token),
        ] {
            assert_eq!(
                check_content(bad),
                Err(why),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(MAX_NESTING + 1);
        assert_eq!(
            check_content(deep.as_bytes()),
            Err(ContentError::Unbalanced)
        );
    }

    proptest::proptest! {
        /// Any bytes: an answer, never a panic.
        #[test]
        fn any_bytes_get_an_answer(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = check_content(&data);
        }
    }
}
