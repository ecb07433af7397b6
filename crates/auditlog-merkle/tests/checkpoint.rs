//! Checkpoint bodies and signed notes: round trips, malformed input, forged and tampered signatures.

use auditlog_merkle::{Checkpoint, CheckpointError, NoteError, NoteSigner, NoteVerifier, leaf_hash};
use proptest::prelude::*;

const ROOT_B64: &str = "Tszzt0jTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";

fn sample_checkpoint() -> Checkpoint {
    Checkpoint::new("example.com/auditlog", 42, leaf_hash(b"root"))
}

fn signer(name: &str) -> NoteSigner {
    NoteSigner::generate(name).expect("generate key")
}

/// A key with a fixed seed, for tests that take its strings apart. A
/// generated key's base64 may or may not contain `+`, the strings'
/// separator; this seed's private key string always does (`0x3e` bytes
/// encode as `Pj4+`), so a split in the wrong place fails every time.
fn fixed_signer(name: &str) -> NoteSigner {
    NoteSigner::from_seed(name, &[0x3e; 32]).expect("key from a fixed seed")
}

/// The base64 part of a key string: everything after the first `fields`
/// `+`-separated fields (names and key ids never contain `+`; base64 may).
fn key_data(key: &str, fields: usize) -> &str {
    key.splitn(fields + 1, '+').nth(fields).expect("key string has its fields")
}

/// The signature line(s) of a signed note: everything after the blank line.
fn signature_lines(note: &str) -> &str {
    let split = note.rfind("\n\n").expect("signed note has a blank line");
    &note[split + 2..]
}

// ---------------------------------------------------------------------------
// Checkpoint bodies
// ---------------------------------------------------------------------------

#[test]
fn body_round_trips() {
    let mut with_extensions = sample_checkpoint();
    with_extensions.extensions = vec!["ext one".into(), "— two".into()];
    let cases = [
        sample_checkpoint(),
        Checkpoint::new("o", 0, [0u8; 32]),
        Checkpoint::new("log with spaces+plus", u64::MAX, [0xff; 32]),
        with_extensions,
    ];
    for checkpoint in cases {
        let body = checkpoint.body();
        assert!(body.ends_with('\n'), "{body:?}");
        assert_eq!(Checkpoint::parse_body(&body), Ok(checkpoint), "{body:?}");
    }
}

#[test]
fn body_layout_is_exact() {
    let mut checkpoint = Checkpoint::new("example.com/log", 7, [0u8; 32]);
    checkpoint.extensions.push("x".into());
    assert_eq!(checkpoint.body(), "example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n");
}

