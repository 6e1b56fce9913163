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

use super::syntax::{is_regular, is_ws, literal_string_len, regular_len, ws_len};

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

// A four-byte word's key is above every operator's (the block check).
const _: () = assert!(MAX_OPERATOR_LEN < 4);

/// A word of at most `MAX_OPERATOR_LEN` bytes as one number, its bytes
/// little-endian (as the block check reads them). Words are regular bytes,
/// never 0, so no two share a key.
const fn key(word: &[u8]) -> u32 {
    let (mut key, mut i) = (0u32, 0);
    while i < word.len() {
        key |= (word[i] as u32) << (8 * i);
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
/// syntax. Linear in `data.len()`: each byte is classified in at most two
/// blocks, and read token by token at most once after each.
///
/// Most of a page is numbers and operators between white space, so on CPUs
/// with AVX2 the data goes 64 bytes at a time: vector lookups classify the
/// bytes into bit masks, whose arithmetic checks every number of the block
/// at once (see `Block::plain`), and only operators are looked up one by
/// one. A block holding a delimiter (a string, name, array, dictionary or
/// comment), or anything the masks do not settle, is read token by token,
/// which gives the exact answer: the masks only ever say "fine" for tokens
/// the token reader would accept (tested against it on any bytes).
pub fn check_content(data: &[u8]) -> Result<(), ContentError> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as just checked.
        return unsafe { blocks::check(data) };
    }
    check_content_token_by_token(data)
}

/// `check_content` one token at a time: the reference its block check is
/// tested against.
pub fn check_content_token_by_token(data: &[u8]) -> Result<(), ContentError> {
    Tokens::new(data).until(data.len() + 1).map(|_| ())
}

/// Whether a check goes on after a token.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    More,
    /// The data ended well, or inline image data begins (module comment).
    Over,
}

/// A check in progress, token by token.
struct Tokens<'a> {
    data: &'a [u8],
    at: usize,
    open: Nesting,
    /// `BX` sections open.
    compatibility: usize,
}

impl<'a> Tokens<'a> {
    fn new(data: &'a [u8]) -> Self {
        Tokens {
            data,
            at: 0,
            open: Nesting::default(),
            compatibility: 0,
        }
    }

    /// Reads tokens until one ends at or past `end`, or the check is over.
    fn until(&mut self, end: usize) -> Result<Scan, ContentError> {
        while self.at < end {
            if self.next()? == Scan::Over {
                return Ok(Scan::Over);
            }
        }
        Ok(Scan::More)
    }

    /// Skips white space and reads one token.
    fn next(&mut self) -> Result<Scan, ContentError> {
        let data = self.data;
        // White space is skipped here rather than dispatched on: it is
        // every other token, and each dispatch is a hard-to-predict jump.
        self.at += data.get(self.at..).map_or(0, ws_len);
        let Some(&b) = data.get(self.at) else {
            // An unclosed BX at the end is tolerated (readers stop there
            // anyway); an unclosed array or dictionary is not content syntax.
            self.at = data.len() + 1;
            return match self.open.depth {
                0 => Ok(Scan::Over),
                _ => Err(ContentError::Unbalanced),
            };
        };
        let rest = &data[self.at..];
        // Numbers are most tokens: a direct test predicts better than the
        // table's jump.
        if b.is_ascii_digit() {
            self.at += number(rest)?;
            return Ok(Scan::More);
        }
        self.at += match START[usize::from(b)] {
            Start::Space => 1,
            Start::Number => number(rest)?,
            Start::Name => 1 + regular_len(&rest[1..]),
            Start::Comment => rest
                .iter()
                .position(|&c| matches!(c, b'\r' | b'\n'))
                .unwrap_or(rest.len()),
            Start::LiteralString => literal_string(rest)?,
            Start::Open if rest.get(1) == Some(&b'<') => {
                self.open.push(true)?;
                2
            }
            Start::Open => hex_string(rest)?,
            Start::Close if rest.get(1) == Some(&b'>') => {
                self.open.pop(true)?;
                2
            }
            Start::OpenArray => {
                self.open.push(false)?;
                1
            }
            Start::CloseArray => {
                self.open.pop(false)?;
                1
            }
            Start::Word => {
                let word = &rest[..regular_len(rest)];
                let literal = matches!(word, b"true" | b"false" | b"null");
                if !literal && self.operator(word)? == Scan::Over {
                    return Ok(Scan::Over);
                }
                word.len()
            }
            Start::Close | Start::Bad => return Err(ContentError::Token),
        };
        Ok(Scan::More)
    }

