//! Real-peer BER: CMS messages made by the `openssl` CLI at test time, normalised, then read
//! by `der`/`cms` and checked back by `openssl` (SPEC S-40, S-19, S-20).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code fails loudly on purpose"
)]

mod ber_support;

use ber_support::Tree;
use cms::content_info::ContentInfo;
use cms::enveloped_data::EnvelopedData;
use cms::signed_data::SignedData;
use der::asn1::OctetString;
use der::{Decode, Encode};
use scep_proto::{Limits, flatten_constructed_string, normalize_ber};
use std::borrow::Cow;
use std::path::PathBuf;
use std::process::Command;

/// A temporary directory holding a throwaway RSA key and self-signed certificate.
struct Peer {
    dir: tempfile::TempDir,
}

impl Peer {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let peer = Peer { dir };
        peer.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=scep-rs ber test",
            "-days",
            "1",
        ]);
        peer
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs `openssl` in the directory; panics with its stderr on failure.
    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("the openssl CLI must be installed (.ci/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Content that spans several OpenSSL stream segments (4096 bytes each), with every byte
/// value present.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + i / 256) % 256) as u8).collect()
}

/// Normalises, checks idempotence, returns the DER.
fn normalise(bytes: &[u8]) -> Vec<u8> {
    let limits = Limits::default();
    let der = normalize_ber(bytes, &limits).unwrap().into_owned();
    assert!(matches!(
        normalize_ber(&der, &limits).unwrap(),
        Cow::Borrowed(_)
    ));
    der
}

/// The eContent octets of a ContentInfo{SignedData}, read with `der`/`cms`.
fn econtent(der: &[u8]) -> Vec<u8> {
    let info = ContentInfo::from_der(der).unwrap();
    let signed: SignedData = info.content.decode_as().unwrap();
    let any = signed
        .encap_content_info
        .econtent
        .expect("eContent present");
    OctetString::from_der(&any.to_der().unwrap())
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// The signed attributes element (`[0] IMPLICIT SET OF Attribute`) of the first SignerInfo.
fn signed_attrs(der: &[u8]) -> Vec<u8> {
    let info = Tree::from_der(der);
    let signed = &info.children()[1].children()[0];
    let signer_infos = signed.children().last().unwrap();
    let signer_info = &signer_infos.children()[0];
    let attrs = signer_info
        .children()
        .iter()
        .find(|c| c.tag() == [0xA0])
        .expect("signed attributes");
    attrs.to_der()
}

#[test]
fn s40_openssl_sign_stream_normalises_to_der() {
    let peer = Peer::new();
    let data = content(9000);
    peer.write("content.bin", &data);
    peer.openssl(&[
        "cms",
        "-sign",
        "-stream",
        "-outform",
        "DER",
        "-binary",
        "-nodetach",
        "-md",
        "sha256",
        "-signer",
        "cert.pem",
        "-inkey",
        "key.pem",
        "-in",
        "content.bin",
        "-out",
        "signed.ber",
    ]);
    let ber = peer.read("signed.ber");
    assert_eq!(
        &ber[..2],
        &[0x30, 0x80],
        "OpenSSL -stream writes indefinite lengths"
    );
    assert!(ContentInfo::from_der(&ber).is_err(), "the BER is not DER");

    let der = normalise(&ber);
    // The regression check for the `der` BER trap: the content, exactly, no segment header.
    let read = econtent(&der);
    assert_eq!(read.len(), data.len());
    assert_eq!(read, data);

    // The signed attributes were DER-shaped in the stream, so they are copied verbatim (S-19).
    let attrs = signed_attrs(&der);
    assert!(ber.windows(attrs.len()).any(|w| w == attrs.as_slice()));

    // And OpenSSL still verifies the normalised message and recovers the content.
    peer.write("signed.der", &der);
    peer.openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        "signed.der",
        "-CAfile",
        "cert.pem",
        "-binary",
        "-out",
        "verified.bin",
    ]);
    assert_eq!(peer.read("verified.bin"), data);
}

