//! The PDF standard security handler (ISO 32000-2 §7.6.4, revisions 2 to 6):
//! whether a document opens with the empty user password, as most encrypted
//! documents from real producers do, and if so the key that decrypts its
//! streams. The primitives are RustCrypto's (md-5, sha2, rc4, aes, cbc).
//!
//! Only the empty user password is ever tried: docproxy has no other. A
//! document that needs a real password is validated by structure only
//! (docs/VALIDATION.md, "Encrypted PDFs").

use aes::cipher::block_padding::{NoPadding, Pkcs7};
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit, StreamCipher};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha384, Sha512};

/// The padding string of Algorithm 2; the empty password is exactly this.
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// How a crypt filter encrypts (its `/CFM`, or what `/V` 1–3 imply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `/Identity` or `/CFM /None`: the data is not encrypted.
    Identity,
    Rc4,
    AesV2,
    AesV3,
}

/// The standard handler's `/Encrypt` dictionary, as the PDF parser read it.
#[derive(Debug, Clone)]
pub(crate) struct StandardSecurity<'a> {
    pub revision: u8,
    /// `/Length` in bytes (40 to 128 bits for revisions 2–4).
    pub key_len: usize,
    pub owner: &'a [u8],
    pub user: &'a [u8],
    pub user_encrypted_key: Option<&'a [u8]>,
    pub permissions: i32,
    pub encrypt_metadata: bool,
    pub streams: Method,
    /// The first string of the trailer's `/ID`.
    pub file_id: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("unsupported security handler revision {0}")]
    Revision(u8),
    #[error("malformed encryption dictionary: {0}")]
    Dictionary(&'static str),
    #[error("encrypted stream is malformed: {0}")]
    Stream(&'static str),
}

/// What the empty user password opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Opening {
    /// The document opens without a password: its streams can be decrypted.
    Decrypt(FileKey),
    /// A real user password is needed; only the structure can be checked.
    NeedsPassword,
}

/// The file encryption key and how streams use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileKey {
    key: Vec<u8>,
    streams: Method,
}

