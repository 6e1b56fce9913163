//! PDF structural validation.
//!
//! The check follows what a reader does to open a file, and refuses anything a
//! reader would have to repair: the header, the `%%EOF` marker, the last
//! `startxref`, every cross-reference section reachable from it (classic
//! tables, xref streams, `/Prev` chains, hybrid `/XRefStm` sections), the
//! trailer's `/Root` catalog, every in-use object the sections list (its
//! offset must land exactly on `n g obj`, its body must parse, a stream's
//! `/Length` must end at `endstream`, Flate data must inflate to its end) and
//! every object inside object streams.
//!
//! Nothing here recurses or allocates in proportion to a number read from the
//! input, and the work is linear in the body: every loop over input-derived
//! counts charges one [`Work`] budget of [`WORK_PER_BODY_BYTE`] units per body
//! byte, cross-reference sections may not overlap each other or objects, and
//! only the dictionary values later checks read are kept (docs/VALIDATION.md,
//! "Work and memory bounds").

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use flate2::{Decompress, FlushDecompress, Status};

use super::content::{self, ContentError};
use super::filters::{self, FilterError};
use super::security::{FileKey, Method, Opening, SecurityError, StandardSecurity};
use super::syntax::{is_regular, is_ws, literal_string_len};
use super::{EncryptedPdf, Limits, MemoryGrant, Verification};

/// Work units one validation may spend per body byte. A unit is about what
/// lexing one byte costs; see the `COST_*` prices below.
pub const WORK_PER_BODY_BYTE: u64 = 16;
/// Work every document gets whatever its size (about a millisecond), so tiny
/// files with well-compressed object streams are not refused.
pub const MIN_WORK_UNITS: u64 = 1 << 20;
/// Work each decoded byte of an xref or object stream adds (it is all
/// parsed, and object streams compress structure several times over), up to
/// `MAX_DECODED_CREDIT_PER_BODY_BYTE` per body byte in all: the budget never
/// exceeds 24 units per body byte, plus `MIN_WORK_UNITS`.
const WORK_PER_DECODED_BYTE: u64 = 16;
const MAX_DECODED_CREDIT_PER_BODY_BYTE: u64 = 8;
/// Price of one byte the parser reads (body bytes outside stream data, and
/// every decoded byte of an xref or object stream, which is all parsed).
const COST_BYTE: u64 = 1;
/// Price of one parsed value (a number, name, string, array or dictionary).
const COST_VALUE: u64 = 16;
/// Price of one cross-reference entry or xref stream row (a hash-map update).
const COST_ENTRY: u64 = 8;
/// Table slots (xref entries, in-use entries, object-stream members, resolved
/// shapes) per body byte, plus a floor for tiny files: an object needs at
/// least 15 bytes (`1 0 obj()endobj`), so sound files stay well inside.
const SLOTS_PER_BODY_BYTE_DIVISOR: usize = 8;
const MIN_SLOTS: usize = 4096;
/// A decoded xref or object stream (kept, because it is parsed) may be at most
/// this many times the body, plus `MIN_KEPT_STREAM_BYTES`.
const KEPT_STREAM_PER_BODY_BYTE: usize = 2;
const MIN_KEPT_STREAM_BYTES: usize = 1 << 20;
/// Values stored while parsing one object (only those under keys `is_kept` accepts).
const MAX_KEPT_VALUES: usize = 1 << 16;
/// Cross-reference sections reachable through `/Prev` and `/XRefStm`.
const MAX_XREF_SECTIONS: usize = 4096;
/// Arrays and dictionaries nested inside each other.
const MAX_NESTING: usize = 64;
/// Indirect references followed to find a `/Length` or an object stream.
const MAX_RESOLVE_DEPTH: u8 = 8;

/// Working memory, as drawn from the [`MemoryGrant`]: what every validation
/// holds (the zlib state, its 32 KiB scratch, small fixed tables), ...
const BASE_MEMORY: u64 = 256 << 10;
/// ... per table slot taken (the largest entry of any table, about 40 bytes
/// with its hash-table control byte, a table's growth to twice its entries,
/// and half again while it moves) ...
const SLOT_MEMORY: u64 = 128;
/// ... per value kept while parsing one object (a dictionary entry, twice
/// over for its vector's growth) ...
const VALUE_MEMORY: u64 = 2 * std::mem::size_of::<(Cow<'static, [u8]>, Obj<'static>)>() as u64;
/// ... and for decoded data: at most this many buffers are alive at once (a
/// decrypted stream, a decoder's input and its output), each accounted at
/// the capacity of the largest one so far.
const BUFFERS_HELD: u64 = 3;
/// The grant grows in steps of this, so it is not asked for every slot.
const GRANT_STEP: u64 = 64 << 10;

