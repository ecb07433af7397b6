//! C2SP checkpoints (c2sp.org/tlog-checkpoint) and Ed25519 signed notes (c2sp.org/signed-note).
//!
//! A checkpoint body is
//!
//! ```text
//! <origin>
//! <tree size in decimal>
//! <root hash in standard base64>
//! [extension lines]
//! ```
//!
//! and a signed note is the body, a blank line, then one or more lines
//! `— <key name> <base64(4-byte key id || signature)>` (the dash is U+2014).
//! Ed25519 key ids are the first four bytes of
//! `SHA-256(key name || 0x0A || 0x01 || 32-byte public key)`.
//!
//! Verification follows the signed-note rules: signatures by unknown keys
//! are ignored, a signature by the trusted key must verify, and at least one
//! must be present. Checking that the origin is the expected log is left to
//! the caller, which knows which log it is talking to.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{CheckpointError, NoteError};
use crate::hash::Hash;

/// Signature type byte for Ed25519 in signed-note key ids and key strings.
const ALG_ED25519: u8 = 0x01;
/// Upper bound on signature lines, so a hostile note cannot make us parse forever.
const MAX_SIGNATURES: usize = 100;
/// Every signature line starts with an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Prefix of the private key encoding, so it is never mistaken for a public key.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// A transparency log checkpoint: the signed statement "the log named
/// `origin` had `size` leaves with root `root`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `example.com/auditlog`; non-empty, one line.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree at `size`.
    pub root: Hash,
    /// Optional opaque extension lines (not recommended by C2SP); each non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self { origin: origin.into(), size, root, extensions: Vec::new() }
    }

    /// Checks that [`body`](Self::body) would parse back to this checkpoint:
    /// the origin and the extension lines are non-empty and contain no
    /// newline or other ASCII control character. Without this, an origin
    /// containing newlines could smuggle in a different size and root.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line("origin", &self.origin)?;
        for (i, extension) in self.extensions.iter().enumerate() {
            if extension.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            check_line("extension", extension)?;
        }
        Ok(())
    }

    /// The note text: origin, size and root lines, then any extension lines,
    /// each ending in a newline. Call [`validate`](Self::validate) first when
    /// the fields come from untrusted input ([`NoteSigner::sign`] does).
    pub fn body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for extension in &self.extensions {
            body.push_str(extension);
            body.push('\n');
        }
        body
    }

    /// Parses a checkpoint body (the note text, without signatures).
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let content = text.strip_suffix('\n').ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = content.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines(lines.len()));
        };
        let checkpoint = Self {
            origin: (*origin).to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions: extensions.iter().map(|&line| line.to_owned()).collect(),
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }
}

fn check_line(field: &'static str, line: &str) -> Result<(), CheckpointError> {
    // Any byte below 0x20, newline included, would break the line structure.
    if line.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::ControlCharacter { field });
    }
    Ok(())
}

/// ASCII decimal without leading zeros (except "0" itself), fitting in u64.
fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    let invalid = || CheckpointError::InvalidSize(line.to_owned());
    let canonical =
        !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    line.parse().map_err(|_| invalid())
}

/// Canonical standard base64 (padded, no stray bits) of exactly 32 bytes.
fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    STANDARD
        .decode(line)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| CheckpointError::InvalidRoot(line.to_owned()))
}

/// Key names must be non-empty and contain neither Unicode whitespace nor '+'.
fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// The signed-note Ed25519 key id: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || 0x01 || public key)`.
fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALG_ED25519])
        .chain_update(public_key)
        .finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest[..4]);
    u32::from_be_bytes(id)
}

/// Parses `<name>+<8 hex digits>+<base64(0x01 || 32 bytes)>`, the common tail
/// of verifier and private key strings. Returns the name, the stated key id
/// and the 32 key bytes.
fn parse_key_parts(s: &str) -> Result<(&str, u32, [u8; 32]), NoteError> {
    // The base64 alphabet contains '+', so only the first two '+' separate fields.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey("expected <name>+<key id>+<base64 key>"));
    };
    check_key_name(name)?;
    let stated_id = parse_key_id(id_hex).ok_or(NoteError::MalformedKey("key id must be 8 hexadecimal digits"))?;
    let raw = STANDARD.decode(key_b64).map_err(|_| NoteError::MalformedKey("key data is not valid base64"))?;
    let (&algorithm, key) = raw.split_first().ok_or(NoteError::MalformedKey("key data is empty"))?;
    if algorithm != ALG_ED25519 {
        return Err(NoteError::UnsupportedAlgorithm(algorithm));
    }
    let key = <[u8; 32]>::try_from(key).map_err(|_| NoteError::MalformedKey("Ed25519 key data must be 32 bytes"))?;
    Ok((name, stated_id, key))
}

fn parse_key_id(hex: &str) -> Option<u32> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn check_key_id(stated: u32, computed: u32) -> Result<(), NoteError> {
    if stated == computed { Ok(()) } else { Err(NoteError::KeyIdMismatch { stated, computed }) }
}

/// `base64(0x01 || key)`, the key data of signed-note key strings.
fn encode_key(key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(ALG_ED25519);
    raw.extend_from_slice(key);
    STANDARD.encode(raw)
}