#[test]
fn s40_openssl_sign_der_is_returned_unchanged() {
    let peer = Peer::new();
    let data = content(9000);
    peer.write("content.bin", &data);
    peer.openssl(&[
        "cms",
        "-sign",
        "-outform",
        "DER",
        "-binary",
        "-nodetach",
        "-md",
        "sha256",
        "-signer",
        "cert.pem",
        "-inkey",
        "key.pem",
        "-in",
        "content.bin",
        "-out",
        "signed.der",
    ]);
    let der = peer.read("signed.der");
    let out = normalize_ber(&der, &Limits::default()).unwrap();
    assert!(matches!(out, Cow::Borrowed(_)));
    assert_eq!(&out[..], der.as_slice());
    assert_eq!(econtent(&der), data);
}

#[test]
fn s20_openssl_encrypt_stream_normalises_and_decrypts() {
    for cipher in ["-aes128", "-aes256", "-des3"] {
        let peer = Peer::new();
        let data = content(6000);
        peer.write("content.bin", &data);
        peer.openssl(&[
            "cms",
            "-encrypt",
            "-stream",
            "-outform",
            "DER",
            "-binary",
            cipher,
            "-in",
            "content.bin",
            "-out",
            "enveloped.ber",
            "cert.pem",
        ]);
        let ber = peer.read("enveloped.ber");
        assert_eq!(&ber[..2], &[0x30, 0x80], "{cipher}");
        let der = normalise(&ber);

        // encryptedContent [0] IMPLICIT OCTET STRING stays constructed in the generic pass
        // (it cannot be told from an EXPLICIT tag); the codec flattens it at its position.
        let mut tree = Tree::from_der(&der);
        let enveloped = &mut tree.children_mut()[1].children_mut()[0];
        let field = &mut enveloped.children_mut()[2].children_mut()[2];
        assert_eq!(field.tag(), [0xA0], "{cipher}: constructed [0]");
        let ciphertext = flatten_constructed_string(&field.to_der(), &Limits::default())
            .unwrap()
            .into_owned();
        *field = Tree::Prim {
            tag: vec![0x80],
            content: ciphertext.clone(),
        };
        let fixed = tree.to_der();

        let info = ContentInfo::from_der(&fixed).unwrap();
        let enveloped: EnvelopedData = info.content.decode_as().unwrap();
        let decoded = enveloped.encrypted_content.encrypted_content.unwrap();
        assert_eq!(decoded.as_bytes(), ciphertext.as_slice());

        // OpenSSL decrypts what the normaliser and the helper produced.
        peer.write("enveloped.der", &fixed);
        peer.openssl(&[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            "enveloped.der",
            "-recip",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-binary",
            "-out",
            "decrypted.bin",
        ]);
        assert_eq!(peer.read("decrypted.bin"), data, "{cipher}");
    }
}

/// The committed `-stream` sample (tests/data/ber/NOTES.md).
const STREAM_SAMPLE: &[u8] = include_bytes!("data/ber/openssl-sign-stream.ber");

/// The sample's content, rebuilt from the command in NOTES.md.
fn stream_sample_content() -> Vec<u8> {
    (0..64)
        .flat_map(|i| {
            format!(
                "{i:05} scep-rs BER regression sample: OpenSSL -stream writes eContent in chunks.\n"
            )
            .into_bytes()
        })
        .collect()
}

#[test]
fn s40_openssl_stream_sample_econtent_is_exact() {
    let expected = stream_sample_content();
    assert_eq!(expected.len(), 5120);
    let der = normalise(STREAM_SAMPLE);
    let read = econtent(&der);
    // Not 5124: the segment header 04 82 10 00 must not be part of the content.
    assert_eq!(read.len(), 5120);
    assert_eq!(read, expected);
    assert_eq!(&read[..6], b"00000 ");
}

#[test]
fn s40_openssl_stream_sample_verifies_after_normalisation() {
    let peer = Peer::new();
    let der = normalise(STREAM_SAMPLE);
    peer.write("sample.der", &der);
    // The sample's throwaway signer is not kept: check the signature with the certificate
    // embedded in the message.
    peer.openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        "sample.der",
        "-noverify",
        "-binary",
        "-out",
        "verified.bin",
    ]);
    assert_eq!(peer.read("verified.bin"), stream_sample_content());
}