/// Whether some check reads the value under a dictionary key. Every other
/// value is parsed (syntax checked) and dropped, so a huge array under an
/// unread key costs work but no memory. A `match`, not a list searched for
/// each key: it runs for every key of every object.
fn is_kept(key: &[u8]) -> bool {
    matches!(
        key,
        b"Type"
        | b"Length"
        | b"Filter"
        | b"DecodeParms"
        | b"Predictor"
        | b"Columns"
        | b"Colors"
        | b"BitsPerComponent"
        | b"Root"
        | b"Prev"
        | b"Size"
        | b"W"
        | b"Index"
        | b"XRefStm"
        | b"Encrypt"
        | b"N"
        | b"First"
        // The trailer's file identifier and the standard security handler's
        // encryption dictionary (security.rs): strings and flags, all small.
        | b"ID"
        | b"V"
        | b"R"
        | b"O"
        | b"U"
        | b"OE"
        | b"UE"
        | b"P"
        | b"EncryptMetadata"
        | b"CF"
        | b"StmF"
        // The crypt filter every producer names in /CF (ISO 32000-2 §7.6.6);
        // another name leaves the document verified by structure only.
        | b"StdCF"
        | b"CFM"
        | b"EarlyChange"
        | b"Pages"
        | b"Kids"
        | b"Count"
        | b"MediaBox"
        | b"Contents"
    )
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PdfError {
    #[error("bad header: {0}")]
    Header(&'static str),
    #[error("no %%EOF marker at the end")]
    EofMarker,
    #[error("bad startxref: {0}")]
    StartXref(&'static str),
    #[error("bad cross-reference section at offset {offset}: {what}")]
    Xref { offset: usize, what: &'static str },
    #[error("cross-reference entry for object {num} is wrong: {what}")]
    XrefEntry { num: u32, what: &'static str },
    #[error("bad trailer: {0}")]
    Trailer(&'static str),
    #[error("bad document catalog: {0}")]
    Root(&'static str),
    #[error("bad page tree: {0}")]
    PageTree(&'static str),
    #[error("bad object {num} at offset {offset}: {what}")]
    Object {
        num: u32,
        offset: usize,
        what: &'static str,
    },
    #[error("bad stream in object {num}: {what}")]
    Stream { num: u32, what: &'static str },
    #[error("truncated: {0}")]
    Truncated(&'static str),
    #[error("encrypted, needs a password, and --encrypted-pdf is refuse")]
    Encrypted,
    #[error("bad encryption dictionary: {0}")]
    Encryption(&'static str),
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
}

impl PdfError {
    /// Bounded metric label; every value is listed in `REJECTION_REASONS`.
    pub fn reason(&self) -> &'static str {
        match self {
            PdfError::Header(_) => "pdf_header",
            PdfError::EofMarker => "pdf_eof_marker",
            PdfError::StartXref(_) => "pdf_startxref",
            PdfError::Xref { .. } | PdfError::XrefEntry { .. } => "pdf_xref",
            PdfError::Trailer(_) => "pdf_trailer",
            PdfError::Root(_) => "pdf_root",
            PdfError::PageTree(_) => "pdf_page_tree",
            PdfError::Object { .. } => "pdf_object",
            PdfError::Stream { .. } => "pdf_stream",
            PdfError::Truncated(_) => "pdf_truncated",
            PdfError::Encrypted | PdfError::Encryption(_) => "pdf_encrypted",
            PdfError::Limit(_) => "pdf_limit",
        }
    }

    /// One value of every variant, for the test that checks the label set.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<PdfError> {
        vec![
            PdfError::Header(""),
            PdfError::EofMarker,
            PdfError::StartXref(""),
            PdfError::Xref {
                offset: 0,
                what: "",
            },
            PdfError::XrefEntry { num: 0, what: "" },
            PdfError::Trailer(""),
            PdfError::Root(""),
            PdfError::PageTree(""),
            PdfError::Object {
                num: 0,
                offset: 0,
                what: "",
            },
            PdfError::Stream { num: 0, what: "" },
            PdfError::Truncated(""),
            PdfError::Encrypted,
            PdfError::Encryption(""),
            PdfError::Limit(""),
        ]
    }
}

/// Bytes a reader searches for `%PDF-` (pdf.js, pdfium and poppler all look
/// in the first 1,024 bytes, and read every offset from the header on).
pub(crate) const HEADER_WINDOW: usize = 1024;
/// Bytes at the end of the file a reader searches for `startxref` (mupdf and
/// qpdf search no further and repair the file if it is not there).
const TAIL_WINDOW: usize = 1024;

/// Where `%PDF-` starts, if it does within the bytes a reader searches.
pub(crate) fn header_offset(bytes: &[u8]) -> Option<usize> {
    let window = bytes.get(..HEADER_WINDOW).unwrap_or(bytes);
    window.windows(5).position(|w| w == b"%PDF-")
}

/// Validates a complete PDF file with the default [`Limits`].
pub fn validate_pdf(bytes: &[u8]) -> Result<Verification, PdfError> {
    validate_pdf_with(bytes, &Limits::default())
}

/// Validates a complete PDF file.
///
/// Framing follows the tolerance table in docs/VALIDATION.md: bytes before
/// `%PDF-` within the first 1,024 (offsets then count from the header, as
/// every reader counts them), and after the final `%%EOF` only whitespace,
/// NUL padding and DOS end-of-file marks (Ctrl-Z), never bytes that could be
/// a cut-off incremental update.
pub fn validate_pdf_with(bytes: &[u8], limits: &Limits) -> Result<Verification, PdfError> {
    validate_pdf_within(bytes, limits, &mut super::unmetered)
}

/// [`validate_pdf_with`], drawing working memory from `grant`.
pub(crate) fn validate_pdf_within(
    bytes: &[u8],
    limits: &Limits,
    grant: &mut dyn MemoryGrant,
) -> Result<Verification, PdfError> {
    let start =
        header_offset(bytes).ok_or(PdfError::Header("no %PDF- in the first 1,024 bytes"))?;
    let bytes = bytes.get(start..).unwrap_or_default();
    check_header(bytes)?;
    let eof = eof_marker(bytes)?;
    let startxref = startxref(bytes, eof)?;
    let mut doc = Document::new(bytes, limits, grant);
    let trailer = doc.read_xref_chain(startxref)?;
    let verification = doc.open_encryption(&trailer, limits)?;
    let (root_num, root_gen) = trailer
        .root
        .ok_or(PdfError::Trailer("no /Root reference"))?;
    let pages = match doc.resolve(root_num, root_gen, 0)? {
        Shape::Dict(DictShape::Catalog { pages }) => Some(pages),
        // In an object stream of a document that needs a password: its page
        // tree cannot be walked.
        Shape::Sealed => None,
        Shape::Dict(_) => {
            return Err(PdfError::Root("/Root is not /Type /Catalog"));
        }
        Shape::Missing => return Err(PdfError::Root("/Root is not an object in use")),
        _ => return Err(PdfError::Root("/Root is not a dictionary")),
    };
    // The page tree first: it names the content streams the object walk
    // then decodes and tokenizes.
    if let Some(pages) = pages {
        doc.check_page_tree(pages)?;
    }
    doc.check_in_use_objects()?;
    doc.check_compressed_entries()?;
    Ok(verification)
}

/// The budget one validation spends: work units and table slots, both fixed
/// multiples of the body's size (running out is `pdf_limit`), and the
/// working memory those and the decoded streams need, drawn from the grant
/// before it is used.
struct Work<'g> {
    units_left: u64,
    /// What decoded stream bytes may still add to `units_left`.
    credit_left: u64,
    slots: usize,
    slots_left: usize,
    kept_stream_cap: usize,
    /// Values the current top-level parse may still store.
    kept_values_left: usize,
    /// The most values one parse stored, and the largest decoded buffer.
    most_values: usize,
    largest_buffer: usize,
    granted: u64,
    grant: &'g mut dyn MemoryGrant,
}

impl<'g> Work<'g> {
    fn new(body_len: usize, grant: &'g mut dyn MemoryGrant) -> Self {
        let slots = body_len / SLOTS_PER_BODY_BYTE_DIVISOR + MIN_SLOTS;
        Work {
            units_left: WORK_PER_BODY_BYTE
                .saturating_mul(body_len as u64)
                .saturating_add(MIN_WORK_UNITS),
            credit_left: MAX_DECODED_CREDIT_PER_BODY_BYTE.saturating_mul(body_len as u64),
            slots,
            slots_left: slots,
            kept_stream_cap: body_len
                .saturating_mul(KEPT_STREAM_PER_BODY_BYTE)
                .saturating_add(MIN_KEPT_STREAM_BYTES),
            kept_values_left: MAX_KEPT_VALUES,
            most_values: 0,
            largest_buffer: 0,
            granted: 0,
            grant,
        }
    }

    /// Working memory accounted so far.
    fn memory(&self) -> u64 {
        let slots = (self.slots - self.slots_left) as u64;
        BASE_MEMORY
            + slots * SLOT_MEMORY
            + self.most_values as u64 * VALUE_MEMORY
            + BUFFERS_HELD * self.largest_buffer as u64
    }

    /// Draws what `memory()` has grown to from the grant.
    fn draw(&mut self) -> Result<(), PdfError> {
        let needed = self.memory();
        if needed > self.granted {
            let ask = needed.next_multiple_of(GRANT_STEP);
            if !self.grant.grow_to(ask) {
                return Err(PdfError::Limit("validation memory refused"));
            }
            self.granted = ask;
        }
        Ok(())
    }

    /// A decoded buffer about to grow to `capacity` bytes.
    fn buffer(&mut self, capacity: usize) -> Result<(), PdfError> {
        if capacity > self.largest_buffer {
            self.largest_buffer = capacity;
            self.draw()?;
        }
        Ok(())
    }

    fn charge(&mut self, units: u64) -> Result<(), PdfError> {
        self.units_left = self
            .units_left
            .checked_sub(units)
            .ok_or(PdfError::Limit("work budget exhausted"))?;
        Ok(())
    }

    /// Adds the work `n` decoded xref or object stream bytes bring.
    fn credit_decoded(&mut self, n: usize) {
        let credit = WORK_PER_DECODED_BYTE
            .saturating_mul(n as u64)
            .min(self.credit_left);
        self.credit_left -= credit;
        self.units_left = self.units_left.saturating_add(credit);
    }

    fn bytes(&mut self, n: usize) -> Result<(), PdfError> {
        self.charge((n as u64).saturating_mul(COST_BYTE))
    }

    /// One more entry in a table that lives until the end of the validation.
    fn slot(&mut self) -> Result<(), PdfError> {
        self.slots_left = self
            .slots_left
            .checked_sub(1)
            .ok_or(PdfError::Limit("more table entries than the body can hold"))?;
        self.draw()
    }
}

fn check_header(bytes: &[u8]) -> Result<(), PdfError> {
    let version = bytes.get(5..8).ok_or(PdfError::Header("too short"))?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(PdfError::Header("does not start with %PDF-"));
    }
    let known = matches!(version, [b'1', b'.', b'0'..=b'7'] | b"2.0");
    if !known {
        return Err(PdfError::Header("unknown version"));
    }
    if !bytes.get(8).is_some_and(|&b| is_ws(b)) {
        return Err(PdfError::Header("version not followed by an end of line"));
    }
    Ok(())
}

/// Position of the final `%%EOF`, which only whitespace (NUL included) and
/// Ctrl-Z may follow.
fn eof_marker(bytes: &[u8]) -> Result<usize, PdfError> {
    let end = bytes
        .iter()
        .rposition(|&b| !is_ws(b) && b != CTRL_Z)
        .map_or(0, |i| i + 1);
    let trimmed = bytes.get(..end).unwrap_or_default();
    if trimmed.ends_with(b"%%EOF") {
        Ok(end - 5)
    } else {
        Err(PdfError::EofMarker)
    }
}

/// The DOS end-of-file mark some old tools append.
const CTRL_Z: u8 = 0x1a;

/// The offset named by the last `startxref`, which must directly precede
/// `%%EOF` and lie within the last `TAIL_WINDOW` bytes.
fn startxref(bytes: &[u8], eof: usize) -> Result<usize, PdfError> {
    let from = bytes.len().saturating_sub(TAIL_WINDOW).min(eof);
    let window = bytes.get(from..eof).unwrap_or_default();
    let at = window
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or(PdfError::StartXref(
            "no startxref before %%EOF in the last 1,024 bytes",
        ))?;
    let mut lx = Lexer::new(bytes, from + at + 9);
    if lx.skip_pure_ws() == 0 {
        return Err(PdfError::StartXref("startxref not followed by whitespace"));
    }
    let offset = lx
        .uint()
        .ok_or(PdfError::StartXref("startxref has no offset"))?;
    lx.skip_pure_ws();
    if lx.pos != eof {
        return Err(PdfError::StartXref(
            "unexpected bytes between startxref and %%EOF",
        ));
    }
    match usize::try_from(offset) {
        Ok(o) if o < eof => Ok(o),
        _ => Err(PdfError::StartXref("offset beyond the end of the file")),
    }
}

// ---------------------------------------------------------------------------
// Cross-reference sections and objects

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Free,
    InUse { offset: usize, generation: u16 },
    Compressed { stream: u32, index: u32 },
}

/// What a resolved object is, as far as the checks need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Missing,
    Int(i64),
    Dict(DictShape),
    Stream,
    Array,
    Other,
    /// Held in an object stream that cannot be decrypted without a password.
    Sealed,
}

/// What the page tree check needs of a dictionary. Readers (poppler, pdf.js)
/// take an untyped dictionary for a page tree node if it has `/Kids` and for
/// a page if not; so does this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DictShape {
    Catalog {
        /// `/Pages` if it is a reference.
        pages: Option<(u32, u16)>,
    },
    Pages {
        kids: RefList,
        count: Option<i64>,
        media_box: bool,
    },
    Page {
        contents: RefList,
        media_box: bool,
    },
    Other,
}

/// References stored in `Document::refs` (a `/Kids` or `/Contents` array, or
/// a single reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefList {
    Absent,
    /// Present but not a reference or an array of references.
    Invalid,
    Refs {
        start: usize,
        len: usize,
    },
}

#[derive(Default)]
struct TrailerInfo<'a> {
    root: Option<(u32, u16)>,
    /// The newest trailer's `/Encrypt` (a reference, or rarely the dictionary).
    encrypt: Option<Obj<'a>>,
    /// The first string of the newest `/ID`, as bytes.
    file_id: Option<Vec<u8>>,
}

/// How stream data is to be read, from the trailer's `/Encrypt`.
enum Crypt {
    Plain,
    /// Opened with the empty user password: streams are decrypted, then checked.
    Decrypt {
        key: FileKey,
        encrypt_metadata: bool,
    },
    /// A real password is needed: stream data and object streams are opaque,
    /// so only the structure around them is checked.
    Sealed,
}

/// The standard security handler's entries of an `/Encrypt` dictionary,
/// strings decoded (ISO 32000-2 §7.6.4, Table 21 and Table 27).
struct EncryptParams {
    revision: u8,
    key_len: usize,
    owner: Vec<u8>,
    user: Vec<u8>,
    user_encrypted_key: Option<Vec<u8>>,
    permissions: i32,
    encrypt_metadata: bool,
    streams: Method,
}

impl EncryptParams {
    /// `None` when docproxy cannot try the empty password: another security
    /// handler (public-key ones need a certificate), or streams encrypted by
    /// a crypt filter not named `/StdCF`.
    fn read(dict: &Dict<'_>) -> Result<Option<Self>, PdfError> {
        let bad = PdfError::Encryption;
        match dict.name(b"Filter") {
            Some(b"Standard") => {}
            Some(_) => return Ok(None),
            None => return Err(bad("no security handler /Filter")),
        }
        let int = |key: &[u8]| match dict.get(key) {
            Some(Obj::Int(n)) => Some(*n),
            _ => None,
        };
        let string = |key: &[u8]| match dict.get(key) {
            Some(Obj::Str(raw)) => Some(string_bytes(raw)),
            _ => None,
        };
        let version = int(b"V").ok_or(bad("no /V"))?;
        let revision = int(b"R")
            .and_then(|r| u8::try_from(r).ok())
            .ok_or(bad("no /R"))?;
        let bits = int(b"Length").unwrap_or(40);
        let (streams, key_len) = match version {
            1 => (Method::Rc4, 5),
            2 | 3 => (Method::Rc4, usize::try_from(bits / 8).unwrap_or(0)),
            4 | 5 => {
                let method = match dict.name(b"StmF") {
                    None | Some(b"Identity") => Method::Identity,
                    Some(b"StdCF") => {
                        let Some(Obj::Dict(filters)) = dict.get(b"CF") else {
                            return Err(bad("/StmF names a crypt filter /CF lacks"));
                        };
                        let Some(Obj::Dict(filter)) = filters.get(b"StdCF") else {
                            return Err(bad("/StmF names a crypt filter /CF lacks"));
                        };
                        match filter.name(b"CFM") {
                            None | Some(b"None") => Method::Identity,
                            Some(b"V2") => Method::Rc4,
                            Some(b"AESV2") => Method::AesV2,
                            Some(b"AESV3") => Method::AesV3,
                            Some(_) => return Err(bad("unknown crypt filter method")),
                        }
                    }
                    Some(_) => return Ok(None),
                };
                (method, if version == 4 { 16 } else { 32 })
            }
            _ => return Err(bad("unsupported /V")),
        };
        Ok(Some(EncryptParams {
            revision,
            key_len,
            owner: string(b"O").ok_or(bad("no /O string"))?,
            user: string(b"U").ok_or(bad("no /U string"))?,
            user_encrypted_key: string(b"UE"),
            // A 32-bit field some writers print unsigned.
            permissions: int(b"P").ok_or(bad("no /P"))? as i32,
            encrypt_metadata: !matches!(dict.get(b"EncryptMetadata"), Some(Obj::Bool(false))),
            streams,
        }))
    }

    fn security<'s>(&'s self, file_id: &'s [u8]) -> StandardSecurity<'s> {
        StandardSecurity {
            revision: self.revision,
            key_len: self.key_len,
            owner: &self.owner,
            user: &self.user,
            user_encrypted_key: self.user_encrypted_key.as_deref(),
            permissions: self.permissions,
            encrypt_metadata: self.encrypt_metadata,
            streams: self.streams,
            file_id,
        }
    }
}

/// An indirect object read from its xref offset, framing checked.
struct Loaded<'a> {
    value: Obj<'a>,
    stream: Option<&'a [u8]>,
    /// Just after `endobj`.
    end: usize,
}

/// What occupies a byte range: objects and cross-reference sections may not
/// overlap, which keeps every byte parsed a fixed number of times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Classic,
    /// An xref stream is also an object; its own in-use entry may cover it.
    Stream,
}

