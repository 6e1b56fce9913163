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

use super::syntax::{is_regular, is_ws, regular_len, ws_len};

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

/// Every operator of Annex A, Table A.1.
const OPERATORS: &[&[u8]] = &[
    b"\"", b"'", b"B", b"B*", b"BDC", b"BI", b"BMC", b"BT", b"BX", b"CS", b"DP", b"Do", b"EI",
    b"EMC", b"ET", b"EX", b"F", b"G", b"ID", b"J", b"K", b"M", b"MP", b"Q", b"RG", b"S", b"SC",
    b"SCN", b"T*", b"TD", b"TJ", b"TL", b"Tc", b"Td", b"Tf", b"Tj", b"Tm", b"Tr", b"Ts", b"Tw",
    b"Tz", b"W", b"W*", b"b", b"b*", b"c", b"cm", b"cs", b"d", b"d0", b"d1", b"f", b"f*", b"g",
    b"gs", b"h", b"i", b"j", b"k", b"l", b"m", b"n", b"q", b"re", b"rg", b"ri", b"s", b"sc",
    b"scn", b"sh", b"v", b"w", b"y",
];

/// The longest operator, in bytes.
const MAX_OPERATOR_LEN: usize = 3;

/// A word of at most `MAX_OPERATOR_LEN` bytes as one number, its bytes
/// big-endian. Words are regular bytes, never 0, so no two share a key.
const fn key(word: &[u8]) -> u32 {
    let (mut key, mut i) = (0u32, 0);
    while i < word.len() {
        key = key << 8 | word[i] as u32;
        i += 1;
    }
    key
}

const BX: u32 = key(b"BX");
const EX: u32 = key(b"EX");
const ID: u32 = key(b"ID");

const HASH_BITS: u32 = 11;

const fn slot(key: u32, multiplier: u32) -> usize {
    (key.wrapping_mul(multiplier) >> (32 - HASH_BITS)) as usize
}

/// `OPERATORS` as a perfect hash table, because the lookup runs for every
/// operator of every page: each slot holds an operator's key, or 0 when
/// empty, and the multiplier is the first one, counting up from 2^32/φ, that
/// puts no two operators in one slot (found at compile time).
static OPERATOR_TABLE: ([u32; 1 << HASH_BITS], u32) = {
    let mut multiplier = 0x9E37_79B1u32;
    loop {
        let mut table = [0u32; 1 << HASH_BITS];
        let mut i = 0;
        while i < OPERATORS.len() {
            let key = key(OPERATORS[i]);
            let at = slot(key, multiplier);
            if table[at] != 0 {
                break;
            }
            table[at] = key;
            i += 1;
        }
        if i == OPERATORS.len() {
            break (table, multiplier);
        }
        multiplier = multiplier.wrapping_add(2);
    }
};

/// The key of `word` if it is an operator.
fn operator(word: &[u8]) -> Option<u32> {
    // The empty word's key is 0, an empty slot's.
    if word.is_empty() || word.len() > MAX_OPERATOR_LEN {
        return None;
    }
    let (table, multiplier) = &OPERATOR_TABLE;
    let key = key(word);
    (table[slot(key, *multiplier)] == key).then_some(key)
}

/// What a token's first byte says it is.
#[derive(Clone, Copy)]
enum Start {
    Space,
    Number,
    Name,
    Word,
    Comment,
    LiteralString,
    /// `<`: a dictionary or a hex string.
    Open,
    /// `>`: the end of a dictionary.
    Close,
    OpenArray,
    CloseArray,
    /// `)`, `{` or `}`: no content-stream token starts so.
    Bad,
}

static START: [Start; 256] = {
    let mut table = [Start::Word; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'0'..=b'9' | b'+' | b'-' | b'.' => Start::Number,
            b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' => Start::Space,
            b'/' => Start::Name,
            b'%' => Start::Comment,
            b'(' => Start::LiteralString,
            b'<' => Start::Open,
            b'>' => Start::Close,
            b'[' => Start::OpenArray,
            b']' => Start::CloseArray,
            b')' | b'{' | b'}' => Start::Bad,
            _ => Start::Word,
        };
        b += 1;
    }
    table
};

/// Open arrays and dictionaries, the innermost in the low bit (1: a
/// dictionary).
#[derive(Default)]
struct Nesting {
    kinds: u64,
    depth: usize,
}

const _: () = assert!(MAX_NESTING < u64::BITS as usize);

impl Nesting {
    fn push(&mut self, dictionary: bool) -> Result<(), ContentError> {
        if self.depth >= MAX_NESTING {
            return Err(ContentError::Unbalanced);
        }
        self.kinds = self.kinds << 1 | u64::from(dictionary);
        self.depth += 1;
        Ok(())
    }

