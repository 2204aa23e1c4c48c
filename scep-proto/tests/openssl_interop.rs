//! Interop with the OpenSSL CLI (`openssl cms`), generating material at test time in a
//! temporary directory: OpenSSL-made SignedData-over-EnvelopedData (DER and `-stream` BER,
//! 3DES/AES, SHA-1/SHA-256, RSA-OAEP, SKI identifiers) opens with our decoder, and OpenSSL
//! verifies and decrypts what our builders emit.

// Test crate: helpers outside #[test] fns may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ca, client, read, rng};
use scep_proto::{
    CertRepBuilder, CertRepContent, ContentCipher, Csr, DigestAlg, Envelope, Error, FailInfo,
    KeyTransport, Nonce, PkiMessage, Profile, RequestBody, RequestBuilder, SignedMessage, Signer,
    TransactionId,
};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        let d = Self(tempfile::tempdir().unwrap());
        // PEM copies of the committed test material for the CLI.
        for (der, pem, kind) in [
            ("keys/ca.der", "ca.pem", "x509"),
            ("keys/client.der", "client.pem", "x509"),
            ("keys/ca.key.der", "ca.key.pem", "pkey"),
            ("keys/client.key.der", "client.key.pem", "pkey"),
        ] {
            let src = format!("{}/{der}", common::DATA);
            d.openssl(&[kind, "-inform", "DER", "-in", &src, "-out", pem]);
        }
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.0.path())
            .output()
            .expect("openssl CLI on PATH");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Case {
    cipher: &'static str,
    md: &'static str,
    stream: bool,
    oaep: bool,
    keyid: bool,
}

/// `openssl cms -encrypt` the CSR to the CA, then `openssl cms -sign -nodetach` the envelope
/// with the client key; returns the SignedData bytes.
fn openssl_pkcsreq_shaped(d: &Dir, c: &Case) -> Vec<u8> {
    let csr = d.write("csr.der", &read("keys/client.csr.der"));
    let mut enc = vec![
        "cms",
        "-encrypt",
        "-binary",
        "-in",
        p(&csr),
        "-outform",
        "DER",
        "-out",
        "env.der",
        c.cipher,
        "-recip",
        "ca.pem",
    ];
    if c.oaep {
        enc.extend(["-keyopt", "rsa_padding_mode:oaep"]);
    }
    if c.stream {
        enc.push("-stream");
    }
    if c.keyid {
        enc.push("-keyid");
    }
    d.openssl(&enc);
    let mut sign = vec![
        "cms",
        "-sign",
        "-nodetach",
        "-binary",
        "-in",
        "env.der",
        "-signer",
        "client.pem",
        "-inkey",
        "client.key.pem",
        "-md",
        c.md,
        "-outform",
        "DER",
        "-out",
        "signed.der",
    ];
    if c.stream {
        sign.push("-stream");
    }
    if c.keyid {
        sign.push("-keyid");
    }
    d.openssl(&sign);
    d.read("signed.der")
}