struct Document<'a> {
    buf: &'a [u8],
    work: Work<'a>,
    /// Newest entry for each object number.
    xref: HashMap<u32, Entry>,
    /// Every in-use entry of every section, shadowed ones included: an older
    /// revision's objects must be intact too.
    in_use: Vec<(usize, u32, u16)>,
    /// Cross-reference sections read: start -> (end, kind).
    sections: BTreeMap<usize, (usize, SectionKind)>,
    /// Shapes of type-1 objects by offset, so shared `/Length` objects are read once.
    shapes: HashMap<usize, Shape>,
    /// Decoded object streams: the object numbers and shapes they hold, in order.
    object_streams: HashMap<u32, Vec<(u32, Shape)>>,
    /// The references `RefList`s point into.
    refs: Vec<(u32, u16)>,
    /// Page content streams, found by the page tree walk: their decoded data
    /// must tokenize as content-stream syntax.
    content_streams: HashSet<(u32, u16)>,
    inflater: Inflater,
    crypt: Crypt,
}

impl<'a> Document<'a> {
    fn new(buf: &'a [u8], limits: &Limits, grant: &'a mut dyn MemoryGrant) -> Self {
        Document {
            buf,
            work: Work::new(buf.len(), grant),
            xref: HashMap::new(),
            in_use: Vec::new(),
            sections: BTreeMap::new(),
            shapes: HashMap::new(),
            object_streams: HashMap::new(),
            refs: Vec::new(),
            content_streams: HashSet::new(),
            inflater: Inflater::new(limits.max_inflated_bytes),
            crypt: Crypt::Plain,
        }
    }

