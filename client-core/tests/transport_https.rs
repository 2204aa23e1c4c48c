//! The `https` feature's transport against a real TLS server on 127.0.0.1 (`openssl s_server`
//! in its `-HTTP` mode, which answers a GET with the file named by the path): trust in a given
//! CA bundle, refusal of a certificate that does not chain to the configured roots, and errors
//! that name the server.
#![cfg(feature = "https")]
// Test code: a failed unwrap or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use client_core::{HttpTransport, HttpTransportConfig, TlsRoots, Transport, TransportError};
use scep_proto::{Capabilities, ClientRequest};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package `openssl`, installed by .ci/test)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=scep-rs test TLS CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// `openssl s_server -HTTP` serving `dir` on a free port; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("openssl")
            .args([
                "s_server",
                "-HTTP",
                "-cert",
                "server.pem",
                "-key",
                "server.key",
            ])
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // s_server prints ACCEPT once it listens.
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        while !line.contains("ACCEPT") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "s_server exited");
        }
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Self { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(roots: TlsRoots) -> HttpTransportConfig {
    let mut c = HttpTransportConfig::default();
    c.connect_timeout = Duration::from_secs(5);
    c.total_timeout = Duration::from_secs(10);
    c.tls_roots = roots;
    c
}

#[test]
fn https_get_ca_caps_with_a_given_ca_bundle_and_refusal_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_pki(dir);
    // s_server -HTTP answers `GET /<name>` with the file <name>, which holds a whole response.
    let caps = "POSTPKIOperation\nSHA-256\nAES\n";
    std::fs::write(
        dir.join("scep?operation=GetCACaps"),
        format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{caps}",
            caps.len()
        ),
    )
    .unwrap();
    let server = TlsServer::start(dir);
    let url = format!("https://127.0.0.1:{}/scep", server.port);

    // Trusting the test CA: the exchange works and the path comes from the URL.
    let roots = TlsRoots::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let mut t = HttpTransport::new(&url, config(roots)).unwrap();
    assert_eq!(t.path(), "/scep");
    let reply = t.send(&ClientRequest::get_ca_caps(t.path(), None)).unwrap();
    assert_eq!(reply.status, 200);
    assert!(Capabilities::from_http_response(reply.status, &reply.body).supports_post());

    // The system's store does not know the test CA: a TLS error naming the server.
    let mut t = HttpTransport::new(&url, config(TlsRoots::System)).unwrap();
    let err = t
        .send(&ClientRequest::get_ca_caps(t.path(), None))
        .unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("TLS with the CA at 127.0.0.1:{}", server.port)),
        "{err}"
    );

    // Trusting another CA (the server certificate itself is not a CA): refused as well.
    let other = TlsRoots::from_pem(&std::fs::read(dir.join("server.pem")).unwrap()).unwrap();
    let mut t = HttpTransport::new(&url, config(other)).unwrap();
    let err = t
        .send(&ClientRequest::get_ca_caps(t.path(), None))
        .unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
}

#[test]
fn tls_roots_from_pem_refuses_text_without_certificates() {
    for bad in [
        &b""[..],
        b"not pem",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        assert!(matches!(
            TlsRoots::from_pem(bad),
            Err(TransportError::InvalidTlsRoots)
        ));
    }
}
