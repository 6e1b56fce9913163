//! PDF character classes (ISO 32000-2 §7.2.3), shared by the object lexer
//! (pdf.rs) and the content-stream tokenizer (content.rs). Looked up rather
//! than matched: both ask for nearly every byte they read.

const WS: u8 = 1;
const DELIMITER: u8 = 2;

static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let ws = [0u8, b'\t', b'\n', 0x0c, b'\r', b' '];
    let mut i = 0;
    while i < ws.len() {
        table[ws[i] as usize] = WS;
        i += 1;
    }
    let delimiters = *b"()<>[]{}/%";
    let mut i = 0;
    while i < delimiters.len() {
        table[delimiters[i] as usize] = DELIMITER;
        i += 1;
    }
    table
};

/// White space: NUL, tab, line feed, form feed, carriage return, space.
pub(crate) const fn is_ws(b: u8) -> bool {
    CLASS[b as usize] == WS
}

/// Neither white space nor a delimiter: a byte of a number, name or keyword.
pub(crate) const fn is_regular(b: u8) -> bool {
    CLASS[b as usize] == 0
}

/// How many bytes from the start of `bytes` are regular.
pub(crate) fn regular_len(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| is_regular(b)).count()
}

/// How many bytes from the start of `bytes` are white space.
pub(crate) fn ws_len(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| is_ws(b)).count()
}

/// A literal string from its `(`: balanced parentheses, backslash escapes.
/// Returns its length, `)` included.
pub(crate) fn literal_string_len(data: &[u8]) -> Option<usize> {
    // Only backslashes and parentheses matter: found by a vector search
    // rather than byte by byte (page text is mostly strings). Each search
    // starts past the last byte found, so every byte is looked at once.
    let (mut depth, mut i) = (0usize, 0);
    while let Some(found) = data
        .get(i..)
        .and_then(|rest| memchr::memchr3(b'\\', b'(', b')', rest))
    {
        i += found;
        match data[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
        }
        i += 1;
    }
    None
}