#[test]
fn s40_openssl_made_signed_envelopes_open() {
    let d = Dir::new();
    let (ca_cert, ca_key) = ca();
    let (client_cert, _) = client();
    let csr = read("keys/client.csr.der");
    let mut rng = rng(20);
    let cases = [
        (
            "-des3",
            "sha1",
            false,
            false,
            false,
            ContentCipher::Des3,
            DigestAlg::Sha1,
        ),
        (
            "-des3",
            "sha256",
            true,
            false,
            false,
            ContentCipher::Des3,
            DigestAlg::Sha256,
        ),
        (
            "-aes128",
            "sha1",
            true,
            false,
            false,
            ContentCipher::Aes128,
            DigestAlg::Sha1,
        ),
        (
            "-aes128",
            "sha256",
            false,
            false,
            false,
            ContentCipher::Aes128,
            DigestAlg::Sha256,
        ),
        (
            "-aes256",
            "sha256",
            false,
            false,
            false,
            ContentCipher::Aes256,
            DigestAlg::Sha256,
        ),
        (
            "-aes256",
            "sha256",
            true,
            false,
            false,
            ContentCipher::Aes256,
            DigestAlg::Sha256,
        ),
        (
            "-aes256",
            "sha256",
            false,
            true,
            false,
            ContentCipher::Aes256,
            DigestAlg::Sha256,
        ),
        (
            "-aes128",
            "sha1",
            true,
            true,
            false,
            ContentCipher::Aes128,
            DigestAlg::Sha1,
        ),
        (
            "-aes128",
            "sha256",
            false,
            false,
            true,
            ContentCipher::Aes128,
            DigestAlg::Sha256,
        ),
    ];
    for (cipher, md, stream, oaep, keyid, want_cipher, want_digest) in cases {
        let c = Case {
            cipher,
            md,
            stream,
            oaep,
            keyid,
        };
        let bytes = openssl_pkcsreq_shaped(&d, &c);
        let what = format!("{cipher} {md} stream={stream} oaep={oaep} keyid={keyid}");
        if stream {
            assert_eq!(
                bytes.get(1),
                Some(&0x80),
                "{what}: -stream gives indefinite lengths"
            );
        }
        let signed = SignedMessage::from_der(&bytes, &Profile::STRICT)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(signed.digest(), want_digest, "{what}");
        let signer = signed
            .verify(None)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(signer, client_cert, "{what}");
        let env = Envelope::from_der(signed.content().unwrap(), &Profile::STRICT)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(env.cipher(), want_cipher, "{what}");
        let want_kt = if oaep {
            KeyTransport::RsaOaepSha1
        } else {
            KeyTransport::RsaPkcs1v15
        };
        assert_eq!(env.recipients()[0].key_transport, want_kt, "{what}");
        assert!(env.is_addressed_to(&ca_cert), "{what}: rid names the CA");
        let plain = env
            .decrypt_for(&ca_cert, &ca_key, &mut rng)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(plain, csr, "{what}");
        assert!(Csr::from_der(&plain).is_ok());
        // No SCEP attributes in an OpenSSL-made message: the pkiMessage layer says so.
        assert!(matches!(
            PkiMessage::from_der(&bytes, &Profile::STRICT),
            Err(Error::Attribute { .. })
        ));
    }
}

#[test]
fn s17_openssl_verifies_and_decrypts_our_requests() {
    let d = Dir::new();
    let (ca_cert, _) = ca();
    let (client_cert, client_key) = client();
    let csr = Csr::from_der(&read("keys/client.csr.der")).unwrap();
    let mut rng = rng(21);
    for (cipher, digest, kt) in [
        (
            ContentCipher::Des3,
            DigestAlg::Sha1,
            KeyTransport::RsaPkcs1v15,
        ),
        (
            ContentCipher::Aes128,
            DigestAlg::Sha256,
            KeyTransport::RsaPkcs1v15,
        ),
        (
            ContentCipher::Aes192,
            DigestAlg::Sha384,
            KeyTransport::RsaPkcs1v15,
        ),
        (
            ContentCipher::Aes256,
            DigestAlg::Sha512,
            KeyTransport::RsaOaepSha1,
        ),
        (
            ContentCipher::Aes128,
            DigestAlg::Sha224,
            KeyTransport::RsaOaepSha1,
        ),
    ] {
        let mut b = RequestBuilder::new(TransactionId::random(&mut rng), Nonce::random(&mut rng));
        b.cipher = cipher;
        b.digest = digest;
        b.key_transport = kt;
        b.signing_time = Some(1_795_422_887);
        let der = b
            .build(
                &RequestBody::PkcsReq(csr.clone()),
                Signer {
                    cert: &client_cert,
                    key: &client_key,
                },
                &ca_cert,
                &mut rng,
            )
            .unwrap();
        let msg = d.write("req.der", &der);
        d.openssl(&[
            "cms",
            "-verify",
            "-noverify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            p(&msg),
            "-out",
            "env.der",
        ]);
        d.openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "env.der",
            "-recip",
            "ca.pem",
            "-inkey",
            "ca.key.pem",
            "-out",
            "plain.der",
        ]);
        assert_eq!(
            d.read("plain.der"),
            csr.to_der(),
            "{cipher:?} {digest:?} {kt:?}"
        );
    }
}

#[test]
fn s29_openssl_verifies_our_failure_reply_with_empty_econtent() {
    let d = Dir::new();
    let (ca_cert, ca_key) = ca();
    let mut rng = rng(22);
    let der = CertRepBuilder::new(
        TransactionId::new("T").unwrap(),
        Nonce([1; 16]),
        Nonce([2; 16]),
    )
    .build(
        &CertRepContent::Failure {
            fail_info: FailInfo::BadRequest,
            text: None,
        },
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        &mut rng,
    )
    .unwrap();
    let msg = d.write("rep.der", &der);
    d.openssl(&[
        "cms",
        "-verify",
        "-noverify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p(&msg),
        "-out",
        "content.bin",
    ]);
    assert!(d.read("content.bin").is_empty());
}

