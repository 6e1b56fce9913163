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