impl StandardSecurity<'_> {
    /// Tries the empty user password (Algorithms 2, 4, 5, 2.A and 2.B).
    pub(crate) fn open(&self) -> Result<Opening, SecurityError> {
        let key = match self.revision {
            2..=4 => self.open_rc4_era()?,
            5 | 6 => self.open_aes256()?,
            r => return Err(SecurityError::Revision(r)),
        };
        Ok(key.map_or(Opening::NeedsPassword, |key| {
            Opening::Decrypt(FileKey {
                key,
                streams: self.streams,
            })
        }))
    }

    fn open_rc4_era(&self) -> Result<Option<Vec<u8>>, SecurityError> {
        if self.owner.len() < 32 || self.user.len() < 32 {
            return Err(SecurityError::Dictionary(
                "/O or /U is shorter than 32 bytes",
            ));
        }
        let n = if self.revision == 2 { 5 } else { self.key_len };
        if !(5..=16).contains(&n) {
            return Err(SecurityError::Dictionary("/Length is not 40 to 128 bits"));
        }
        // Algorithm 2: the key from the (empty, so all padding) password.
        let mut md5 = Md5::new();
        md5.update(PAD);
        md5.update(&self.owner[..32]);
        md5.update(self.permissions.to_le_bytes());
        md5.update(self.file_id);
        if self.revision >= 4 && !self.encrypt_metadata {
            md5.update([0xFF; 4]);
        }
        let mut hash: [u8; 16] = md5.finalize().into();
        if self.revision >= 3 {
            for _ in 0..50 {
                hash = Md5::digest(&hash[..n]).into();
            }
        }
        let key = hash[..n].to_vec();
        // Algorithms 4 and 5: does the key reproduce /U?
        let opens = if self.revision == 2 {
            let mut u = PAD;
            rc4(&key, &mut u);
            u[..] == self.user[..32]
        } else {
            let mut md5 = Md5::new();
            md5.update(PAD);
            md5.update(self.file_id);
            let mut u: [u8; 16] = md5.finalize().into();
            for i in 0..20u8 {
                let round: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                rc4(&round, &mut u);
            }
            u[..] == self.user[..16]
        };
        Ok(opens.then_some(key))
    }

    fn open_aes256(&self) -> Result<Option<Vec<u8>>, SecurityError> {
        if self.user.len() < 48 {
            return Err(SecurityError::Dictionary("/U is shorter than 48 bytes"));
        }
        let encrypted_key = self
            .user_encrypted_key
            .filter(|ue| ue.len() >= 32)
            .ok_or(SecurityError::Dictionary("/UE is missing or short"))?;
        let (hash, validation_salt, key_salt) =
            (&self.user[..32], &self.user[32..40], &self.user[40..48]);
        if self.hash_r5_r6(validation_salt) != hash {
            return Ok(None);
        }
        let intermediate = self.hash_r5_r6(key_salt);
        let mut key = encrypted_key[..32].to_vec();
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&intermediate, &[0; 16])
            .expect("a 32-byte key and a 16-byte IV")
            .decrypt_padded_mut::<NoPadding>(&mut key)
            .expect("32 bytes are whole blocks");
        Ok(Some(key))
    }

    /// The user-password hash of the empty password with `salt`: SHA-256 for
    /// revision 5, Algorithm 2.B for revision 6.
    fn hash_r5_r6(&self, salt: &[u8]) -> [u8; 32] {
        let mut k: Vec<u8> = Sha256::new().chain_update(salt).finalize().to_vec();
        if self.revision == 5 {
            return k[..].try_into().expect("SHA-256 is 32 bytes");
        }
        // Algorithm 2.B, with an empty password and no owner data.
        let mut round = 0u32;
        loop {
            let mut e = k.repeat(64);
            cbc::Encryptor::<aes::Aes128>::new_from_slices(&k[..16], &k[16..32])
                .expect("16-byte key and IV")
                .encrypt_padded_mut::<NoPadding>(&mut e, 64 * k.len())
                .expect("64 copies of a 32/48/64-byte block are whole AES blocks");
            let modulus = e[..16].iter().map(|&b| u32::from(b)).sum::<u32>() % 3;
            k = match modulus {
                0 => Sha256::digest(&e).to_vec(),
                1 => Sha384::digest(&e).to_vec(),
                _ => Sha512::digest(&e).to_vec(),
            };
            round += 1;
            if round >= 64 && u32::from(*e.last().expect("not empty")) <= round - 32 {
                break;
            }
        }
        k[..32].try_into().expect("every hash is at least 32 bytes")
    }
}

impl FileKey {
    /// Decrypts the data of stream object `num` `generation` (Algorithm 1 for
    /// RC4 and AESV2; the file key itself for AESV3). AES data is a 16-byte
    /// IV, then whole blocks with PKCS#7 padding; anything else is malformed.
    pub(crate) fn decrypt_stream(
        &self,
        num: u32,
        generation: u16,
        data: &[u8],
    ) -> Result<Vec<u8>, SecurityError> {
        match self.streams {
            Method::Identity => Ok(data.to_vec()),
            Method::Rc4 => {
                let mut out = data.to_vec();
                rc4(&self.object_key(num, generation, false), &mut out);
                Ok(out)
            }
            Method::AesV2 => aes_cbc::<aes::Aes128>(&self.object_key(num, generation, true), data),
            Method::AesV3 => aes_cbc::<aes::Aes256>(&self.key, data),
        }
    }

    fn object_key(&self, num: u32, generation: u16, aes: bool) -> Vec<u8> {
        let mut md5 = Md5::new();
        md5.update(&self.key);
        md5.update(&num.to_le_bytes()[..3]);
        md5.update(generation.to_le_bytes());
        if aes {
            md5.update(b"sAlT");
        }
        let hash = md5.finalize();
        hash[..(self.key.len() + 5).min(16)].to_vec()
    }
}

fn aes_cbc<C>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, SecurityError>
where
    C: aes::cipher::BlockDecrypt + aes::cipher::BlockCipher + KeyInit,
    cbc::Decryptor<C>: KeyIvInit,
{
    // An empty string or stream may be stored as nothing at all.
    if data.is_empty() {
        return Ok(Vec::new());
    }
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return Err(SecurityError::Stream(
            "AES data is not an IV and whole 16-byte blocks",
        ));
    }
    let (iv, blocks) = data.split_at(16);
    let mut out = blocks.to_vec();
    let len = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| SecurityError::Stream("bad AES key length"))?
        .decrypt_padded_mut::<Pkcs7>(&mut out)
        .map_err(|_| SecurityError::Stream("AES padding is invalid"))?
        .len();
    out.truncate(len);
    Ok(out)
}