    /// A word where an operator may stand. `Over` at `ID`: inline image
    /// data follows (module comment).
    fn operator(&mut self, word: &[u8]) -> Result<Scan, ContentError> {
        if self.open.depth > 0 {
            return Err(ContentError::Token);
        }
        match operator(word) {
            Some(BX) => self.compatibility += 1,
            Some(EX) => {
                self.compatibility = self
                    .compatibility
                    .checked_sub(1)
                    .ok_or(ContentError::Unbalanced)?;
            }
            Some(ID) => return Ok(Scan::Over),
            Some(_) => {}
            None if self.compatibility > 0 => {}
            None => return Err(ContentError::UnknownOperator),
        }
        Ok(Scan::More)
    }
}

/// The block check, on x86-64 (AVX2's byte shuffle does the classifying).
#[cfg(target_arch = "x86_64")]
mod blocks {
    use super::{BX, ContentError, EX, ID, OPERATOR_TABLE, Scan, Tokens, is_regular, is_ws, slot};

    /// `check_content` 64 bytes at a time (its comment); the caller makes sure
    /// the CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn check(data: &[u8]) -> Result<(), ContentError> {
        let mut tokens = Tokens::new(data);
        while let Some(bytes) = data.get(tokens.at..tokens.at + BLOCK) {
            let start = tokens.at;
            let mut padded = [0u8; BLOCK + 3];
            padded[..BLOCK].copy_from_slice(bytes);
            let block = Block::new(&padded);
            let len = block.whole_tokens();
            let window_end = start + len as usize;
            if block.plain(&padded, len, tokens.open.depth > 0) {
                tokens.at = window_end;
            }
            // From a delimiter, or through a token longer than the block
            // (no whole token at the start), token by token to the block's end.
            let end = if len == 0 { start + BLOCK } else { window_end };
            if tokens.until(end)? == Scan::Over {
                return Ok(());
            }
        }
        tokens.until(data.len() + 1).map(|_| ())
    }

    /// Bytes the block check classifies at once: one bit each in a `u64`.
    pub(super) const BLOCK: usize = 64;

    const WS: u8 = 1;
    const DELIMITER: u8 = 2;
    const DIGIT: u8 = 4;
    const POINT: u8 = 8;
    const SIGN: u8 = 16;

    /// Each byte's class for the block check, from the shared character classes
    /// (syntax.rs).
    const fn class(b: u8) -> u8 {
        match b {
            _ if is_ws(b) => WS,
            _ if !is_regular(b) => DELIMITER,
            b'0'..=b'9' => DIGIT,
            b'.' => POINT,
            b'+' | b'-' => SIGN,
            _ => 0,
        }
    }

    /// The classes as unions of products (a set of high nibbles times a set of
    /// low nibbles), each product its own bit, so that two 16-entry lookups
    /// and an AND classify 32 bytes at once: (class, high nibbles, low nibbles).
    const PRODUCTS: [(u8, u16, u16); 8] = [
        (
            WS,
            1 << 0x0,
            1 << 0x0 | 1 << 0x9 | 1 << 0xa | 1 << 0xc | 1 << 0xd,
        ),
        (WS, 1 << 0x2, 1 << 0x0),
        // % ( ) /
        (
            DELIMITER,
            1 << 0x2,
            1 << 0x5 | 1 << 0x8 | 1 << 0x9 | 1 << 0xf,
        ),
        // < >
        (DELIMITER, 1 << 0x3, 1 << 0xc | 1 << 0xe),
        // [ ] { }
        (DELIMITER, 1 << 0x5 | 1 << 0x7, 1 << 0xb | 1 << 0xd),
        (DIGIT, 1 << 0x3, 0x3ff),
        (POINT, 1 << 0x2, 1 << 0xe),
        (SIGN, 1 << 0x2, 1 << 0xb | 1 << 0xd),
    ];

    /// The lookup tables of `PRODUCTS`, by high and by low nibble: bit `k` is
    /// set where product `k` holds the nibble.
    const NIBBLES: ([u8; 16], [u8; 16]) = {
        let (mut high, mut low) = ([0u8; 16], [0u8; 16]);
        let mut k = 0;
        while k < PRODUCTS.len() {
            let mut nibble = 0;
            while nibble < 16 {
                if PRODUCTS[k].1 >> nibble & 1 == 1 {
                    high[nibble] |= 1 << k;
                }
                if PRODUCTS[k].2 >> nibble & 1 == 1 {
                    low[nibble] |= 1 << k;
                }
                nibble += 1;
            }
            k += 1;
        }
        (high, low)
    };

    /// The product bits that make up `class`.
    const fn products_of(class: u8) -> u8 {
        let (mut bits, mut k) = (0u8, 0);
        while k < PRODUCTS.len() {
            if PRODUCTS[k].0 == class {
                bits |= 1 << k;
            }
            k += 1;
        }
        bits
    }

    // The lookups give every byte exactly its class: checked at compile time.
    const _: () = {
        let mut b = 0;
        while b < 256 {
            let bits = NIBBLES.0[b >> 4] & NIBBLES.1[b & 15];
            let classes = [WS, DELIMITER, DIGIT, POINT, SIGN];
            let mut i = 0;
            while i < classes.len() {
                let looked_up = bits & products_of(classes[i]) != 0;
                assert!(looked_up == (class(b as u8) == classes[i]));
                i += 1;
            }
            b += 1;
        }
    };

    /// A block of content as bit masks: bit `j` of each is byte `j`'s class.
    struct Block {
        ws: u64,
        delimiter: u64,
        digit: u64,
        point: u64,
        sign: u64,
    }

    impl Block {
        #[target_feature(enable = "avx2")]
        fn new(bytes: &[u8; BLOCK + 3]) -> Self {
            use std::arch::x86_64::*;
            // One table in each 128-bit lane: the shuffle looks up within lanes.
            let table = |t: [u8; 16]| {
                let t = u128::from_le_bytes(t);
                let (high, low) = ((t >> 64) as i64, t as i64);
                _mm256_set_epi64x(high, low, high, low)
            };
            let (high, low) = (table(NIBBLES.0), table(NIBBLES.1));
            let nibble = _mm256_set1_epi8(0x0f);
            let halves = [0, 32].map(|at| {
                // SAFETY: 32 bytes from `at` (0 or 32) lie within `bytes`.
                let v = unsafe { _mm256_loadu_si256(bytes[at..].as_ptr().cast()) };
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble);
                let lo = _mm256_and_si256(v, nibble);
                _mm256_and_si256(_mm256_shuffle_epi8(high, hi), _mm256_shuffle_epi8(low, lo))
            });
            let mask = |class: u8| {
                let bits = _mm256_set1_epi8(products_of(class) as i8);
                let [a, b] = halves.map(|h| {
                    let none = _mm256_cmpeq_epi8(_mm256_and_si256(h, bits), _mm256_setzero_si256());
                    u64::from(!(_mm256_movemask_epi8(none) as u32))
                });
                a | b << 32
            };
            Block {
                ws: mask(WS),
                delimiter: mask(DELIMITER),
                digit: mask(DIGIT),
                point: mask(POINT),
                sign: mask(SIGN),
            }
        }

        fn regular(&self) -> u64 {
            !(self.ws | self.delimiter)
        }

        /// How many bytes from the block's start hold whole tokens and white
        /// space only: up to the first delimiter, or else up to the start of a
        /// token that touches the block's end (it may go on past it).
        fn whole_tokens(&self) -> u32 {
            if self.delimiter != 0 {
                self.delimiter.trailing_zeros()
            } else {
                BLOCK as u32 - self.regular().leading_ones()
            }
        }

        /// Whether the first `len` bytes (`whole_tokens`), which start at a
        /// token, are numbers and operators accepted wherever they stand: no
        /// `BX`, `EX` or `ID`, and no word at all when `nested` in an array or
        /// dictionary. False means "read them token by token", not "invalid"
        /// (an unknown word may be in a `BX` section, for one).
        fn plain(&self, bytes: &[u8; BLOCK + 3], len: u32, nested: bool) -> bool {
            let within = u64::MAX.checked_shr(BLOCK as u32 - len).unwrap_or(0);
            let regular = self.regular() & within;
            let starts = regular & !(regular << 1);
            let number_starts = starts & (self.digit | self.point | self.sign);
            // Adding a number's start bit to its run of regular bits carries
            // through the run and clears it; word runs are left as they were.
            // Every run ends before bit 63 (`whole_tokens`), so no carry is lost.
            let numbers = regular & !regular.wrapping_add(number_starts);
            // Only digits and points in a number, its sign aside.
            let stray = numbers & !starts & !(self.digit | self.point);
            // A number's first point carries to the end of its run, so a second
            // one in the run keeps its bit in the sum.
            let points = numbers & self.point;
            let second_point = numbers.wrapping_add(points) & points;
            // A number that does not start with a digit: the carry from its
            // start through its non-digits must land on a digit of the number.
            let non_digits = numbers & !self.digit;
            let landed = non_digits.wrapping_add(number_starts & non_digits) & !non_digits;
            let no_digit = landed & !numbers;
            if stray | second_point | no_digit != 0 {
                return false;
            }
            let mut words = starts & !number_starts;
            if words != 0 && nested {
                return false;
            }
            let (table, multiplier) = &OPERATOR_TABLE;
            let mut plain = true;
            while words != 0 {
                let j = words.trailing_zeros() as usize;
                let len = (!(regular >> j)).trailing_zeros() as usize;
                // The word's bytes, little-endian like `key` (the padding makes
                // the read safe); four of them if it is longer than any
                // operator, which no operator's key matches.
                let word = u32::from_le_bytes([bytes[j], bytes[j + 1], bytes[j + 2], bytes[j + 3]]);
                let key = word & ((1u64 << (8 * len.min(4))) - 1) as u32;
                plain &=
                    table[slot(key, *multiplier)] == key && key != BX && key != EX && key != ID;
                words &= words - 1;
            }
            plain
        }
    }
}