#[test]
fn malformed_bodies_are_rejected() {
    let invalid_size = |s: &str| CheckpointError::InvalidSize(s.into());
    let invalid_root = |s: &str| CheckpointError::InvalidRoot(s.into());
    let cases: Vec<(String, CheckpointError)> = vec![
        (format!("o\n1\n{ROOT_B64}"), CheckpointError::MissingFinalNewline),
        (String::new(), CheckpointError::MissingFinalNewline),
        ("\n".into(), CheckpointError::TooFewLines(1)),
        ("o\n1\n".into(), CheckpointError::TooFewLines(2)),
        (format!("\n1\n{ROOT_B64}\n"), CheckpointError::EmptyOrigin),
        (format!("a\tb\n1\n{ROOT_B64}\n"), CheckpointError::ControlCharacter { field: "origin" }),
        (format!("a\rb\n1\n{ROOT_B64}\n"), CheckpointError::ControlCharacter { field: "origin" }),
        (format!("o\n\n{ROOT_B64}\n"), invalid_size("")),
        (format!("o\n01\n{ROOT_B64}\n"), invalid_size("01")),
        (format!("o\n00\n{ROOT_B64}\n"), invalid_size("00")),
        (format!("o\n-1\n{ROOT_B64}\n"), invalid_size("-1")),
        (format!("o\n+1\n{ROOT_B64}\n"), invalid_size("+1")),
        (format!("o\n 1\n{ROOT_B64}\n"), invalid_size(" 1")),
        (format!("o\n1.0\n{ROOT_B64}\n"), invalid_size("1.0")),
        (format!("o\n18446744073709551616\n{ROOT_B64}\n"), invalid_size("18446744073709551616")),
        ("o\n1\nnot base64!\n".into(), invalid_root("not base64!")),
        ("o\n1\n\n".into(), invalid_root("")),
        // 31 and 33 bytes.
        (
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n".into(),
            invalid_root("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
        ),
        (
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".into(),
            invalid_root("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        // Missing padding, and non-zero trailing bits: not canonical.
        (
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".into(),
            invalid_root("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        (
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n".into(),
            invalid_root("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="),
        ),
        (format!("o\n1\n{ROOT_B64}\n\n"), CheckpointError::EmptyExtension(1)),
        (format!("o\n1\n{ROOT_B64}\next\n\n"), CheckpointError::EmptyExtension(2)),
        (format!("o\n1\n{ROOT_B64}\nbell\u{7}\n"), CheckpointError::ControlCharacter { field: "extension" }),
    ];
    for (body, want) in cases {
        assert_eq!(Checkpoint::parse_body(&body), Err(want), "{body:?}");
    }
}

#[test]
fn checkpoints_that_would_serialise_ambiguously_are_invalid() {
    let root = leaf_hash(b"root");
    let with = |origin: &str, extensions: &[&str]| Checkpoint {
        origin: origin.into(),
        size: 1,
        root,
        extensions: extensions.iter().map(|&e| e.to_owned()).collect(),
    };
    let cases = [
        (with("", &[]), CheckpointError::EmptyOrigin),
        (
            // An origin smuggling in a different size and root.
            with("log\n999\nAAAA", &[]),
            CheckpointError::ControlCharacter { field: "origin" },
        ),
        (with("log", &["ok", ""]), CheckpointError::EmptyExtension(2)),
        (with("log", &["two\nlines"]), CheckpointError::ControlCharacter { field: "extension" }),
    ];
    let signer = signer("example.com/log");
    for (checkpoint, want) in cases {
        assert_eq!(checkpoint.validate(), Err(want.clone()), "{checkpoint:?}");
        assert_eq!(signer.sign(&checkpoint), Err(NoteError::Checkpoint(want)), "{checkpoint:?}");
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

#[test]
fn key_names_with_whitespace_or_plus_are_rejected() {
    for name in ["", "a b", "a+b", "tab\there", "nbsp\u{a0}here", "line\nbreak"] {
        let want = Err(NoteError::InvalidKeyName(name.into()));
        assert_eq!(NoteSigner::generate(name).map(|s| s.key_id()), want, "{name:?}");
        assert_eq!(NoteSigner::from_seed(name, &[7; 32]).map(|s| s.key_id()), want, "{name:?}");
        assert_eq!(NoteVerifier::from_public_key(name, &[7; 32]).map(|v| v.key_id()), want, "{name:?}");
    }
}

#[test]
fn generated_keys_round_trip_through_their_strings() {
    let signer = signer("example.com/auditlog");
    let restored =
        NoteSigner::from_private_key_string(&signer.to_private_key_string()).expect("own private key string");
    assert_eq!(restored.verifier_key_string(), signer.verifier_key_string());
    assert_eq!(restored.key_id(), signer.key_id());
    let verifier =
        NoteVerifier::from_verifier_key_string(&signer.verifier_key_string()).expect("own verifier key string");
    assert_eq!(verifier, signer.verifier());
    assert_eq!(verifier.name(), "example.com/auditlog");
    assert_eq!(verifier.verifier_key_string(), signer.verifier_key_string());
}

#[test]
fn generated_keys_differ() {
    assert_ne!(signer("log").verifier_key_string(), signer("log").verifier_key_string());
}

#[test]
fn malformed_key_strings_are_rejected() {
    let good = fixed_signer("log");
    let vkey = good.verifier_key_string();
    let key_b64 = key_data(&vkey, 2);
    let cases: Vec<(String, NoteError)> = vec![
        ("log".into(), NoteError::MalformedKey("expected <name>+<key id>+<base64 key>")),
        (format!("log+1234567+{key_b64}"), NoteError::MalformedKey("key id must be 8 hexadecimal digits")),
        (format!("log+1234567g+{key_b64}"), NoteError::MalformedKey("key id must be 8 hexadecimal digits")),
        ("log+12345678+!!!!".into(), NoteError::MalformedKey("key data is not valid base64")),
        ("log+12345678+".into(), NoteError::MalformedKey("key data is empty")),
        // 0x01 followed by 31 bytes.
        (
            "log+12345678+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==".into(),
            NoteError::MalformedKey("Ed25519 key data must be 32 bytes"),
        ),
        ("log+12345678+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(), NoteError::UnsupportedAlgorithm(2)),
        (format!("a b+12345678+{key_b64}"), NoteError::InvalidKeyName("a b".into())),
    ];
    for (key, want) in cases {
        assert_eq!(NoteVerifier::from_verifier_key_string(&key), Err(want), "{key:?}");
    }
    // A correct key under another name has a different id.
    let renamed = format!("other{}", &vkey[3..]);
    assert!(matches!(NoteVerifier::from_verifier_key_string(&renamed), Err(NoteError::KeyIdMismatch { .. })));
    let private = good.to_private_key_string();
    assert!(matches!(
        NoteSigner::from_private_key_string(&private.replacen("PRIVATE", "PUBLIC", 1)),
        Err(NoteError::MalformedKey(_))
    ));
    assert!(matches!(
        NoteSigner::from_private_key_string(&private.replacen("+log+", "+gol+", 1)),
        Err(NoteError::KeyIdMismatch { .. })
    ));
}

#[test]
fn signer_debug_output_hides_the_private_key() {
    let signer = fixed_signer("log");
    let private = signer.to_private_key_string();
    let seed_b64 = key_data(&private, 4);
    assert_eq!(seed_b64.len(), 44, "base64 of 0x01 and the 32-byte seed: {private}");
    assert!(seed_b64.contains('+'), "the fixed seed's base64 has the separator in it: {private}");
    let debug = format!("{signer:?}");
    assert!(!debug.contains(seed_b64), "{debug}");
    assert!(debug.contains(&format!("{:08x}", signer.key_id())), "{debug}");
}

// ---------------------------------------------------------------------------
// Signing and verifying
// ---------------------------------------------------------------------------

#[test]
fn signed_checkpoints_verify() {
    let signer = signer("example.com/auditlog");
    let verifier = signer.verifier();
    let mut with_extensions = sample_checkpoint();
    with_extensions.extensions.push("witnessed".into());
    for checkpoint in [sample_checkpoint(), with_extensions] {
        let note = signer.sign(&checkpoint).expect("sign");
        assert!(note.starts_with(&checkpoint.body()), "{note}");
        assert!(note.contains("\n\n\u{2014} example.com/auditlog "), "{note}");
        assert_eq!(verifier.verify(&note), Ok(checkpoint));
    }
}

#[test]
fn cosigned_notes_verify_for_each_signer_and_ignore_unknown_keys() {
    let log = signer("example.com/auditlog");
    let witness = signer("witness.example");
    let checkpoint = sample_checkpoint();
    let by_log = log.sign(&checkpoint).expect("sign");
    let by_witness = witness.sign(&checkpoint).expect("sign");
    let both = format!("{by_log}{}", signature_lines(&by_witness));
    assert_eq!(log.verifier().verify(&both), Ok(checkpoint.clone()));
    assert_eq!(witness.verifier().verify(&both), Ok(checkpoint));
    // A verifier whose key signed nothing rejects the note.
    let stranger = signer("example.com/auditlog");
    assert_eq!(
        stranger.verifier().verify(&both),
        Err(NoteError::UnknownKey { name: "example.com/auditlog".into(), key_id: stranger.key_id() })
    );
}

#[test]
fn tampered_and_forged_notes_are_rejected() {
    let log = signer("example.com/auditlog");
    let verifier = log.verifier();
    let checkpoint = sample_checkpoint();
    let note = log.sign(&checkpoint).expect("sign");
    let invalid = NoteError::InvalidSignature { name: "example.com/auditlog".into(), key_id: log.key_id() };

    // A different tree size under the original signature.
    let grown = note.replacen("\n42\n", "\n43\n", 1);
    assert_eq!(verifier.verify(&grown), Err(invalid.clone()));

    // Another key's signature relabelled with the log's name and key id.
    let impostor = NoteSigner::from_seed("impostor", &[9; 32]).expect("seed");
    let forged_line = impostor.sign(&checkpoint).expect("sign").replace("impostor", "example.com/auditlog");
    let impostor_id = format!("{:08x}", impostor.key_id());
    let log_id = format!("{:08x}", log.key_id());
    let forged = forge_key_id(&forged_line, &impostor_id, &log_id);
    assert_eq!(verifier.verify(&forged), Err(invalid.clone()));

    // Every single-bit change to the signature payload.
    let lines = signature_lines(&note);
    let payload_start = note.len() - lines.len() + lines.rfind(' ').expect("space") + 1;
    for i in payload_start..note.len() - 1 {
        let mut bytes = note.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let mutated = String::from_utf8(bytes).expect("ASCII edit");
        if mutated != note {
            assert!(verifier.verify(&mutated).is_err(), "byte {i} changed: {mutated}");
        }
    }
}

/// Rewrites the key id inside a signature line's base64 payload.
fn forge_key_id(note: &str, from_hex: &str, to_hex: &str) -> String {
    use base64_helpers::{decode, encode};
    let (head, line) = note.split_at(note.len() - signature_lines(note).len());
    let (prefix, payload) = line.trim_end().rsplit_once(' ').expect("signature line");
    let mut raw = decode(payload);
    assert_eq!(hex::encode(&raw[..4]), from_hex);
    raw[..4].copy_from_slice(&hex::decode(to_hex).expect("hex"));
    format!("{head}{prefix} {}\n", encode(&raw))
}

/// Minimal standard base64 for the forging helper, so the test does not
/// depend on the crate's own encoder.
mod base64_helpers {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Vec<u8> {
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for c in text.bytes().filter(|&c| c != b'=') {
            let value = ALPHABET.iter().position(|&a| a == c).expect("base64 digit") as u32;
            bits = (bits << 6) | value;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }
}

#[test]
fn signature_count_limit_is_100() {
    let log = signer("example.com/auditlog");
    let note = log.sign(&sample_checkpoint()).expect("sign");
    let line = signature_lines(&note);
    let body = &note[..note.len() - line.len()];
    let at_limit = format!("{body}{}", line.repeat(100));
    assert_eq!(log.verifier().verify(&at_limit), Ok(sample_checkpoint()));
    let over = format!("{body}{}", line.repeat(101));
    assert_eq!(log.verifier().verify(&over), Err(NoteError::TooManySignatures { max: 100 }));
}

#[test]
fn signed_text_that_is_not_a_checkpoint_is_reported() {
    let log = signer("log");
    let note = log.sign_text("just one line\n").expect("sign");
    assert_eq!(log.verifier().verify_note(&note), Ok("just one line\n"));
    assert_eq!(log.verifier().verify(&note), Err(NoteError::Checkpoint(CheckpointError::TooFewLines(1))));
}

#[test]
fn note_text_may_contain_blank_lines() {
    let log = signer("log");
    let text = "first\n\nthird\n\n";
    let note = log.sign_text(text).expect("sign");
    assert_eq!(log.verifier().verify_note(&note), Ok(text));
}

#[test]
fn unsignable_texts_are_rejected() {
    let log = signer("log");
    let cases = [
        ("", NoteError::TextNotNewlineTerminated),
        ("no newline", NoteError::TextNotNewlineTerminated),
        ("tab\there\n", NoteError::ControlCharacter),
        ("nul\0\n", NoteError::ControlCharacter),
    ];
    for (text, want) in cases {
        assert_eq!(log.sign_text(text), Err(want), "{text:?}");
    }
}

#[test]
fn malformed_signature_lines_are_rejected() {
    let log = signer("log");
    let verifier = log.verifier();
    let body = sample_checkpoint().body();
    let malformed = |line, reason| NoteError::MalformedSignatureLine { line, reason };
    let cases: Vec<(String, NoteError)> = vec![
        (format!("{body}\n- log AAAAAAAA\n"), malformed(1, "does not start with an em dash and a space")),
        (format!("{body}\n\u{2014} logAAAAAAAA\n"), malformed(1, "no space between key name and signature")),
        (format!("{body}\n\u{2014} a+b AAAAAAAA\n"), malformed(1, "invalid key name")),
        (format!("{body}\n\u{2014}  AAAAAAAA\n"), malformed(1, "invalid key name")),
        (format!("{body}\n\u{2014} log AAAA\n"), malformed(1, "shorter than a key id")),
        (format!("{body}\n\u{2014} log AAAAAA==\n"), malformed(1, "no signature after the key id")),
        (format!("{body}\n\u{2014} log \n"), malformed(1, "shorter than a key id")),
        (format!("{body}\n\u{2014} log AAAAAAAAA\n"), NoteError::BadBase64 { line: 1 }),
    ];
    for (note, want) in cases {
        assert_eq!(verifier.verify(&note), Err(want), "{note:?}");
    }
}

proptest! {
    // A fixed seed: the same cases on every run, so the suite cannot fail by chance.
    #![proptest_config(ProptestConfig { rng_seed: prop::test_runner::RngSeed::Fixed(0x6175_6469_746c_6f67), ..ProptestConfig::with_cases(64) })]

    #[test]
    fn any_valid_checkpoint_signs_and_verifies(
        origin in "[a-z0-9./-]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~\u{a0}-\u{2fff}]{1,30}", 0..3),
        seed in any::<[u8; 32]>(),
    ) {
        let checkpoint = Checkpoint { origin, size, root, extensions };
        prop_assert_eq!(Checkpoint::parse_body(&checkpoint.body()), Ok(checkpoint.clone()));
        let signer = NoteSigner::from_seed("example.com/auditlog", &seed)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let note = signer.sign(&checkpoint).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(signer.verifier().verify(&note), Ok(checkpoint));
    }

    #[test]
    fn arbitrary_input_never_panics(text in "(?s).{0,300}") {
        let verifier = NoteSigner::from_seed("log", &[3; 32])
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .verifier();
        // Only absence of panics matters here; results are ignored on purpose.
        let _ = verifier.verify(&text);
        let _ = Checkpoint::parse_body(&text);
        let _ = NoteVerifier::from_verifier_key_string(&text);
        let _ = NoteSigner::from_private_key_string(&text);
    }

    #[test]
    fn arbitrary_signature_blocks_never_verify(lines in "(\u{2014} [a-z+ ]{0,6} [A-Za-z0-9+/=]{0,100}\n){1,4}") {
        let log = NoteSigner::from_seed("log", &[3; 32])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let note = format!("{}\n{lines}", sample_checkpoint().body());
        prop_assert!(log.verifier().verify(&note).is_err());
    }
}