    /// Reads the section at `start` and every section it chains to, newest
    /// first, so the first entry seen for an object number wins.
    fn read_xref_chain(&mut self, start: usize) -> Result<TrailerInfo<'a>, PdfError> {
        let mut info = TrailerInfo::default();
        let mut visited = HashSet::new();
        let mut next = Some(start);
        let mut newest = true;
        while let Some(offset) = next {
            if !visited.insert(offset) {
                return Err(PdfError::Xref {
                    offset,
                    what: "/Prev chain loops",
                });
            }
            if visited.len() > MAX_XREF_SECTIONS {
                return Err(PdfError::Limit("too many cross-reference sections"));
            }
            self.check_section_start(offset)?;
            let rest = self.buf.get(offset..).unwrap_or_default();
            // As for objects, landing inside a word (`start|xref`) is a bad offset.
            let mid_word = offset > 0 && self.buf.get(offset - 1).is_some_and(|&b| is_regular(b));
            let trailer = if mid_word {
                return Err(PdfError::Xref {
                    offset,
                    what: "offset points inside a word",
                });
            } else if rest.starts_with(b"xref") {
                let trailer = self.classic_section(offset)?;
                if let Some(stm) = trailer.get(b"XRefStm") {
                    let stm =
                        as_offset(stm).ok_or(PdfError::Trailer("/XRefStm is not an offset"))?;
                    if !visited.insert(stm) {
                        return Err(PdfError::Xref {
                            offset: stm,
                            what: "/XRefStm seen twice",
                        });
                    }
                    self.check_section_start(stm)?;
                    self.stream_section(stm)?;
                }
                trailer
            } else if rest.first().is_some_and(u8::is_ascii_digit) {
                self.stream_section(offset)?
            } else if newest {
                return Err(PdfError::StartXref(
                    "does not point at a cross-reference section",
                ));
            } else {
                return Err(PdfError::Xref {
                    offset,
                    what: "/Prev does not point at a cross-reference section",
                });
            };
            if newest && !matches!(trailer.get(b"Size"), Some(Obj::Int(n)) if *n >= 0) {
                return Err(PdfError::Trailer("no /Size"));
            }
            if info.root.is_none() {
                match trailer.get(b"Root") {
                    Some(Obj::Ref(num, generation)) => info.root = Some((*num, *generation)),
                    Some(_) => return Err(PdfError::Trailer("/Root is not a reference")),
                    None => {}
                }
            }
            if newest {
                info.encrypt = trailer
                    .get(b"Encrypt")
                    .filter(|e| **e != Obj::Null)
                    .cloned();
                if let Some(Obj::Array(id)) = trailer.get(b"ID")
                    && let Some(Obj::Str(first)) = id.first()
                {
                    info.file_id = Some(string_bytes(first));
                }
            }
            next = match trailer.get(b"Prev") {
                None => None,
                Some(prev) => {
                    Some(as_offset(prev).ok_or(PdfError::Trailer("/Prev is not an offset"))?)
                }
            };
            newest = false;
        }
        Ok(info)
    }

    /// A section may not start inside one already read (a `/Prev` into the
    /// previous trailer's comment would make every level re-scan the rest).
    fn check_section_start(&self, offset: usize) -> Result<(), PdfError> {
        let inside = self
            .sections
            .range(..=offset)
            .next_back()
            .is_some_and(|(_, &(end, _))| offset < end);
        if inside {
            return Err(PdfError::Xref {
                offset,
                what: "section starts inside another cross-reference section",
            });
        }
        Ok(())
    }

    /// Records a section just read; it may not contain one read before.
    fn add_section(&mut self, start: usize, end: usize, kind: SectionKind) -> Result<(), PdfError> {
        if self.sections.range(start..end).next().is_some() {
            return Err(PdfError::Xref {
                offset: start,
                what: "section contains another cross-reference section",
            });
        }
        self.sections.insert(start, (end, kind));
        Ok(())
    }

    fn add_entry(&mut self, num: u32, entry: Entry) -> Result<(), PdfError> {
        self.work.charge(COST_ENTRY)?;
        if let Entry::InUse { offset, generation } = entry {
            if offset >= self.buf.len() {
                return Err(PdfError::XrefEntry {
                    num,
                    what: "offset beyond the end of the file",
                });
            }
            self.work.slot()?;
            self.in_use.push((offset, num, generation));
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = self.xref.entry(num) {
            self.work.slot()?;
            slot.insert(entry);
        }
        Ok(())
    }

    /// A classic `xref` table and its trailer dictionary.
    fn classic_section(&mut self, offset: usize) -> Result<Dict<'a>, PdfError> {
        let bad = |what| PdfError::Xref { offset, what };
        let mut lx = Lexer::new(self.buf, offset);
        if !lx.eat_keyword(b"xref") {
            return Err(bad("missing xref keyword"));
        }
        loop {
            let before = lx.pos;
            lx.skip_ws();
            self.work.bytes(lx.pos - before)?;
            if lx.eat_keyword(b"trailer") {
                break;
            }
            let first = lx.uint().ok_or(bad("bad subsection header"))?;
            if lx.skip_pure_ws() == 0 {
                return Err(bad("bad subsection header"));
            }
            let count = lx.uint().ok_or(bad("bad subsection header"))?;
            lx.skip_ws();
            let available = (lx.rest().len() / 18) as u64;
            if count > available {
                return Err(PdfError::Truncated("xref subsection runs past the end"));
            }
            for i in 0..count {
                let num = first
                    .checked_add(i)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(bad("object number too large"))?;
                let entry = parse_classic_entry(lx.rest()).ok_or(bad("malformed entry"))?;
                lx.pos += 18;
                lx.skip_pure_ws();
                self.add_entry(num, entry)?;
            }
        }
        let before = lx.pos;
        let trailer = parse_top(&mut lx, Keep::Keys, &mut self.work).map_err(|fail| {
            fail.into_pdf_error(|_| PdfError::Trailer("trailer is not a dictionary"))
        })?;
        self.work.bytes(lx.pos - before)?;
        self.add_section(offset, lx.pos, SectionKind::Classic)?;
        match trailer {
            Obj::Dict(d) => Ok(d),
            _ => Err(PdfError::Trailer("trailer is not a dictionary")),
        }
    }

    /// An xref stream object; returns its dictionary, which acts as the trailer.
    fn stream_section(&mut self, offset: usize) -> Result<Dict<'a>, PdfError> {
        let bad = |what| PdfError::Xref { offset, what };
        let (num, generation, _) = object_header(self.buf, offset).ok_or(bad("not an object"))?;
        let Loaded { value, stream, end } = self.load(offset, num, generation, 0)?;
        self.add_section(offset, end, SectionKind::Stream)?;
        let (Obj::Dict(dict), Some(data)) = (value, stream) else {
            return Err(bad("not a stream"));
        };
        if dict.name(b"Type") != Some(b"XRef") {
            return Err(bad("stream is not /Type /XRef"));
        }
        let decoded = self.decode_kept(num, &dict, data)?;
        let widths: Vec<usize> = match dict.get(b"W") {
            Some(Obj::Array(w)) if w.len() == 3 => w
                .iter()
                .map(|x| match x {
                    Obj::Int(n @ 0..=8) => Ok(*n as usize),
                    _ => Err(bad("/W field width is not 0..=8")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(bad("/W is not an array of three widths")),
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(bad("/W describes empty entries"));
        }
        let size = match dict.get(b"Size") {
            Some(Obj::Int(n)) if *n >= 0 => *n,
            _ => return Err(bad("/Size is not a count")),
        };
        let default_index = [Obj::Int(0), Obj::Int(size)];
        let index = match dict.get(b"Index") {
            None => &default_index[..],
            Some(Obj::Array(a)) if a.len() % 2 == 0 => a.as_slice(),
            Some(_) => return Err(bad("/Index is not an array of pairs")),
        };
        let mut ranges = Vec::with_capacity(index.len() / 2);
        let mut rows = 0u64;
        for pair in index.chunks_exact(2) {
            let (Obj::Int(first @ 0..), Obj::Int(count @ 0..)) = (&pair[0], &pair[1]) else {
                return Err(bad("/Index holds a negative or non-integer value"));
            };
            ranges.push((*first as u64, *count as u64));
            rows = rows.saturating_add(*count as u64);
        }
        if rows.saturating_mul(row as u64) > decoded.len() as u64 {
            return Err(bad("stream data shorter than /Index announces"));
        }
        let mut fields = decoded.chunks_exact(row);
        for (first, count) in ranges {
            for i in 0..count {
                let num = first
                    .checked_add(i)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(bad("object number too large"))?;
                let entry = fields
                    .next()
                    .ok_or(bad("stream data shorter than /Index announces"))?;
                let (a, rest) = entry.split_at(widths[0]);
                let (b, c) = rest.split_at(widths[1]);
                let kind = if widths[0] == 0 { 1 } else { be(a) };
                let entry = match kind {
                    1 => Entry::InUse {
                        offset: usize::try_from(be(b)).map_err(|_| PdfError::XrefEntry {
                            num,
                            what: "offset beyond the end of the file",
                        })?,
                        generation: u16::try_from(be(c))
                            .map_err(|_| bad("generation above 65535"))?,
                    },
                    2 => Entry::Compressed {
                        stream: u32::try_from(be(b))
                            .map_err(|_| bad("object stream number too large"))?,
                        index: u32::try_from(be(c))
                            .map_err(|_| bad("object stream index too large"))?,
                    },
                    // Type 0 is free; other types are null references.
                    _ => Entry::Free,
                };
                self.add_entry(num, entry)?;
            }
        }
        Ok(dict)
    }

    /// Reads the object an xref entry points at: `num generation obj`, a value, and
    /// for a stream, exactly `/Length` bytes of data followed by `endstream`;
    /// then `endobj`.
    fn load(
        &mut self,
        offset: usize,
        num: u32,
        generation: u16,
        depth: u8,
    ) -> Result<Loaded<'a>, PdfError> {
        let buf = self.buf;
        let obj_err = |what| PdfError::Object { num, offset, what };
        let body = match object_header(buf, offset) {
            Some((n, g, body)) if n == num && g == generation => body,
            Some(_) => {
                return Err(PdfError::XrefEntry {
                    num,
                    what: "offset points at another object",
                });
            }
            None => {
                return Err(PdfError::XrefEntry {
                    num,
                    what: "offset does not point at `n g obj`",
                });
            }
        };
        let mut lx = Lexer::new(buf, body);
        // Only the values under keys `is_kept` accepts are stored, at most
        // `MAX_KEPT_VALUES`, so one parse serves every caller.
        let value = parse_top(&mut lx, Keep::Keys, &mut self.work)
            .map_err(|fail| fail.into_pdf_error(obj_err))?;
        lx.skip_ws();
        self.work.bytes(lx.pos - offset)?;
        let mut stream = None;
        if lx.eat_keyword(b"stream") {
            let Obj::Dict(dict) = &value else {
                return Err(obj_err("stream without a dictionary"));
            };
            if !(lx.eat(b"\r\n") || lx.eat(b"\n") || lx.eat(b"\r")) {
                return Err(PdfError::Stream {
                    num,
                    what: "stream keyword not followed by an end of line",
                });
            }
            let length = match dict.get(b"Length") {
                Some(Obj::Int(n)) => Shape::Int(*n),
                Some(Obj::Ref(n, g)) => self.resolve(*n, *g, depth + 1)?,
                _ => Shape::Missing,
            };
            let length = match length {
                Shape::Int(n) => usize::try_from(n).map_err(|_| PdfError::Stream {
                    num,
                    what: "/Length is negative",
                })?,
                _ => {
                    return Err(PdfError::Stream {
                        num,
                        what: "/Length is not an integer",
                    });
                }
            };
            let end = lx.pos.checked_add(length).filter(|&e| e <= buf.len());
            let end = end.ok_or(PdfError::Truncated(
                "stream data runs past the end of the file",
            ))?;
            stream = buf.get(lx.pos..end);
            lx.pos = end;
            let before = lx.pos;
            lx.skip_pure_ws();
            if !lx.eat_keyword(b"endstream") {
                return Err(PdfError::Stream {
                    num,
                    what: "/Length does not end at endstream",
                });
            }
            lx.skip_ws();
            self.work.bytes(lx.pos - before)?;
        }
        if !lx.eat_keyword(b"endobj") {
            return Err(obj_err("missing endobj"));
        }
        Ok(Loaded {
            value,
            stream,
            end: lx.pos,
        })
    }

    /// Follows a reference through the newest xref entries.
    fn resolve(&mut self, num: u32, generation: u16, depth: u8) -> Result<Shape, PdfError> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err(PdfError::Limit("reference chain too deep"));
        }
        match self.xref.get(&num).copied() {
            None | Some(Entry::Free) => Ok(Shape::Missing),
            Some(Entry::InUse {
                offset,
                generation: g,
            }) => {
                if g != generation {
                    return Ok(Shape::Missing);
                }
                if let Some(shape) = self.shapes.get(&offset) {
                    return Ok(*shape);
                }
                let loaded = self.load(offset, num, g, depth)?;
                let shape = self.shape_of(&loaded.value, loaded.stream.is_some())?;
                self.work.slot()?;
                self.shapes.insert(offset, shape);
                Ok(shape)
            }
            Some(Entry::Compressed { stream, index }) => {
                if generation != 0 {
                    return Ok(Shape::Missing);
                }
                if matches!(self.crypt, Crypt::Sealed) {
                    return Ok(Shape::Sealed);
                }
                let objects = self.object_stream(stream, depth + 1)?;
                match objects.get(index as usize) {
                    Some(&(n, shape)) if n == num => Ok(shape),
                    _ => Err(PdfError::XrefEntry {
                        num,
                        what: "not found in its object stream",
                    }),
                }
            }
        }
    }

    /// Decodes object stream `num` once, parsing every object it holds.
    fn object_stream(&mut self, num: u32, depth: u8) -> Result<&[(u32, Shape)], PdfError> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err(PdfError::Limit("reference chain too deep"));
        }
        if !self.object_streams.contains_key(&num) {
            let Some(Entry::InUse { offset, generation }) = self.xref.get(&num).copied() else {
                return Err(PdfError::XrefEntry {
                    num,
                    what: "object stream is not an uncompressed object in use",
                });
            };
            let loaded = self.load(offset, num, generation, depth)?;
            let objects = self.parse_object_stream(num, generation, offset, loaded)?;
            self.object_streams.insert(num, objects);
        }
        Ok(self
            .object_streams
            .get(&num)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    fn parse_object_stream(
        &mut self,
        num: u32,
        generation: u16,
        offset: usize,
        loaded: Loaded<'a>,
    ) -> Result<Vec<(u32, Shape)>, PdfError> {
        let bad = |what| PdfError::Object { num, offset, what };
        let (Obj::Dict(dict), Some(data)) = (loaded.value, loaded.stream) else {
            return Err(bad("object stream is not a stream"));
        };
        if dict.name(b"Type") != Some(b"ObjStm") {
            return Err(bad("object stream is not /Type /ObjStm"));
        }
        let data = self
            .stream_data(num, generation, &dict, data)?
            .ok_or(bad("object stream of a sealed document"))?;
        let decoded = self.decode_kept(num, &dict, &data)?;
        let (Some(Obj::Int(count)), Some(Obj::Int(first))) = (dict.get(b"N"), dict.get(b"First"))
        else {
            return Err(bad("object stream without /N and /First"));
        };
        let first = usize::try_from(*first)
            .ok()
            .filter(|&f| f <= decoded.len())
            .ok_or(bad("bad /First"))?;
        let count = u64::try_from(*count).map_err(|_| bad("negative /N"))?;
        let mut header = Lexer::new(&decoded[..first], 0);
        let mut objects = Vec::new();
        // Offsets must increase and objects must not overlap, which also
        // keeps the parsing work linear in the stream's size.
        let mut free_from = first;
        for _ in 0..count {
            self.work.charge(COST_ENTRY)?;
            header.skip_ws();
            let obj_num = header
                .uint()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(bad("bad object stream header"))?;
            header.skip_ws();
            let rel = header.uint().ok_or(bad("bad object stream header"))?;
            let at = usize::try_from(rel).ok().and_then(|r| r.checked_add(first));
            let at = at
                .filter(|&a| a < decoded.len())
                .ok_or(bad("object offset beyond the object stream"))?;
            if at < free_from {
                return Err(bad(
                    "objects in the object stream overlap or are out of order",
                ));
            }
            let mut lx = Lexer::new(&decoded, at);
            // Only the shape is stored: the value is dropped right here.
            let value = parse_top(&mut lx, Keep::Keys, &mut self.work).map_err(|fail| {
                fail.into_pdf_error(|what| PdfError::Object {
                    num: obj_num,
                    offset,
                    what,
                })
            })?;
            free_from = lx.pos;
            self.work.slot()?;
            let shape = self.shape_of(&value, false)?;
            objects.push((obj_num, shape));
        }
        Ok(objects)
    }

    /// Decodes an xref or object stream whose bytes are needed (Flate or no
    /// filter, with an optional PNG predictor). Every decoded byte is charged:
    /// all of it is parsed.
    fn decode_kept(&mut self, num: u32, dict: &Dict<'_>, data: &[u8]) -> Result<Vec<u8>, PdfError> {
        let cap = self.work.kept_stream_cap;
        filter_names(num, dict)?;
        let mut out = match filter_kind(dict) {
            FilterKind::None => {
                self.work.buffer(data.len())?;
                data.to_vec()
            }
            _ if data.is_empty() => Vec::new(),
            FilterKind::Flate => {
                let mut out = Vec::new();
                self.inflater
                    .inflate(num, data, Some((&mut out, &mut self.work)))?;
                out
            }
            FilterKind::Other => {
                return Err(PdfError::Stream {
                    num,
                    what: "unsupported filter on an xref or object stream",
                });
            }
        };
        if out.len() > cap {
            return Err(PdfError::Limit("xref or object stream too large"));
        }
        self.work.credit_decoded(out.len());
        self.work.bytes(out.len())?;
        let params = match dict.get(b"DecodeParms") {
            Some(Obj::Array(a)) => a.first(),
            other => other,
        };
        if let Some(Obj::Dict(params)) = params {
            let int = |key, default| match params.get(key) {
                Some(Obj::Int(n)) => *n,
                _ => default,
            };
            let predictor = int(b"Predictor".as_slice(), 1);
            if predictor >= 10 {
                let (columns, colors, bits) = (
                    int(b"Columns".as_slice(), 1),
                    int(b"Colors".as_slice(), 1),
                    int(b"BitsPerComponent".as_slice(), 8),
                );
                let sane = (1..=1 << 24).contains(&columns)
                    && (1..=32).contains(&colors)
                    && matches!(bits, 1 | 2 | 4 | 8 | 16);
                if !sane {
                    return Err(PdfError::Stream {
                        num,
                        what: "bad predictor parameters",
                    });
                }
                // In range by the checks above: at most 2^24 * 32 * 16 bits.
                let row = usize::try_from((columns * colors * bits + 7) / 8).unwrap_or(usize::MAX);
                let pixel = usize::try_from((colors * bits + 7) / 8).unwrap_or(1).max(1);
                out = unpredict_png(&out, row, pixel).ok_or(PdfError::Stream {
                    num,
                    what: "bad PNG predictor data",
                })?;
            } else if predictor != 1 {
                return Err(PdfError::Stream {
                    num,
                    what: "unsupported predictor",
                });
            }
        }
        Ok(out)
    }

    /// Checks every in-use object of every section, in file order.
    fn check_in_use_objects(&mut self) -> Result<(), PdfError> {
        let mut entries = std::mem::take(&mut self.in_use);
        entries.sort_unstable();
        entries.dedup();
        // In file order, objects and cross-reference sections must not
        // overlap: it is never so in a sound file, and it keeps the parsing
        // work linear in the file's size. An xref stream's own entry covers
        // the section it is.
        let sections: Vec<(usize, usize, SectionKind)> = self
            .sections
            .iter()
            .map(|(&start, &(end, kind))| (start, end, kind))
            .collect();
        let mut sections = sections.into_iter().peekable();
        let mut free_from = 0;
        let overlap = |num| PdfError::XrefEntry {
            num,
            what: "offset points inside another object or a cross-reference section",
        };
        for &(offset, num, generation) in &entries {
            while let Some(&(start, end, kind)) = sections.peek() {
                if start > offset || (start == offset && kind == SectionKind::Stream) {
                    break;
                }
                if start < free_from {
                    return Err(PdfError::Xref {
                        offset: start,
                        what: "section overlaps an object",
                    });
                }
                free_from = end;
                sections.next();
            }
            if offset < free_from {
                return Err(overlap(num));
            }
            let loaded = self.load(offset, num, generation, 0)?;
            free_from = loaded.end;
            if let Some(&(start, _, SectionKind::Stream)) = sections.peek() {
                if start == offset {
                    sections.next();
                }
            }
            let (Obj::Dict(dict), Some(data)) = (&loaded.value, loaded.stream) else {
                continue;
            };
            if dict.name(b"Type") == Some(b"ObjStm")
                && self.xref.get(&num) == Some(&Entry::InUse { offset, generation })
            {
                // Decoding it inflates it and parses every object inside;
                // sealed, it is framed like any stream and stays opaque.
                if !matches!(self.crypt, Crypt::Sealed) {
                    self.object_stream(num, 0)?;
                }
            } else {
                self.check_stream_data(num, generation, dict, data)?;
            }
        }
        for (start, _, _) in sections {
            if start < free_from {
                return Err(PdfError::Xref {
                    offset: start,
                    what: "section overlaps an object",
                });
            }
        }
        self.in_use = entries;
        Ok(())
    }

    /// Runs the stream's filter chain as far as the filters a reader cannot
    /// decode without the data being whole: ASCIIHex and ASCII85 (which
    /// reportlab puts in front of Flate), then Flate. Image codecs that follow
    /// (DCT, JPX...) are left to the viewer.
    fn check_stream_data(
        &mut self,
        num: u32,
        generation: u16,
        dict: &Dict<'_>,
        data: &'a [u8],
    ) -> Result<(), PdfError> {
        let filters = filter_names(num, dict)?;
        let Some(data) = self.stream_data(num, generation, dict, data)? else {
            return Ok(());
        };
        let data = data.as_ref();
        if data.is_empty() {
            // `/Length 0` is an empty stream whatever its filters (pikepdf's
            // blank pages); readers decode it to nothing.
            return Ok(());
        }
        let content = self.content_streams.contains(&(num, generation));
        let mut decoded: Option<Vec<u8>> = None;
        for (i, &filter) in filters.iter().enumerate() {
            let input = decoded.as_deref().unwrap_or(data);
            // A content stream's last output is read too: it is tokenized.
            let last = i + 1 == filters.len() && !content;
            let bad = |what| PdfError::Stream { num, what };
            decoded = Some(match filter {
                b"ASCIIHexDecode" | b"AHx" => {
                    self.work.bytes(input.len())?;
                    self.work.buffer(input.len() / 2 + 1)?;
                    ascii_hex(input).ok_or(bad("bad ASCIIHex data"))?
                }
                b"ASCII85Decode" | b"A85" => {
                    self.work.bytes(input.len())?;
                    // `z` stands for four bytes.
                    self.work.buffer(input.len().saturating_mul(4))?;
                    ascii85(input).ok_or(bad("bad ASCII85 data"))?
                }
                b"FlateDecode" | b"Fl" if last => {
                    return self.inflater.inflate(num, input, None);
                }
                b"FlateDecode" | b"Fl" => {
                    // A later filter reads the output: keep it, up to the cap
                    // kept streams have. Past it (never so for the image data
                    // that follows in practice) the inflate is still checked.
                    let mut out = Vec::new();
                    let cap = self.work.kept_stream_cap;
                    match self
                        .inflater
                        .inflate(num, input, Some((&mut out, &mut self.work)))
                    {
                        Ok(()) => out,
                        Err(PdfError::Limit(_)) if out.len() <= cap => {
                            return self.inflater.inflate(num, input, None);
                        }
                        Err(e) => return Err(e),
                    }
                }
                b"LZWDecode" | b"LZW" => {
                    self.work.bytes(input.len())?;
                    let early_change =
                        !matches!(decode_parm(dict, i, b"EarlyChange"), Some(Obj::Int(0)));
                    let lzw = |max, keep: Option<&mut Vec<u8>>| {
                        filters::lzw(input, early_change, max, keep)
                    };
                    match self.decode_with(num, last, "bad LZW data", lzw)? {
                        Some(out) => out,
                        None => return Ok(()),
                    }
                }
                b"RunLengthDecode" | b"RL" => {
                    self.work.bytes(input.len())?;
                    let run_length =
                        |max, keep: Option<&mut Vec<u8>>| filters::run_length(input, max, keep);
                    match self.decode_with(num, last, "bad RunLength data", run_length)? {
                        Some(out) => out,
                        None => return Ok(()),
                    }
                }
                b"DCTDecode" | b"DCT" => {
                    self.work.bytes(input.len())?;
                    return filters::check_jpeg(input).map_err(|e| match e {
                        FilterError::Jpeg(what) => bad(what),
                        _ => bad("bad JPEG data"),
                    });
                }
                // JPX, JBIG2 and CCITT fax data are framed only (VALIDATION.md).
                _ => return Ok(()),
            });
        }
        if content {
            let text = decoded.as_deref().unwrap_or(data);
            self.work.bytes(text.len())?;
            content::check_content(text).map_err(|e| PdfError::Stream {
                num,
                what: match e {
                    ContentError::UnknownOperator => "content stream: unknown operator",
                    ContentError::Token => "content stream: malformed token",
                    ContentError::Unbalanced => "content stream: unbalanced",
                },
            })?;
        }
        Ok(())
    }

    /// Bytes a decoder may still output: what is left of the inflate
    /// allowance, and no more than the kept-stream cap when a later filter
    /// reads the output.
    fn decode_allowance(&self, last: bool) -> usize {
        let allowance = usize::try_from(self.inflater.budget).unwrap_or(usize::MAX);
        if last {
            allowance
        } else {
            allowance.min(self.work.kept_stream_cap)
        }
    }

    /// Runs a decoder within the inflate allowance, charging its output to
    /// it. The output is kept (its memory drawn first) only when something
    /// reads it: a later filter or the content check (`!last`). Its failure
    /// is `what`, or the limit when it ran out of allowance.
    fn decode_with(
        &mut self,
        num: u32,
        last: bool,
        what: &'static str,
        decoder: impl FnOnce(usize, Option<&mut Vec<u8>>) -> Result<usize, FilterError>,
    ) -> Result<Option<Vec<u8>>, PdfError> {
        let allowance = self.decode_allowance(last);
        let mut out = None;
        if !last {
            self.work.buffer(allowance)?;
            out = Some(Vec::new());
        }
        let len = decoder(allowance, out.as_mut()).map_err(|e| match e {
            FilterError::TooLarge => PdfError::Limit("too many inflated bytes"),
            _ => PdfError::Stream { num, what },
        })?;
        self.inflater.budget -= len as u64;
        Ok(out)
    }

    /// Reads the trailer's `/Encrypt` and tries the empty user password: the
    /// document is then fully verified with its streams decrypted, or sealed
    /// (verified by structure only, or refused under `--encrypted-pdf refuse`).
    fn open_encryption(
        &mut self,
        trailer: &TrailerInfo<'a>,
        limits: &Limits,
    ) -> Result<Verification, PdfError> {
        let bad = PdfError::Encryption;
        let dict = match trailer.encrypt.as_ref() {
            None => return Ok(Verification::Full),
            Some(Obj::Dict(dict)) => dict.clone(),
            Some(&Obj::Ref(num, generation)) => match self.xref.get(&num).copied() {
                // Strings in it are not encrypted, so it is never in an object stream.
                Some(Entry::InUse {
                    offset,
                    generation: g,
                }) if g == generation => match self.load(offset, num, g, 0)?.value {
                    Obj::Dict(dict) => dict,
                    _ => return Err(bad("/Encrypt is not a dictionary")),
                },
                _ => return Err(bad("/Encrypt is not an uncompressed object in use")),
            },
            Some(_) => return Err(bad("/Encrypt is not a dictionary")),
        };
        let file_id = trailer.file_id.as_deref().unwrap_or_default();
        self.crypt = match EncryptParams::read(&dict)? {
            None => Crypt::Sealed,
            Some(params) => {
                let security = params.security(file_id);
                match security.open().map_err(|e| match e {
                    SecurityError::Revision(_) => bad("unsupported security handler revision"),
                    SecurityError::Dictionary(what) | SecurityError::Stream(what) => bad(what),
                })? {
                    Opening::Decrypt(key) => Crypt::Decrypt {
                        key,
                        encrypt_metadata: params.encrypt_metadata,
                    },
                    Opening::NeedsPassword => Crypt::Sealed,
                }
            }
        };
        match self.crypt {
            Crypt::Sealed if limits.encrypted_pdf == EncryptedPdf::Refuse => {
                Err(PdfError::Encrypted)
            }
            Crypt::Sealed => Ok(Verification::Structure),
            Crypt::Plain | Crypt::Decrypt { .. } => Ok(Verification::Full),
        }
    }

    /// A stream's data as its filters see it: decrypted when the document is
    /// (§7.6.2: except xref streams, and metadata under `/EncryptMetadata
    /// false`). `None` when it cannot be read: the document is sealed, or the
    /// stream names its own `/Crypt` filter.
    fn stream_data(
        &mut self,
        num: u32,
        generation: u16,
        dict: &Dict<'_>,
        data: &'a [u8],
    ) -> Result<Option<Cow<'a, [u8]>>, PdfError> {
        let exempt = match dict.name(b"Type") {
            Some(b"XRef") => true,
            Some(b"Metadata") => matches!(
                self.crypt,
                Crypt::Decrypt {
                    encrypt_metadata: false,
                    ..
                }
            ),
            _ => false,
        };
        if matches!(self.crypt, Crypt::Plain) || exempt {
            return Ok(Some(Cow::Borrowed(data)));
        }
        if filter_names(num, dict)?.contains(&b"Crypt".as_slice()) {
            return Ok(None);
        }
        self.work.bytes(data.len())?;
        self.work.buffer(data.len())?;
        match &self.crypt {
            Crypt::Decrypt { key, .. } => key
                .decrypt_stream(num, generation, data)
                .map(|plain| Some(Cow::Owned(plain)))
                .map_err(|e| PdfError::Stream {
                    num,
                    what: match e {
                        SecurityError::Stream(what) => what,
                        _ => "cannot be decrypted",
                    },
                }),
            Crypt::Sealed | Crypt::Plain => Ok(None),
        }
    }

    /// What a parsed value is, as far as the checks need to know; a page
    /// tree node's references are stored in `refs`.
    fn shape_of(&mut self, value: &Obj<'_>, is_stream: bool) -> Result<Shape, PdfError> {
        let d = match value {
            _ if is_stream => return Ok(Shape::Stream),
            Obj::Int(n) => return Ok(Shape::Int(*n)),
            Obj::Array(_) => return Ok(Shape::Array),
            Obj::Dict(d) => d,
            _ => return Ok(Shape::Other),
        };
        let media_box = matches!(d.get(b"MediaBox"), Some(Obj::Array(_) | Obj::Ref(..)));
        let shape = match (d.name(b"Type"), d.get(b"Kids")) {
            (Some(b"Catalog"), _) => DictShape::Catalog {
                pages: match d.get(b"Pages") {
                    Some(Obj::Ref(n, g)) => Some((*n, *g)),
                    _ => None,
                },
            },
            (Some(b"Pages"), kids) | (None, kids @ Some(_)) => DictShape::Pages {
                kids: match kids {
                    // An indirect /Kids array is legal but no producer writes one.
                    Some(Obj::Ref(..)) => RefList::Invalid,
                    kids => self.ref_list(kids)?,
                },
                count: match d.get(b"Count") {
                    Some(Obj::Int(n)) => Some(*n),
                    _ => None,
                },
                media_box,
            },
            (Some(b"Page") | None, _) => DictShape::Page {
                contents: self.ref_list(d.get(b"Contents"))?,
                media_box,
            },
            _ => DictShape::Other,
        };
        Ok(Shape::Dict(shape))
    }

    fn ref_list(&mut self, value: Option<&Obj<'_>>) -> Result<RefList, PdfError> {
        let start = self.refs.len();
        let push = |doc: &mut Self, n: u32, g: u16| -> Result<(), PdfError> {
            doc.work.slot()?;
            doc.refs.push((n, g));
            Ok(())
        };
        match value {
            None | Some(Obj::Null) => return Ok(RefList::Absent),
            Some(Obj::Ref(n, g)) => push(self, *n, *g)?,
            Some(Obj::Array(items)) => {
                for item in items {
                    let Obj::Ref(n, g) = item else {
                        self.refs.truncate(start);
                        return Ok(RefList::Invalid);
                    };
                    push(self, *n, *g)?;
                }
            }
            Some(_) => return Ok(RefList::Invalid),
        }
        Ok(RefList::Refs {
            start,
            len: self.refs.len() - start,
        })
    }

    /// The page tree from the catalog's `/Pages`: every node a `/Pages`
    /// dictionary whose `/Kids` resolve to `/Pages` or `/Page` dictionaries,
    /// no node reached twice (no cycles), every node's `/Count` the number of
    /// pages below it, every page with a `/MediaBox` of its own or inherited,
    /// and its `/Contents`, when present, resolving to streams.
    fn check_page_tree(&mut self, pages: Option<(u32, u16)>) -> Result<(), PdfError> {
        /// A `/Pages` node being walked.
        struct Node {
            kids: (usize, usize),
            next: usize,
            count: Option<i64>,
            pages_below: i64,
            media_box: bool,
            /// A kid below is sealed (see `Crypt::Sealed`): the count is unknowable.
            sealed: bool,
        }
        let bad = PdfError::PageTree;
        let (num, generation) = pages.ok_or(bad("the catalog has no /Pages reference"))?;
        let node = |shape: Shape, inherited: bool| match shape {
            Shape::Dict(DictShape::Pages {
                kids: RefList::Refs { start, len },
                count,
                media_box,
            }) => Ok(Node {
                kids: (start, len),
                next: 0,
                count,
                pages_below: 0,
                media_box: media_box || inherited,
                sealed: false,
            }),
            Shape::Dict(DictShape::Pages { .. }) => Err(bad("/Kids is not an array of references")),
            Shape::Missing => Err(bad("a page tree reference points nowhere")),
            _ => Err(bad("/Pages is not a page tree node")),
        };
        let root = self.resolve(num, generation, 0)?;
        if root == Shape::Sealed {
            return Ok(());
        }
        let mut stack = vec![node(root, false)?];
        let mut seen = HashSet::from([num]);
        while let Some(top) = stack.last_mut() {
            if top.next == top.kids.1 {
                let Some(done) = stack.pop() else { break };
                if !done.sealed && done.count != Some(done.pages_below) {
                    return Err(bad("/Count is not the number of pages below"));
                }
                if let Some(parent) = stack.last_mut() {
                    parent.pages_below += done.pages_below;
                    parent.sealed |= done.sealed;
                }
                continue;
            }
            // In range: `node` made `kids` from what `ref_list` pushed.
            let (kid, kid_gen) = self.refs[top.kids.0 + top.next];
            top.next += 1;
            let inherited = top.media_box;
            self.work.charge(COST_ENTRY)?;
            if !seen.insert(kid) {
                return Err(bad("a page tree node is reached twice (a cycle)"));
            }
            self.work.slot()?;
            match self.resolve(kid, kid_gen, 0)? {
                Shape::Dict(DictShape::Page {
                    contents,
                    media_box,
                }) => {
                    if !(media_box || inherited) {
                        return Err(bad("a page has no /MediaBox, own or inherited"));
                    }
                    self.check_contents(contents)?;
                    if let Some(parent) = stack.last_mut() {
                        parent.pages_below += 1;
                    }
                }
                Shape::Sealed => {
                    if let Some(parent) = stack.last_mut() {
                        parent.sealed = true;
                    }
                }
                shape => stack.push(node(shape, inherited)?),
            }
        }
        Ok(())
    }

    /// A page's `/Contents`: absent, or streams (an indirect array is taken
    /// as it is).
    fn check_contents(&mut self, contents: RefList) -> Result<(), PdfError> {
        let (start, len) = match contents {
            RefList::Absent => return Ok(()),
            RefList::Invalid => {
                return Err(PdfError::PageTree("/Contents is not a stream reference"));
            }
            RefList::Refs { start, len } => (start, len),
        };
        let refs = self
            .refs
            .get(start..start + len)
            .unwrap_or_default()
            .to_vec();
        for (num, generation) in refs {
            self.work.charge(COST_ENTRY)?;
            match self.resolve(num, generation, 0)? {
                Shape::Stream => {
                    self.work.slot()?;
                    self.content_streams.insert((num, generation));
                }
                // Sealed: in an object stream that needs a password to read.
                Shape::Array | Shape::Sealed if len == 1 => {}
                Shape::Missing => return Err(PdfError::PageTree("/Contents points nowhere")),
                _ => return Err(PdfError::PageTree("/Contents is not a stream")),
            }
        }
        Ok(())
    }

    /// Every compressed entry must name an object its object stream holds.
    fn check_compressed_entries(&mut self) -> Result<(), PdfError> {
        let compressed: Vec<(u32, u16)> = self
            .xref
            .iter()
            .filter_map(|(&num, e)| matches!(e, Entry::Compressed { .. }).then_some((num, 0)))
            .collect();
        for (num, generation) in compressed {
            self.work.charge(COST_ENTRY)?;
            if self.resolve(num, generation, 0)? == Shape::Missing {
                return Err(PdfError::XrefEntry {
                    num,
                    what: "compressed object missing",
                });
            }
        }
        Ok(())
    }
}