/// A named Ed25519 key that signs checkpoints (or any note text).
///
/// The `Debug` output shows the name and key id, never the private key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new key named `name`, from operating system randomness.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Randomness(e.to_string()))?;
        Self::from_seed(name, &seed)
    }

    /// The key named `name` with the given 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), key, key_id })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`,
    /// checking that the key id matches the derived public key.
    pub fn from_private_key_string(s: &str) -> Result<Self, NoteError> {
        let rest = s
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(NoteError::MalformedKey("private key must start with PRIVATE+KEY+"))?;
        let (name, stated_id, seed) = parse_key_parts(rest)?;
        let signer = Self::from_seed(name, &seed)?;
        check_key_id(stated_id, signer.key_id)?;
        Ok(signer)
    }

    /// The private key string; anyone holding it can sign as this log.
    pub fn to_private_key_string(&self) -> String {
        format!("{PRIVATE_KEY_PREFIX}{}+{:08x}+{}", self.name, self.key_id, encode_key(self.key.as_bytes()))
    }

    /// The public verifier key string `<name>+<hex key id>+<base64(0x01 || public key)>`.
    pub fn verifier_key_string(&self) -> String {
        format!("{}+{:08x}+{}", self.name, self.key_id, encode_key(self.key.verifying_key().as_bytes()))
    }

    /// The verifier for this key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key: self.key.verifying_key(), key_id: self.key_id }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Signs a checkpoint, returning the complete signed note.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String, NoteError> {
        checkpoint.validate()?;
        self.sign_text(&checkpoint.body())
    }

    /// Signs arbitrary note text, which must be non-empty, end with a newline
    /// and contain no ASCII control characters other than newline. Returns
    /// the text, a blank line and this key's signature line.
    pub fn sign_text(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::TextNotNewlineTerminated);
        }
        if has_forbidden_control(text) {
            return Err(NoteError::ControlCharacter);
        }
        let signature = self.key.sign(text.as_bytes());
        let mut payload = Vec::with_capacity(4 + 64);
        payload.extend_from_slice(&self.key_id.to_be_bytes());
        payload.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(payload)))
    }
}

/// Signed notes must not contain ASCII control characters other than newline.
fn has_forbidden_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// A trusted Ed25519 note verifier key: checks signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    key_id: u32,
}

impl NoteVerifier {
    /// Parses `<name>+<hex key id>+<base64(0x01 || public key)>`, checking the
    /// name, the algorithm byte, the key length, the key itself and the key id.
    pub fn from_verifier_key_string(s: &str) -> Result<Self, NoteError> {
        let (name, stated_id, public_key) = parse_key_parts(s)?;
        let verifier = Self::from_public_key(name, &public_key)?;
        check_key_id(stated_id, verifier.key_id)?;
        Ok(verifier)
    }

    /// The verifier named `name` for a 32-byte Ed25519 public key.
    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| NoteError::InvalidPublicKey)?;
        Ok(Self { name: name.to_owned(), key, key_id: key_id(name, public_key) })
    }

    /// The verifier key string.
    pub fn verifier_key_string(&self) -> String {
        format!("{}+{:08x}+{}", self.name, self.key_id, encode_key(self.key.as_bytes()))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Verifies a signed note and returns its text (everything before the
    /// blank line, including the final newline).
    ///
    /// Signature lines by other keys are checked for well-formedness and
    /// otherwise ignored; a line with this key's name and id must carry a
    /// valid signature, and at least one such line must be present.
    pub fn verify_note<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        if has_forbidden_control(note) {
            return Err(NoteError::ControlCharacter);
        }
        // The text may itself contain blank lines: the last one separates it
        // from the signatures.
        let split = note.rfind("\n\n").ok_or(NoteError::MissingBlankLine)?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        if signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let signatures = signatures.strip_suffix('\n').ok_or(NoteError::SignatureBlockNotTerminated)?;
        let lines: Vec<&str> = signatures.split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
        }

        let mut verified = false;
        for (i, line) in lines.into_iter().enumerate() {
            let (name, key_id, signature) = parse_signature_line(i + 1, line)?;
            if name != self.name || key_id != self.key_id {
                continue;
            }
            let invalid = || NoteError::InvalidSignature { name: self.name.clone(), key_id: self.key_id };
            let signature = Signature::from_slice(&signature).map_err(|_| invalid())?;
            // Strict verification also rejects malleable signatures and weak keys.
            self.key.verify_strict(text.as_bytes(), &signature).map_err(|_| invalid())?;
            verified = true;
        }
        if !verified {
            return Err(NoteError::UnknownKey { name: self.name.clone(), key_id: self.key_id });
        }
        Ok(text)
    }

    /// Verifies a signed checkpoint and parses its body.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, NoteError> {
        let text = self.verify_note(note)?;
        Ok(Checkpoint::parse_body(text)?)
    }
}

/// Splits `— <name> <base64>` into the key name, key id and signature bytes.
fn parse_signature_line(line_no: usize, line: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine { line: line_no, reason };
    let rest =
        line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| malformed("does not start with an em dash and a space"))?;
    let (name, payload) = rest.split_once(' ').ok_or_else(|| malformed("no space between key name and signature"))?;
    if check_key_name(name).is_err() {
        return Err(malformed("invalid key name"));
    }
    let raw = STANDARD.decode(payload).map_err(|_| NoteError::BadBase64 { line: line_no })?;
    let Some((id, signature)) = raw.split_first_chunk::<4>() else {
        return Err(malformed("shorter than a key id"));
    };
    if signature.is_empty() {
        return Err(malformed("no signature after the key id"));
    }
    Ok((name, u32::from_be_bytes(*id), signature.to_vec()))
}