    fn pop(&mut self, dictionary: bool) -> Result<(), ContentError> {
        if self.depth == 0 || (self.kinds & 1 == 1) != dictionary {
            return Err(ContentError::Unbalanced);
        }
        self.kinds >>= 1;
        self.depth -= 1;
        Ok(())
    }
}

/// Checks that `data`, a page's decoded content, tokenizes as content-stream
/// syntax. Linear in `data.len()`.
pub fn check_content(data: &[u8]) -> Result<(), ContentError> {
    let mut i = 0;
    let mut open = Nesting::default();
    let mut compatibility = 0usize;
    loop {
        // White space is skipped here rather than dispatched on: it is
        // every other token, and each dispatch is a hard-to-predict jump.
        i += data.get(i..).map_or(0, ws_len);
        let Some(&b) = data.get(i) else { break };
        let rest = &data[i..];
        // Numbers are most tokens: a direct test predicts better than the
        // table's jump.
        if b.is_ascii_digit() {
            i += number(rest)?;
            continue;
        }
        match START[usize::from(b)] {
            Start::Space => i += 1,
            Start::Number => i += number(rest)?,
            Start::Name => i += 1 + regular_len(&rest[1..]),
            Start::Comment => {
                i += rest
                    .iter()
                    .position(|&c| matches!(c, b'\r' | b'\n'))
                    .unwrap_or(rest.len());
            }
            Start::LiteralString => i += literal_string(rest)?,
            Start::Open if rest.get(1) == Some(&b'<') => {
                open.push(true)?;
                i += 2;
            }
            Start::Open => i += hex_string(rest)?,
            Start::Close if rest.get(1) == Some(&b'>') => {
                open.pop(true)?;
                i += 2;
            }
            Start::OpenArray => {
                open.push(false)?;
                i += 1;
            }
            Start::CloseArray => {
                open.pop(false)?;
                i += 1;
            }
            Start::Word => {
                let word = &rest[..regular_len(rest)];
                i += word.len();
                match word {
                    b"true" | b"false" | b"null" => continue,
                    _ if open.depth > 0 => return Err(ContentError::Token),
                    _ => {}
                }
                match operator(word) {
                    Some(BX) => compatibility += 1,
                    Some(EX) => {
                        compatibility = compatibility
                            .checked_sub(1)
                            .ok_or(ContentError::Unbalanced)?;
                    }
                    // Inline image data follows; see the module comment.
                    Some(ID) => return Ok(()),
                    Some(_) => {}
                    None if compatibility > 0 => {}
                    None => return Err(ContentError::UnknownOperator),
                }
            }
            Start::Close | Start::Bad => return Err(ContentError::Token),
        }
    }
    // An unclosed BX at the end is tolerated (readers stop there anyway);
    // an unclosed array or dictionary is not content syntax.
    if open.depth == 0 {
        Ok(())
    } else {
        Err(ContentError::Unbalanced)
    }
}

/// A literal string from its `(`: balanced parentheses, backslash escapes.
/// Returns its length, `)` included.
fn literal_string(data: &[u8]) -> Result<usize, ContentError> {
    let (mut depth, mut i) = (0usize, 0);
    while let Some(&c) = data.get(i) {
        match c {
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

/// A hex string from its `<`: hex digits and whitespace up to `>`. Returns
/// its length, `>` included.
fn hex_string(data: &[u8]) -> Result<usize, ContentError> {
    for (i, &c) in data.iter().enumerate().skip(1) {
        match c {
            b'>' => return Ok(i + 1),
            _ if c.is_ascii_hexdigit() || is_ws(c) => {}
            _ => return Err(ContentError::Token),
        }
    }
    Err(ContentError::Token)
}

/// A number at the start of `data`: an optional sign, digits with at most
/// one point, at least one digit, ending at a delimiter or whitespace.
/// Returns its length. One pass, one loop exit per number.
fn number(data: &[u8]) -> Result<usize, ContentError> {
    let sign = usize::from(matches!(data.first(), Some(b'+' | b'-')));
    let (mut digits, mut points) = (0usize, 0usize);
    let mut end = data.len();
    for (i, &c) in data.iter().enumerate().skip(sign) {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ if is_regular(c) => return Err(ContentError::Token),
            _ => {
                end = i;
                break;
            }
        }
    }
    if digits == 0 || points > 1 {
        return Err(ContentError::Token);
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_lookup_knows_exactly_the_operator_table() {
        assert!(OPERATORS.iter().all(|op| operator(op).is_some()));
        for word in [&b""[..], b"Tx", b"BD", b"BDCX", b"scnn", b"true", b"\xff"] {
            assert!(operator(word).is_none(), "{word:?}");
        }
        for a in (0..=u8::MAX).filter(|&a| is_regular(a)) {
            for word in [vec![a], vec![a, b'*'], vec![b'T', a], vec![a, b'C', b'N']] {
                assert_eq!(
                    operator(&word).is_some(),
                    OPERATORS.contains(&word.as_slice())
                );
            }
        }
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
