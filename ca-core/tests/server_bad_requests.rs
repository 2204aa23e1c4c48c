//! Requests that are not SCEP get the HTTP codes of S-8 from the example server, which keeps
//! running. Plain `TcpStream`s, no HTTP client.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_support;

use server_support::Server;

#[test]
fn bad_method_missing_operation_and_oversized_body() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("ca"), &["--grant", "auto"]);

    let (status, head, body) = server.raw(
        b"DELETE /scep?operation=GetCACert HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405, "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("\r\nallow:"), "405 without Allow: {head}");
    assert!(lower.contains("content-length:"), "{head}");
    drop(body);

    let (status, head, _) =
        server.raw(b"GET /scep HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 400, "{head}");

    let (status, head, _) = server.raw(
        b"GET /scep?operation=NoSuchThing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 400, "{head}");

    let big = vec![0x30u8; 300 * 1024];
    let mut req = format!(
        "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-pki-message\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        big.len()
    )
    .into_bytes();
    req.extend_from_slice(&big);
    let (status, head, _) = server.raw(&req);
    assert_eq!(status, 413, "{head}");

    // A PKIOperation body that is not a pkiMessage: an error answer, no crash.
    let mut req = b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n".to_vec();
    req.extend_from_slice(b"hello");
    let (status, head, _) = server.raw(&req);
    assert!(status == 400 || status == 200, "{head}");

    // The admin interface rejects a wrong method and unknown commands.
    let (status, _, _) = server
        .raw(b"GET /admin/grant?id=all HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    let (status, _, _) =
        server.raw(b"GET /admin/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 404);

    // Still serving.
    let (status, body) = server.get("/scep?operation=GetCACert");
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    let (status, body) = server.get("/anything/else?operation=GetCACaps");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("SHA-256"));
    server.terminate();
}

#[test]
fn non_loopback_listen_is_refused_without_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(server_support::server_binary())
        .arg("--dir")
        .arg(tmp.path().join("ca"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-non-loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}