/// RC4 over `data` in place, with a key of 5 to 16 bytes (what the standard
/// handler makes: the file key, its per-round variants and per-object keys).
fn rc4(key: &[u8], data: &mut [u8]) {
    use rc4::consts::{U5, U6, U7, U8, U9, U10, U11, U12, U13, U14, U15, U16};
    macro_rules! apply {
        ($($len:literal => $size:ty),*) => {
            match key.len() {
                $($len => rc4::Rc4::<$size>::new_from_slice(key)
                    .expect("the length was matched")
                    .apply_keystream(data),)*
                other => unreachable!("RC4 key of {other} bytes"),
            }
        };
    }
    apply!(5 => U5, 6 => U6, 7 => U7, 8 => U8, 9 => U9, 10 => U10, 11 => U11,
           12 => U12, 13 => U13, 14 => U14, 15 => U15, 16 => U16);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The `/ID` qpdf kept from its input, tests/fixtures/pdf/ghostscript-ps2pdf.pdf.
    const ID: &str = "ec94ba703845a095a3e38d527d645470";

    struct Case {
        revision: u8,
        key_len: usize,
        owner: &'static str,
        user: &'static str,
        ue: Option<&'static str>,
        streams: Method,
        /// The key `qpdf --show-encryption-key` prints, or None when the
        /// empty password does not open the file.
        key: Option<&'static str>,
    }

    /// Encryption dictionaries of files qpdf 11.3.0 made from that input
    /// (`qpdf --encrypt USER owner BITS`, as scripts/fixtures/generate.py does).
    const CASES: &[Case] = &[
        Case {
            revision: 2,
            key_len: 5,
            owner: "c92422687facee686e373f10b5c7d04738053152f7e2ee30e11c69ec442576ab",
            user: "e3181a5ce8a01f0895839b2c10fff134734295ef95392abb8714034304a754cb",
            ue: None,
            streams: Method::Rc4,
            key: Some("0bb7ec931a"),
        },
        Case {
            revision: 3,
            key_len: 16,
            owner: "566fa873ee33c797cd3b904fdadf814afa34df9a38f6ed41b984e2c6da2aa6f5",
            user: "ef0da53c068ddb60d5b1ee1be190f6da0122456a91bae5134273a6db134c87c4",
            ue: None,
            streams: Method::Rc4,
            key: Some("cb2a04b57e012d174858c873fa246016"),
        },
        Case {
            revision: 3,
            key_len: 16,
            owner: "0ba3835f88f90388e74e54584125ce142be0de24c6b0d37746e075b891756671",
            user: "c946c624d0c7f7046e535da51f3e9f500122456a91bae5134273a6db134c87c4",
            ue: None,
            streams: Method::Rc4,
            key: None,
        },
        Case {
            revision: 4,
            key_len: 16,
            owner: "566fa873ee33c797cd3b904fdadf814afa34df9a38f6ed41b984e2c6da2aa6f5",
            user: "ef0da53c068ddb60d5b1ee1be190f6da0122456a91bae5134273a6db134c87c4",
            ue: None,
            streams: Method::AesV2,
            key: Some("cb2a04b57e012d174858c873fa246016"),
        },
        Case {
            revision: 5,
            key_len: 32,
            owner: "432452cb11bd11f9968dfa3d871cbd4fdf705be3af35f2369dd404685ffe8762285d08f939c705dea4a8ab1c48463c75",
            user: "22a780ae18b3923dd0cb93ae0ddf34a2da4da6738e80ada1d005072e101de9cacced37665e4eef5749759c7d2e936ab7",
            ue: Some("6122a962e58c5e44e419723131fb9b8ea5fc5dc2ebfa914fa8ce10eaa2bce7dd"),
            streams: Method::AesV3,
            key: Some("f75ccccddd088e47b79a47f2883cb9b8fc7a7b704a258c44e043d0da9240f412"),
        },
        Case {
            revision: 6,
            key_len: 32,
            owner: "319168338f303b68d713d8a65ba7e44e4f153a0cab5a8ec4a5b9db31a0d8f2fdd74671ea3344d4dd4e79fffc9aa4a355",
            user: "328283413642ea976546c10e6f84295ad80e50108556572464b1d25eba03084f87e2db8a2429815696c9524e0e16a252",
            ue: Some("ecb918221af2f0b28cc250cfcced360916470a43f9aa65738c54fe0f0384963e"),
            streams: Method::AesV3,
            key: Some("15a8cf27587648993243c42aeb0bcee686717cc36778d4c5fdf741e225d82557"),
        },
        Case {
            revision: 6,
            key_len: 32,
            owner: "f06f745e6c9714767e07a518bc7b247aa0b56d1e8453e7a39ef232b0686d8e4d6411cde4ef471823c8a370f85c993103",
            user: "a7bdcc86dd2cc22d0eefcc675d7051f12a55f7eb508ebd0f0072a34cc11033cf7187ea1ff7ce32b2169b9b9348ad54be",
            ue: Some("a0abd2c3c0ab793f8a213c296b5ceaf7f67a4e040fbc62294f3ea34d19f57310"),
            streams: Method::AesV3,
            key: None,
        },
    ];

    #[test]
    fn the_empty_password_opens_what_qpdf_says_it_opens_with_qpdfs_key() {
        let id = hex(ID);
        for case in CASES {
            let (owner, user) = (hex(case.owner), hex(case.user));
            let ue = case.ue.map(hex);
            let security = StandardSecurity {
                revision: case.revision,
                key_len: case.key_len,
                owner: &owner,
                user: &user,
                user_encrypted_key: ue.as_deref(),
                permissions: -4,
                encrypt_metadata: true,
                streams: case.streams,
                file_id: &id,
            };
            let expected = match case.key {
                Some(key) => Opening::Decrypt(FileKey {
                    key: hex(key),
                    streams: case.streams,
                }),
                None => Opening::NeedsPassword,
            };
            assert_eq!(security.open(), Ok(expected), "revision {}", case.revision);
        }
    }

    #[test]
    fn aes_round_trips_and_refuses_bad_framing() {
        let key = FileKey {
            key: hex("cb2a04b57e012d174858c873fa246016"),
            streams: Method::AesV2,
        };
        let object_key = key.object_key(7, 0, true);
        let plain = b"BT /F1 12 Tf (hello) Tj ET".to_vec();
        let mut data = vec![9u8; 16];
        let mut blocks = plain.clone();
        blocks.resize(32, 0);
        let len = cbc::Encryptor::<aes::Aes128>::new_from_slices(&object_key, &[9; 16])
            .unwrap()
            .encrypt_padded_mut::<Pkcs7>(&mut blocks, plain.len())
            .unwrap()
            .len();
        data.extend_from_slice(&blocks[..len]);
        assert_eq!(key.decrypt_stream(7, 0, &data), Ok(plain));
        assert_eq!(key.decrypt_stream(7, 0, b""), Ok(Vec::new()));
        assert!(key.decrypt_stream(7, 0, &data[..40]).is_err());
        // The wrong object's key makes the padding invalid (or garbage the
        // filters then refuse): never a panic.
        let _ = key.decrypt_stream(8, 0, &data);
    }

    #[test]
    fn rc4_is_its_own_inverse_for_every_key_length() {
        for len in 5..=16 {
            let key: Vec<u8> = (0..len as u8).collect();
            let mut data = *b"stream data";
            rc4(&key, &mut data);
            assert_ne!(&data, b"stream data");
            rc4(&key, &mut data);
            assert_eq!(&data, b"stream data");
        }
    }

    #[test]
    fn malformed_dictionaries_are_errors_not_panics() {
        let id = hex(ID);
        let short = [0u8; 8];
        for revision in [2, 3, 4, 5, 6] {
            let security = StandardSecurity {
                revision,
                key_len: 16,
                owner: &short,
                user: &short,
                user_encrypted_key: Some(&short),
                permissions: -4,
                encrypt_metadata: true,
                streams: Method::Rc4,
                file_id: &id,
            };
            assert!(matches!(security.open(), Err(SecurityError::Dictionary(_))));
        }
        let long = [0u8; 48];
        let security = StandardSecurity {
            revision: 7,
            key_len: 16,
            owner: &long,
            user: &long,
            user_encrypted_key: None,
            permissions: 0,
            encrypt_metadata: true,
            streams: Method::Rc4,
            file_id: &id,
        };
        assert_eq!(security.open(), Err(SecurityError::Revision(7)));
    }
}