fn parse_classic_entry(e: &[u8]) -> Option<Entry> {
    let e = e.get(..18)?;
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit).then(|| be_decimal(s));
    let offset = digits(&e[0..10])?;
    let generation = digits(&e[11..16])?;
    if e[10] != b' ' || e[16] != b' ' {
        return None;
    }
    match e[17] {
        b'n' if offset > 0 => Some(Entry::InUse {
            offset: usize::try_from(offset).ok()?,
            generation: u16::try_from(generation).ok()?,
        }),
        b'f' => Some(Entry::Free),
        _ => None,
    }
}

fn be_decimal(s: &[u8]) -> u64 {
    s.iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'))
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn as_offset(obj: &Obj<'_>) -> Option<usize> {
    match obj {
        Obj::Int(n) => usize::try_from(*n).ok(),
        _ => None,
    }
}

/// `num generation obj` at exactly `offset`: returns the numbers and where the body starts.
fn object_header(buf: &[u8], offset: usize) -> Option<(u32, u16, usize)> {
    // Landing inside a number (e.g. on the `2` of `12 0 obj`) is a bad offset.
    if offset > 0 && buf.get(offset - 1).is_some_and(|&b| is_regular(b)) {
        return None;
    }
    let mut lx = Lexer::new(buf, offset);
    let num = u32::try_from(lx.uint()?).ok()?;
    if lx.skip_pure_ws() == 0 {
        return None;
    }
    let generation = u16::try_from(lx.uint()?).ok()?;
    if lx.skip_pure_ws() == 0 || !lx.eat_keyword(b"obj") {
        return None;
    }
    Some((num, generation, lx.pos))
}

/// ISO 32000-2 Table 6, and the abbreviations of Table 94 (for inline images;
/// readers accept them on streams too).
const STANDARD_FILTERS: &[&[u8]] = &[
    b"ASCIIHexDecode",
    b"ASCII85Decode",
    b"LZWDecode",
    b"FlateDecode",
    b"RunLengthDecode",
    b"CCITTFaxDecode",
    b"JBIG2Decode",
    b"DCTDecode",
    b"JPXDecode",
    b"Crypt",
    b"AHx",
    b"A85",
    b"LZW",
    b"Fl",
    b"RL",
    b"CCF",
    b"DCT",
];

/// The stream's filter chain: a name or an array of names, each a standard
/// filter (a reader drops a stream whose filter it does not know). An
/// indirect `/Filter` is not followed.
/// Entry `key` of the decode parameters of filter number `index`
/// (`/DecodeParms` is one dictionary or an array aligned with `/Filter`).
fn decode_parm<'d>(dict: &'d Dict<'_>, index: usize, key: &[u8]) -> Option<&'d Obj<'d>> {
    let params = match dict.get(b"DecodeParms")? {
        Obj::Array(a) => a.get(index)?,
        other if index == 0 => other,
        _ => return None,
    };
    match params {
        Obj::Dict(p) => p.get(key),
        _ => None,
    }
}