/// Minimal DER walker for the hand-made unsorted-attributes vector below.
fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, hl) = match input[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(input[2]), 3),
        0x82 => (usize::from(input[2]) << 8 | usize::from(input[3]), 4),
        _ => panic!("length form"),
    };
    (tag, &input[hl..hl + len], &input[hl + len..])
}

fn kids(mut value: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (_, _, rest) = tlv(value);
        out.push(&value[..value.len() - rest.len()]);
        value = rest;
    }
    out
}

fn offset(base: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - base.as_ptr() as usize
}

#[test]
fn s19_signed_attributes_in_received_unsorted_order_verify() {
    let d = Dir::new();
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let csr = Csr::from_der(&read("keys/client.csr.der")).unwrap();
    let mut rng = rng(23);
    let der = RequestBuilder::new(TransactionId::new("UNSORTED-1").unwrap(), Nonce([3; 16]))
        .build(
            &RequestBody::PkcsReq(csr.clone()),
            Signer {
                cert: &client_cert,
                key: &client_key,
            },
            &ca_cert,
            &mut rng,
        )
        .unwrap();
    // ContentInfo / [0] / SignedData / signerInfos / SignerInfo / [0] signedAttrs.
    let (_, ci, _) = tlv(&der);
    let (_, explicit, _) = tlv(kids(ci)[1]);
    let (_, sd, _) = tlv(explicit);
    let sd_kids = kids(sd);
    let (_, infos, _) = tlv(sd_kids[sd_kids.len() - 1]);
    let (_, si, _) = tlv(infos);
    let si_kids = kids(si);
    let attrs_tlv = si_kids[3];
    let sig_tlv = si_kids[5];
    assert_eq!(attrs_tlv[0], 0xa0);
    let (_, attrs_value, _) = tlv(attrs_tlv);
    let reversed: Vec<u8> = kids(attrs_value)
        .into_iter()
        .rev()
        .flatten()
        .copied()
        .collect();
    assert_ne!(reversed.as_slice(), attrs_value, "order really changes");
    // Re-sign over SET || len || reversed value, the bytes a verifier must use (S-19).
    let header_len = attrs_tlv.len() - attrs_value.len();
    let mut to_sign = attrs_tlv[..header_len].to_vec();
    to_sign[0] = 0x31;
    to_sign.extend_from_slice(&reversed);
    let sig = client_key
        .sign(DigestAlg::Sha256, &to_sign, &mut rng)
        .unwrap();
    let (_, old_sig, _) = tlv(sig_tlv);
    assert_eq!(sig.len(), old_sig.len());
    let mut patched = der.clone();
    let a = offset(&der, attrs_value);
    patched[a..a + attrs_value.len()].copy_from_slice(&reversed);
    let s = offset(&der, old_sig);
    patched[s..s + sig.len()].copy_from_slice(&sig);

    let v = PkiMessage::from_der(&patched, &Profile::STRICT)
        .unwrap()
        .verify(None)
        .expect("signature over the unsorted bytes verifies");
    let req = v.open_request(&ca_key, &mut rng).unwrap();
    assert_eq!(req.body, RequestBody::PkcsReq(csr));
    // OpenSSL agrees.
    let msg = d.write("unsorted.der", &patched);
    d.openssl(&[
        "cms",
        "-verify",
        "-noverify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p(&msg),
        "-out",
        "env.der",
    ]);
    // A re-sorting verifier would have failed: the sorted bytes do not match the signature.
    let mut tampered = patched.clone();
    tampered[a + 5] ^= 0x01;
    assert!(
        PkiMessage::from_der(&tampered, &Profile::STRICT)
            .and_then(|m| m.verify(None))
            .is_err()
    );
}

#[test]
fn s40_committed_stream_sample_econtent_is_exact() {
    let (ca_cert, ca_key) = ca();
    let signed =
        SignedMessage::from_der(&read("openssl/stream_aes128_sha256.ber"), &Profile::STRICT)
            .unwrap();
    signed.verify(None).unwrap();
    let envelope_ber = read("openssl/stream_aes128_envelope.ber");
    assert_eq!(signed.content(), Some(envelope_ber.as_slice()));
    let env = Envelope::from_der(&envelope_ber, &Profile::STRICT).unwrap();
    let plain = env.decrypt_for(&ca_cert, &ca_key, &mut rng(24)).unwrap();
    assert_eq!(plain, read("keys/client.csr.der"));
}