/// A literal string from its `(` (syntax.rs), as a content token.
fn literal_string(data: &[u8]) -> Result<usize, ContentError> {
    literal_string_len(data).ok_or(ContentError::Token)
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

    /// Content as the dummy upstream's page draws it: runs of numbers and
    /// one- or two-letter operators, some text, a few arrays and strings.
    fn page(lines: usize) -> Vec<u8> {
        let mut page = b"/GS1 gs\nBT /F1 9 Tf 54 728 Td 12 TL (a \\(line\\)) ' ET\n".to_vec();
        for i in 0..lines {
            let line = match i % 4 {
                0 => format!(
                    "0.{i:03} 0.400 -.{} rg {} 320 8 {} re f\n",
                    i % 7,
                    58 + i,
                    i * 3
                ),
                1 => format!("{} {} l\n", 320 + 2 * i, 400 - i % 13),
                2 => format!("q 1.2 w [{} 2] 0 d 0.8 0.1 0.1 RG {i} 400 m\t", i % 5),
                _ => format!("BT /F2 20 Tf +{i} 760 Td <48 65> Tj ET Q\r\n"),
            };
            page.extend_from_slice(line.as_bytes());
        }
        page
    }

    #[test]
    fn a_drawn_page_tokenizes() {
        assert_eq!(check_content(&page(400)), Ok(()));
    }

    #[cfg(target_arch = "x86_64")]
    use super::blocks::BLOCK;

    /// Every byte of a page replaced in turn by bytes that make or break
    /// tokens: the block check answers exactly as the token reader does,
    /// wherever in a block the change falls.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_block_check_answers_as_the_token_reader_does() {
        let page = page(24);
        assert!(page.len() > 8 * BLOCK);
        for at in 0..page.len() {
            for b in *b"x.-+0 \n\0([<>%/Q\xff" {
                let mut data = page.clone();
                data[at] = b;
                assert_eq!(
                    check_content(&data),
                    check_content_token_by_token(&data),
                    "byte {at} set to {b:?}: {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
    }

    /// State that outlives a block: an array, dictionary or `BX` section
    /// opened in one block and closed blocks later, wherever in a block it
    /// opens.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn open_arrays_and_bx_sections_reach_across_blocks() {
        let numbers = "1 0.5 -2 300 4.25 ".repeat(12);
        for (open, close, expected) in [
            ("[", " ]", Ok(())),
            ("[", " re ]", Err(ContentError::Token)),
            ("[", " true ]", Ok(())),
            ("<< /K", " >> BDC", Ok(())),
            ("<< /K", " f >> BDC", Err(ContentError::Token)),
            ("BX", " newop EX", Ok(())),
            ("BX", " re EX EX", Err(ContentError::Unbalanced)),
            ("BX q", " newop", Ok(())),
            ("q", " ID \u{ff} )", Ok(())),
            ("q", " Q EX", Err(ContentError::Unbalanced)),
        ] {
            for shift in 0..BLOCK {
                // Numbers after the close too, so that it falls in a block
                // rather than in the short tail.
                let data = format!("{}{open} {numbers}{close} {numbers}", " ".repeat(shift));
                let data = data.as_bytes();
                assert_eq!(
                    check_content(data),
                    expected,
                    "{open}..{close}, shifted {shift}"
                );
                assert_eq!(check_content_token_by_token(data), expected);
            }
        }
    }

    /// Tokens, good and bad, with the white space between them.
    fn pieces() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = proptest::sample::select(vec![
            "0", "12", "-3", "+.5", "0.400", "1.2.3", ".", "-", "+-1", "12abc", "5.", "re", "rg",
            "f", "l", "d0", "T*", "scn", "BX", "EX", "ID", "true", "null", "xyz", "Tjj", "(a)",
            "(", ")", "[", "]", "<<", ">>", "/N", "%c\n", "<4a>", "\u{ff}",
        ]);
        let space = proptest::sample::select(vec![" ", " ", " ", "\n", "\r\n", "\t", "\0", ""]);
        proptest::collection::vec((piece, space), 0..120).prop_map(|pieces| {
            pieces
                .into_iter()
                .flat_map(|(p, s)| [p, s])
                .collect::<String>()
                .into_bytes()
        })
    }

    proptest::proptest! {
        /// Any bytes: an answer, never a panic, and the token reader's.
        #[test]
        fn any_bytes_get_an_answer(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            proptest::prop_assert_eq!(check_content(&data), check_content_token_by_token(&data));
        }

        /// Literal strings: the vector search answers as a byte loop does.
        #[test]
        fn literal_strings_end_where_a_byte_loop_ends_them(
            tail in proptest::collection::vec(proptest::sample::select(b"()\\\\ab\n".to_vec()), 0..64)
        ) {
            let data = [&b"("[..], &tail].concat();
            let (mut depth, mut end) = (0usize, None);
            let mut i = 0;
            while let Some(&c) = data.get(i) {
                match c {
                    b'\\' => i += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            proptest::prop_assert_eq!(literal_string(&data).ok(), end);
        }

        #[test]
        fn any_tokens_get_the_token_readers_answer(data in pieces()) {
            proptest::prop_assert_eq!(check_content(&data), check_content_token_by_token(&data));
        }
    }
}
