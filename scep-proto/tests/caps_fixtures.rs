//! Every recorded GetCACaps answer (tests/data/NOTES.md) parses to the same set (S-16).

use std::path::Path;

use scep_proto::{Capabilities, Capability, ContentCipher, DigestAlg, Method};

const RECORDED: [(&str, &[u8]); 6] = [
    (
        "certmonger",
        include_bytes!("data/certmonger/001-GetCACaps.resp.bin"),
    ),
    (
        "micromdm-client",
        include_bytes!("data/micromdm-client/002-GetCACaps.resp.bin"),
    ),
    (
        "openssl",
        include_bytes!("data/openssl/001-GetCACaps.resp.bin"),
    ),
    (
        "pyscep",
        include_bytes!("data/pyscep/001-GetCACaps.resp.bin"),
    ),
    ("sscep", include_bytes!("data/sscep/001-GetCACaps.resp.bin")),
    (
        "strongswan",
        include_bytes!("data/strongswan/002-GetCACaps.resp.bin"),
    ),
];

/// micromdm 2.1.0 advertises these, LF-separated without a final LF.
fn micromdm_caps() -> Capabilities {
    [
        Capability::Renewal,
        Capability::Sha1,
        Capability::Sha256,
        Capability::Aes,
        Capability::Des3,
        Capability::ScepStandard,
        Capability::PostPkiOperation,
    ]
    .into_iter()
    .collect()
}

#[test]
fn s16_recorded_micromdm_answers_parse() {
    for (peer, body) in RECORDED {
        let caps = Capabilities::parse(body);
        assert_eq!(caps, micromdm_caps(), "{peer}");
        assert_eq!(caps.pki_operation_method(), Method::Post);
        assert_eq!(caps.content_cipher(), ContentCipher::Aes128);
        assert_eq!(caps.digest(), DigestAlg::Sha256);
        // Status line recorded next to it: 200 text/plain.
        assert_eq!(Capabilities::from_http_response(200, body), caps);
    }
}

/// The whole shared fixture set, when it is checked out next to the workspace.
#[test]
fn s16_every_shared_recording_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    let Ok(peers) = std::fs::read_dir(root.join("micromdm-2.1.0")) else {
        eprintln!("shared fixtures not present; covered by the copies in tests/data");
        return;
    };
    let mut seen = 0;
    for peer in peers {
        let peer = peer.unwrap().path();
        let Ok(files) = std::fs::read_dir(&peer) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with("-GetCACaps.resp.bin") {
                let body = std::fs::read(&path).unwrap();
                assert_eq!(
                    Capabilities::parse(&body),
                    micromdm_caps(),
                    "{}",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0);
}