#[test]
fn k5_self_signed_signer_certificate_verifies_with_openssl_and_signs_requests() {
    let d = Dir::new();
    let (ca_cert, ca_key) = ca();
    let (_, client_key) = client();
    let csr = Csr::from_der(&read("keys/client.csr.der")).unwrap();
    let mut rng = rng(25);
    let now = 1_795_422_887;
    let signer_cert = scep_proto::SelfSigned::new(
        csr.cert_req().info.subject.clone(),
        vec![0x01, 0x02, 0x03],
        now - 3600,
        now + 86_400,
    )
    .build(&client_key, &mut rng)
    .unwrap();
    let tbs = signer_cert.tbs_certificate();
    assert_eq!(tbs.subject(), &csr.cert_req().info.subject);
    assert_eq!(tbs.issuer(), tbs.subject());
    assert_eq!(
        tbs.subject_public_key_info(),
        &csr.cert_req().info.public_key
    );
    let pem = d.path("self.der");
    std::fs::write(&pem, der::Encode::to_der(&signer_cert).unwrap()).unwrap();
    d.openssl(&["x509", "-inform", "DER", "-in", p(&pem), "-out", "self.pem"]);
    d.openssl(&[
        "verify",
        "-no_check_time",
        "-check_ss_sig",
        "-CAfile",
        "self.pem",
        "self.pem",
    ]);
    let der = RequestBuilder::new(TransactionId::random(&mut rng), Nonce::random(&mut rng))
        .build(
            &RequestBody::PkcsReq(csr.clone()),
            Signer {
                cert: &signer_cert,
                key: &client_key,
            },
            &ca_cert,
            &mut rng,
        )
        .unwrap();
    let v = PkiMessage::from_der(&der, &Profile::STRICT)
        .unwrap()
        .verify(None)
        .unwrap();
    assert_eq!(v.signer(), &signer_cert);
    let req = v.open_request(&ca_key, &mut rng).unwrap();
    assert_eq!(req.body, RequestBody::PkcsReq(csr));
}

#[test]
fn s36_get_crl_reply_carries_an_openssl_crl() {
    let d = Dir::new();
    let (ca_cert, ca_key) = ca();
    let (client_cert, client_key) = client();
    let mut rng = rng(26);
    d.write("index.txt", b"");
    d.write("crlnumber", b"01\n");
    d.write(
        "ca.cnf",
        b"[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
          default_md = sha256\ndefault_crl_days = 7\n",
    );
    d.openssl(&[
        "ca",
        "-gencrl",
        "-config",
        "ca.cnf",
        "-keyfile",
        "ca.key.pem",
        "-cert",
        "ca.pem",
        "-out",
        "crl.pem",
    ]);
    d.openssl(&[
        "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
    ]);
    let crl: x509_cert::crl::CertificateList = der::Decode::from_der(&d.read("crl.der")).unwrap();
    let bag = scep_proto::CertsOnly {
        certificates: Vec::new(),
        crls: vec![crl.clone()],
    };
    let der = CertRepBuilder::new(
        TransactionId::new("CRL").unwrap(),
        Nonce([1; 16]),
        Nonce([2; 16]),
    )
    .build(
        &CertRepContent::Success {
            certs: &bag,
            recipient: &client_cert,
        },
        Signer {
            cert: &ca_cert,
            key: &ca_key,
        },
        &mut rng,
    )
    .unwrap();
    let rep = PkiMessage::from_der(&der, &Profile::STRICT)
        .unwrap()
        .verify(Some(&ca_cert))
        .unwrap()
        .open_cert_rep(Some(&client_key), &mut rng)
        .unwrap();
    let scep_proto::CertRepStatus::Success(got) = rep.status else {
        panic!("{:?}", rep.status)
    };
    assert_eq!(got.crls, vec![crl]);
    // OpenSSL reads the same reply: verify, decrypt with the client key, list the CRL.
    let msg = d.write("rep.der", &der);
    d.openssl(&[
        "cms",
        "-verify",
        "-noverify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p(&msg),
        "-out",
        "env.der",
    ]);
    d.openssl(&[
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "env.der",
        "-recip",
        "client.pem",
        "-inkey",
        "client.key.pem",
        "-out",
        "inner.der",
    ]);
    d.openssl(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        "inner.der",
        "-print_certs",
        "-out",
        "x.txt",
    ]);
    assert_eq!(d.read("inner.der"), bag.to_der().unwrap());
}