fn filter_names<'d>(num: u32, dict: &'d Dict<'_>) -> Result<Vec<&'d [u8]>, PdfError> {
    let bad = |what| PdfError::Stream { num, what };
    let names: Vec<&[u8]> = match dict.get(b"Filter") {
        Some(Obj::Name(n)) => vec![n.as_ref()],
        Some(Obj::Array(a)) => a
            .iter()
            .map(|f| match f {
                Obj::Name(n) => Ok(n.as_ref()),
                _ => Err(bad("/Filter array holds a non-name")),
            })
            .collect::<Result<_, _>>()?,
        None | Some(Obj::Null | Obj::Ref(..)) => Vec::new(),
        Some(_) => return Err(bad("/Filter is not a name or an array")),
    };
    if names.iter().any(|n| !STANDARD_FILTERS.contains(n)) {
        return Err(bad("unknown filter"));
    }
    Ok(names)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterKind {
    None,
    /// FlateDecode is the first (or only) filter: its data must inflate.
    Flate,
    Other,
}

fn filter_kind(dict: &Dict<'_>) -> FilterKind {
    let is_flate = |o: &Obj<'_>| matches!(o, Obj::Name(n) if n.as_ref() == b"FlateDecode" || n.as_ref() == b"Fl");
    match dict.get(b"Filter") {
        None | Some(Obj::Null) => FilterKind::None,
        Some(Obj::Array(a)) if a.is_empty() => FilterKind::None,
        Some(Obj::Array(a)) if a.first().is_some_and(is_flate) => FilterKind::Flate,
        Some(f) if is_flate(f) => FilterKind::Flate,
        Some(_) => FilterKind::Other,
    }
}

/// ASCIIHexDecode: hex digits and whitespace up to the `>` end marker.
fn ascii_hex(data: &[u8]) -> Option<Vec<u8>> {
    let end = data.iter().position(|&b| b == b'>')?;
    if !data[end + 1..].iter().all(|&b| is_ws(b)) {
        return None;
    }
    let mut out = Vec::with_capacity(end / 2);
    let mut high: Option<u8> = None;
    for &b in &data[..end] {
        if is_ws(b) {
            continue;
        }
        let nibble = (b as char).to_digit(16)? as u8;
        match high.take() {
            Some(h) => out.push(h << 4 | nibble),
            None => high = Some(nibble),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    Some(out)
}

/// ASCII85Decode: base-85 groups, `z` for four zero bytes, `~>` end marker.
fn ascii85(data: &[u8]) -> Option<Vec<u8>> {
    let data = data.strip_prefix(b"<~").unwrap_or(data);
    let end = data.windows(2).position(|w| w == b"~>")?;
    if !data[end + 2..].iter().all(|&b| is_ws(b)) {
        return None;
    }
    let mut out = Vec::with_capacity(end / 5 * 4 + 4);
    let (mut group, mut len) = (0u64, 0usize);
    for &b in &data[..end] {
        match b {
            _ if is_ws(b) => {}
            b'z' if len == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group = group * 85 + u64::from(b - b'!');
                len += 1;
                if len == 5 {
                    out.extend_from_slice(&u32::try_from(group).ok()?.to_be_bytes());
                    (group, len) = (0, 0);
                }
            }
            _ => return None,
        }
    }
    match len {
        0 => {}
        1 => return None,
        _ => {
            for _ in len..5 {
                group = group * 85 + 84;
            }
            let bytes = u32::try_from(group).ok()?.to_be_bytes();
            out.extend_from_slice(&bytes[..len - 1]);
        }
    }
    Some(out)
}

/// Reverses PNG row predictors (PDF `/Predictor` 10-15): each row is a filter
/// byte then `row` bytes. Returns None on a bad filter byte or a partial row.
fn unpredict_png(data: &[u8], row: usize, pixel: usize) -> Option<Vec<u8>> {
    let stride = row.checked_add(1)?;
    if data.is_empty() {
        return Some(Vec::new());
    }
    if stride > data.len() {
        return None; // Also keeps `prev` no larger than the data.
    }
    if !data.len().is_multiple_of(stride) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / stride * row);
    let mut prev = vec![0u8; row];
    for chunk in data.chunks_exact(stride) {
        let (filter, raw) = (chunk[0], &chunk[1..]);
        let start = out.len();
        for (i, &x) in raw.iter().enumerate() {
            let left = if i >= pixel {
                out[start + i - pixel]
            } else {
                0
            };
            let up = prev[i];
            let up_left = if i >= pixel { prev[i - pixel] } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => return None,
            };
            out.push(x.wrapping_add(predicted));
        }
        prev.copy_from_slice(&out[start..]);
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Inflates Flate streams into a fixed scratch buffer, charging every output
/// byte against the document's inflate cap (`Limits::max_inflated_bytes`).
struct Inflater {
    /// One zlib state reused (reset) for every stream: allocating it is a
    /// large part of the cost of checking a small stream.
    z: Decompress,
    scratch: Vec<u8>,
    budget: u64,
}

impl Inflater {
    fn new(max_inflated_bytes: u64) -> Self {
        Inflater {
            z: Decompress::new(true),
            scratch: vec![0; 32 * 1024],
            budget: max_inflated_bytes,
        }
    }

    /// The zlib stream must end (checksum included) inside `data`; only
    /// whitespace may follow it. Output is appended to `keep`'s buffer if
    /// given, up to the kept-stream cap, its memory drawn before it grows.
    fn inflate(
        &mut self,
        num: u32,
        data: &[u8],
        mut keep: Option<(&mut Vec<u8>, &mut Work<'_>)>,
    ) -> Result<(), PdfError> {
        let bad = |what| PdfError::Stream { num, what };
        let z = &mut self.z;
        z.reset(true);
        let mut input = data;
        loop {
            let (in_before, out_before) = (z.total_in(), z.total_out());
            let status = z
                .decompress(input, &mut self.scratch, FlushDecompress::None)
                .map_err(|_| bad("corrupt Flate data"))?;
            let consumed = usize::try_from(z.total_in() - in_before).unwrap_or(usize::MAX);
            let produced = usize::try_from(z.total_out() - out_before).unwrap_or(usize::MAX);
            input = input.get(consumed..).unwrap_or_default();
            self.budget = self
                .budget
                .checked_sub(produced as u64)
                .ok_or(PdfError::Limit("too many inflated bytes"))?;
            if let Some((kept, work)) = keep.as_mut() {
                let len = kept.len() + produced;
                if len > work.kept_stream_cap {
                    return Err(PdfError::Limit("xref or object stream too large"));
                }
                if len > kept.capacity() {
                    // What `Vec` grows to: at least double.
                    let capacity = len.max(2 * kept.capacity());
                    work.buffer(capacity)?;
                    kept.reserve_exact(capacity - kept.len());
                }
                kept.extend_from_slice(self.scratch.get(..produced).unwrap_or_default());
            }
            match status {
                Status::StreamEnd => {
                    return if input.iter().all(|&b| is_ws(b)) {
                        Ok(())
                    } else {
                        Err(bad("data after the end of the Flate stream"))
                    };
                }
                Status::Ok | Status::BufError => {
                    if input.is_empty() && produced < self.scratch.len() {
                        return Err(bad("Flate stream is truncated"));
                    }
                    if consumed == 0 && produced == 0 {
                        return Err(bad("Flate stream made no progress"));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Lexer and object parser (ISO 32000 7.2 and 7.3)

/// A word-sized tag, so every variant's fields start at byte 8: a value is
/// returned through each level of `parse_value`, and moved in aligned words
/// it is read back as it was stored. With a byte-sized tag the fields of
/// `Bool` and `Ref` sat in bytes 1 to 7 and each move read 16 bytes across
/// two stores: those two loads took over a quarter of the parser's samples
/// (perf, 2026-12-03), and the parser went from 6.1% to 5.1% of the PDF
/// validator's. The size is the same either way (the `Cow` fills bytes 8
/// to 31).
#[derive(Debug, Clone, PartialEq)]
#[repr(u64)]
enum Obj<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Real,
    Name(Cow<'a, [u8]>),
    /// A string token as written, delimiters included (see `string_bytes`).
    Str(&'a [u8]),
    Array(Vec<Obj<'a>>),
    Dict(Dict<'a>),
    Ref(u32, u16),
}

const _: () = assert!(std::mem::size_of::<Obj<'static>>() == 32);

#[derive(Debug, Clone, PartialEq)]
struct Dict<'a>(Vec<(Cow<'a, [u8]>, Obj<'a>)>);

impl<'a> Dict<'a> {
    fn get(&self, key: &[u8]) -> Option<&Obj<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v)
    }

    fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Obj::Name(n)) => Some(n.as_ref()),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Lexer { buf, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Skips whitespace only; returns how many bytes.
    fn skip_pure_ws(&mut self) -> usize {
        let n = self.rest().iter().take_while(|&&b| is_ws(b)).count();
        self.pos += n;
        n
    }

    /// Skips whitespace and comments.
    fn skip_ws(&mut self) {
        loop {
            self.skip_pure_ws();
            if self.peek() != Some(b'%') {
                return;
            }
            while self.peek().is_some_and(|b| b != b'\r' && b != b'\n') {
                self.pos += 1;
            }
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        let hit = self.rest().starts_with(lit);
        if hit {
            self.pos += lit.len();
        }
        hit
    }

    /// A keyword: the literal, not followed by a regular character.
    fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        let hit = self.rest().starts_with(kw)
            && self
                .buf
                .get(self.pos + kw.len())
                .is_none_or(|&b| !is_regular(b));
        if hit {
            self.pos += kw.len();
        }
        hit
    }

    /// Unsigned decimal digits (at least one) not followed by a regular character.
    fn uint(&mut self) -> Option<u64> {
        let digits = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = self.pos + digits;
        if digits == 0 || digits > 19 || self.buf.get(end).is_some_and(|&b| is_regular(b)) {
            return None;
        }
        let n = be_decimal(&self.buf[self.pos..end]);
        self.pos = end;
        Some(n)
    }
}

/// Why a value did not parse: bad syntax (`pdf_object`) or the work budget
/// or the kept-values cap ran out (`pdf_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseFail {
    Syntax(&'static str),
    Limit(&'static str),
}

impl ParseFail {
    fn into_pdf_error(self, syntax: impl FnOnce(&'static str) -> PdfError) -> PdfError {
        match self {
            ParseFail::Syntax(what) => syntax(what),
            ParseFail::Limit(what) => PdfError::Limit(what),
        }
    }
}

impl From<&'static str> for ParseFail {
    fn from(what: &'static str) -> Self {
        ParseFail::Syntax(what)
    }
}

/// What a parse stores. Every value's syntax is checked either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing: arrays and dictionaries come back empty.
    No,
    /// Dictionaries keep the values under keys `is_kept` accepts; arrays are not stored.
    Keys,
    /// A value under a kept key: arrays keep their items, dictionaries their
    /// kept keys.
    Yes,
}

/// Parses one top-level object, charging the work budget for every value
/// and capping the values stored at `MAX_KEPT_VALUES`.
fn parse_top<'a>(
    lx: &mut Lexer<'a>,
    keep: Keep,
    work: &mut Work<'_>,
) -> Result<Obj<'a>, ParseFail> {
    work.kept_values_left = MAX_KEPT_VALUES;
    parse_value(lx, 0, keep, work)
}

fn parse_value<'a>(
    lx: &mut Lexer<'a>,
    depth: usize,
    keep: Keep,
    work: &mut Work<'_>,
) -> Result<Obj<'a>, ParseFail> {
    if depth > MAX_NESTING {
        return Err("objects nested too deeply".into());
    }
    work.units_left = work
        .units_left
        .checked_sub(COST_VALUE)
        .ok_or(ParseFail::Limit("work budget exhausted"))?;
    lx.skip_ws();
    let Some(b) = lx.peek() else {
        return Err("unexpected end of data".into());
    };
    match b {
        b'/' => {
            lx.pos += 1;
            Ok(Obj::Name(parse_name(lx)?))
        }
        b'<' if lx.buf.get(lx.pos + 1) == Some(&b'<') => {
            lx.pos += 2;
            let mut entries = Vec::new();
            loop {
                lx.skip_ws();
                if lx.eat(b">>") {
                    return Ok(Obj::Dict(Dict(entries)));
                }
                if !lx.eat(b"/") {
                    return Err("dictionary key is not a name".into());
                }
                let key = parse_name(lx)?;
                let child = if keep != Keep::No && is_kept(&key) {
                    Keep::Yes
                } else {
                    Keep::No
                };
                let value = parse_value(lx, depth + 1, child, work)?;
                if child == Keep::Yes {
                    store(work)?;
                    entries.push((key, value));
                }
            }
        }
        b'<' => {
            let start = lx.pos;
            lx.pos += 1;
            loop {
                match lx.peek() {
                    Some(b'>') => {
                        lx.pos += 1;
                        return Ok(Obj::Str(&lx.buf[start..lx.pos]));
                    }
                    Some(c) if c.is_ascii_hexdigit() || is_ws(c) => lx.pos += 1,
                    Some(_) => return Err("bad hex string".into()),
                    None => return Err("unterminated hex string".into()),
                }
            }
        }
        b'(' => {
            let rest = lx.rest();
            let len = literal_string_len(rest).ok_or("unterminated string")?;
            lx.pos += len;
            Ok(Obj::Str(&rest[..len]))
        }
        b'[' => {
            lx.pos += 1;
            let mut items = Vec::new();
            let child = if keep == Keep::Yes {
                Keep::Yes
            } else {
                Keep::No
            };
            loop {
                lx.skip_ws();
                if lx.eat(b"]") {
                    return Ok(Obj::Array(items));
                }
                let item = parse_value(lx, depth + 1, child, work)?;
                if child == Keep::Yes {
                    store(work)?;
                    items.push(item);
                }
            }
        }
        b'+' | b'-' | b'.' | b'0'..=b'9' => Ok(parse_number(lx)?),
        _ => {
            let word_len = lx.rest().iter().take_while(|&&c| is_regular(c)).count();
            let word = &lx.rest()[..word_len];
            let obj = match word {
                b"true" => Obj::Bool(true),
                b"false" => Obj::Bool(false),
                b"null" => Obj::Null,
                _ => return Err("unexpected token".into()),
            };
            lx.pos += word_len;
            Ok(obj)
        }
    }
}

/// Counts one stored value against the per-object cap, and its memory.
fn store(work: &mut Work<'_>) -> Result<(), ParseFail> {
    work.kept_values_left = work
        .kept_values_left
        .checked_sub(1)
        .ok_or(ParseFail::Limit("too many values kept for one object"))?;
    let stored = MAX_KEPT_VALUES - work.kept_values_left;
    if stored > work.most_values {
        work.most_values = stored;
        work.draw()
            .map_err(|_| ParseFail::Limit("validation memory refused"))?;
    }
    Ok(())
}

/// The bytes a string token stands for (ISO 32000-2 §7.3.4): a hex string's
/// digit pairs (an odd last digit is followed by 0), or a literal string's
/// text with its escapes and end-of-line rules applied. Linear in the token.
fn string_bytes(raw: &[u8]) -> Vec<u8> {
    if raw.first() == Some(&b'<') {
        let digits: Vec<u8> = raw
            .iter()
            .filter_map(|&c| (c as char).to_digit(16).map(|d| d as u8))
            .collect();
        return digits
            .chunks(2)
            .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
            .collect();
    }
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        i += 1;
        match c {
            b'\\' => {
                let Some(&e) = inner.get(i) else { break };
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'0'..=b'7' => {
                        let mut value = u32::from(e - b'0');
                        for _ in 0..2 {
                            match inner.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(value as u8);
                    }
                    // A backslash before an end of line continues the string.
                    b'\r' => {
                        if inner.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    other => out.push(other),
                }
            }
            // Every unescaped end of line reads as a line feed.
            b'\r' => {
                if inner.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(b'\n');
            }
            other => out.push(other),
        }
    }
    out
}

/// A name after its `/`, with `#xx` escapes decoded.
fn parse_name<'a>(lx: &mut Lexer<'a>) -> Result<Cow<'a, [u8]>, &'static str> {
    let len = lx.rest().iter().take_while(|&&c| is_regular(c)).count();
    let raw = &lx.rest()[..len];
    lx.pos += len;
    if !raw.contains(&b'#') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        if c == b'#' {
            let hex = raw.get(i + 1..i + 3).ok_or("bad # escape in name")?;
            let s = std::str::from_utf8(hex).map_err(|_| "bad # escape in name")?;
            out.push(u8::from_str_radix(s, 16).map_err(|_| "bad # escape in name")?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(Cow::Owned(out))
}

/// An integer, a real, or `num generation R`.
fn parse_number<'a>(lx: &mut Lexer<'a>) -> Result<Obj<'a>, &'static str> {
    let len = lx.rest().iter().take_while(|&&c| is_regular(c)).count();
    let token = &lx.rest()[..len];
    lx.pos += len;
    let (sign, body) = match token.first() {
        Some(b'+' | b'-') => (true, &token[1..]),
        _ => (false, token),
    };
    let dots = body.iter().filter(|&&c| c == b'.').count();
    let digits = body.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == 0 || dots > 1 || digits + dots != body.len() {
        return Err("malformed number");
    }
    if dots == 1 {
        return Ok(Obj::Real);
    }
    let magnitude = body.iter().try_fold(0i64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    });
    let Some(magnitude) = magnitude else {
        return Ok(Obj::Real); // Out of range integers are read as reals.
    };
    let n = if token.first() == Some(&b'-') {
        -magnitude
    } else {
        magnitude
    };
    if !sign {
        let mut ahead = *lx;
        ahead.skip_ws();
        if let Some(generation) = ahead.uint() {
            ahead.skip_ws();
            if ahead.eat_keyword(b"R") {
                if let (Ok(num), Ok(generation)) = (u32::try_from(n), u16::try_from(generation)) {
                    *lx = ahead;
                    return Ok(Obj::Ref(num, generation));
                }
            }
        }
    }
    Ok(Obj::Int(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Obj<'_>, ParseFail> {
        parse_top(
            &mut Lexer::new(s.as_bytes(), 0),
            Keep::Keys,
            &mut Work::new(1 << 20, &mut |_| true),
        )
    }

    #[test]
    fn parses_nested_objects_and_references() {
        let obj = parse(
            "<< /Type /Cat#61log /Index [1 0 R 2 0 R] /N -3 /S (a(b)c\\)) /H <0aF> \
             /DecodeParms [<< /Columns 4 /Other [1] >>] >>",
        )
        .unwrap();
        let Obj::Dict(d) = obj else {
            panic!("not a dict")
        };
        assert_eq!(d.name(b"Type"), Some(&b"Catalog"[..]));
        assert_eq!(
            d.get(b"Index"),
            Some(&Obj::Array(vec![Obj::Ref(1, 0), Obj::Ref(2, 0)]))
        );
        assert_eq!(d.get(b"N"), Some(&Obj::Int(-3)));
        let params = Dict(vec![(Cow::Borrowed(&b"Columns"[..]), Obj::Int(4))]);
        assert_eq!(
            d.get(b"DecodeParms"),
            Some(&Obj::Array(vec![Obj::Dict(params)]))
        );
        // Values under keys no check reads are parsed but not stored.
        assert_eq!(d.get(b"S"), None);
        assert_eq!(d.get(b"H"), None);
    }

    #[test]
    fn parsing_charges_the_work_budget() {
        let names = format!("[{}]", "/ ".repeat(1000));
        let mut lx = Lexer::new(names.as_bytes(), 0);
        let mut unmetered = |_| true;
        let mut work = Work::new(0, &mut unmetered);
        work.units_left = 500 * COST_VALUE;
        assert!(Work::new(0, &mut |_| true).units_left >= MIN_WORK_UNITS);
        assert_eq!(
            parse_top(&mut lx, Keep::Keys, &mut work),
            Err(ParseFail::Limit("work budget exhausted"))
        );
        let mut lx = Lexer::new(names.as_bytes(), 0);
        let mut unmetered = |_| true;
        let mut work = Work::new(1 << 20, &mut unmetered);
        assert_eq!(
            parse_top(&mut lx, Keep::Keys, &mut work),
            Ok(Obj::Array(vec![]))
        );
    }

    #[test]
    fn rejects_malformed_objects() {
        for bad in [
            "<< /A 1",
            "(open",
            "[1 2",
            "<zz>",
            "1.2.3",
            "<< 1 2 >>",
            "endobj",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = "[".repeat(MAX_NESTING + 5);
        assert_eq!(
            parse(&deep),
            Err(ParseFail::Syntax("objects nested too deeply"))
        );
    }

    #[test]
    fn object_header_must_start_exactly_at_the_offset() {
        let buf = b"x\n12 0 obj\n1\nendobj";
        assert_eq!(object_header(buf, 2), Some((12, 0, 10)));
        assert_eq!(object_header(buf, 3), None);
        assert_eq!(object_header(buf, 1), None);
    }

    #[test]
    fn string_tokens_decode_to_their_bytes() {
        assert_eq!(string_bytes(b"<48 65 6c6C6f>"), b"Hello");
        assert_eq!(string_bytes(b"<123>"), [0x12, 0x30]);
        assert_eq!(string_bytes(b"()"), b"");
        assert_eq!(
            string_bytes(b"(a\\(b\\)\\n\\101\\0053\\\r\nc\r\nd\\q)"),
            b"a(b)\nA\x053c\ndq"
        );
        // Inside a literal, balanced parentheses are kept.
        assert_eq!(string_bytes(b"(x(y)z)"), b"x(y)z");
    }

    #[test]
    fn decodes_ascii_filters() {
        assert_eq!(ascii_hex(b"48 65 6c6C 6f7>\n"), Some(b"Hellop".to_vec()));
        assert_eq!(ascii_hex(b"4G>"), None);
        assert_eq!(ascii_hex(b"48"), None);
        assert_eq!(
            ascii85(b"87cURD]i,\"Ebo80~>"),
            Some(b"Hello World!".to_vec())
        );
        assert_eq!(ascii85(b"<~z87cURDZ~>"), Some(b"\0\0\0\0Hello".to_vec()));
        assert_eq!(ascii85(b"87cU"), None, "no end marker");
        assert_eq!(ascii85(b"s8W-\"~>"), None, "group above 2^32");
        assert_eq!(ascii85(b"8~>"), None, "one-character group");
    }

    #[test]
    fn undoes_png_up_predictor() {
        // Two rows of two columns, the second predicted "Up".
        let data = [0, 1, 2, 2, 1, 1];
        assert_eq!(unpredict_png(&data, 2, 1), Some(vec![1, 2, 2, 3]));
        assert_eq!(unpredict_png(&data[..5], 2, 1), None);
        assert_eq!(unpredict_png(&[9, 0, 0], 2, 1), None);
    }
}
