//! The `http` feature's transport against a minimal HTTP/1.1 responder on 127.0.0.1: what goes
//! on the wire (S-1, S-4, S-5), and how replies, timeouts, refusals and oversized bodies map
//! to `HttpReply` / `TransportError` (K-14).

// Test code: a failed unwrap or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use client_core::{HttpTransport, HttpTransportConfig, Transport, TransportError, UrlProblem};
use scep_proto::{Capabilities, ClientRequest, Method};

/// What the responder saw: request line, headers (lower-case names), body.
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Serves one connection on 127.0.0.1 with `reply` (raw bytes; `None` = never answer) and
/// reports the request it read.
fn serve_once(reply: Option<Vec<u8>>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/scep", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        tx.send(Seen {
            line: line.trim_end().to_owned(),
            headers,
            body,
        })
        .unwrap();
        match reply {
            Some(bytes) => {
                let mut stream = stream;
                stream.write_all(&bytes).unwrap();
            }
            // Hold the connection open without answering, until the client gives up.
            None => thread::sleep(Duration::from_secs(3)),
        }
    });
    (url, rx)
}

fn http_reply(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn quick() -> HttpTransportConfig {
    let mut c = HttpTransportConfig::default();
    c.connect_timeout = Duration::from_millis(500);
    c.total_timeout = Duration::from_millis(700);
    c
}

#[test]
fn s01_s09_get_ca_caps_round_trip() {
    let caps = b"POSTPKIOperation\r\nSHA-256\r\nAES\r\n";
    let (url, seen) = serve_once(Some(http_reply(
        "200 OK",
        "text/plain; charset=utf-8",
        caps,
    )));
    let mut t = HttpTransport::new(&url, HttpTransportConfig::default()).unwrap();
    assert_eq!(t.path(), "/scep");
    let reply = t.send(&ClientRequest::get_ca_caps(t.path(), None)).unwrap();
    let seen = seen.recv().unwrap();
    assert_eq!(seen.line, "GET /scep?operation=GetCACaps HTTP/1.1");
    assert_eq!(
        (reply.status, reply.content_type.as_deref()),
        (200, Some("text/plain; charset=utf-8"))
    );
    assert!(Capabilities::from_http_response(reply.status, &reply.body).supports_post());
}

#[test]
fn s04_s05_post_pki_operation_sends_body_type_and_length() {
    let message = vec![0x30, 0x03, 0x02, 0x01, 0x07];
    let answer = [0x30, 0x00];
    let (url, seen) = serve_once(Some(http_reply(
        "200 OK",
        "application/x-pki-message",
        &answer,
    )));
    let mut t = HttpTransport::new(&url, HttpTransportConfig::default()).unwrap();
    let caps = Capabilities::parse(b"POSTPKIOperation\n");
    let request = ClientRequest::pki_operation(t.path(), caps, &message);
    assert_eq!(request.method, Method::Post);
    let reply = t.send(&request).unwrap();
    let seen = seen.recv().unwrap();
    assert_eq!(seen.line, "POST /scep?operation=PKIOperation HTTP/1.1");
    let header = |name: &str| {
        seen.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("application/x-pki-message"));
    assert_eq!(header("content-length"), Some("5"));
    assert_eq!(seen.body, message);
    assert_eq!(
        reply.scep_content_type(),
        Some(scep_proto::ContentType::PkiMessage)
    );
    assert_eq!(reply.body, answer);
}

#[test]
fn k14_error_status_is_a_reply_not_a_transport_error() {
    let (url, _seen) = serve_once(Some(http_reply(
        "404 Not Found",
        "text/plain",
        b"no rollover",
    )));
    let mut t = HttpTransport::new(&url, HttpTransportConfig::default()).unwrap();
    let reply = t
        .send(&ClientRequest::get_next_ca_cert(t.path(), None))
        .unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.scep_content_type(),
        Some(scep_proto::ContentType::TextPlain)
    );
    assert_eq!(reply.body, b"no rollover");
}

#[test]
fn k14_silent_ca_times_out() {
    let (url, _seen) = serve_once(None);
    let mut t = HttpTransport::new(&url, quick()).unwrap();
    let started = std::time::Instant::now();
    let err = t
        .send(&ClientRequest::get_ca_cert(t.path(), None))
        .unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("the CA at {} did not answer in time", t.host())
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn k14_refused_connection() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let mut t = HttpTransport::new(&format!("http://127.0.0.1:{port}/scep"), quick()).unwrap();
    let err = t
        .send(&ClientRequest::get_ca_cert(t.path(), None))
        .unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    // A sentence that names the server and the operating system's reason.
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot connect to the CA at 127.0.0.1:{port}: ")),
        "{text}"
    );
    assert!(text.contains("os error"), "{text}");
}

#[test]
fn s06_oversized_reply_is_refused() {
    let (url, _seen) = serve_once(Some(http_reply(
        "200 OK",
        "application/x-pki-message",
        &[0u8; 2048],
    )));
    let mut config = HttpTransportConfig::default();
    config.max_body_len = 1024;
    let mut t = HttpTransport::new(&url, config).unwrap();
    let err = t
        .send(&ClientRequest::get_ca_cert(t.path(), None))
        .unwrap_err();
    assert!(
        matches!(err, TransportError::BodyTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
}

#[test]
fn k2_bad_enrollment_url_is_refused_with_the_reason() {
    for (url, problem) in [
        ("ftp://ca", UrlProblem::Scheme),
        ("http://", UrlProblem::Host),
        ("http://ca/scep?operation=GetCACert", UrlProblem::Query),
    ] {
        match HttpTransport::new(url, HttpTransportConfig::default()) {
            Err(TransportError::InvalidUrl { problem: p, .. }) => assert_eq!(p, problem, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    let t = HttpTransport::new("https://ca.example/scep", HttpTransportConfig::default());
    assert_eq!(t.unwrap().path(), "/scep");
}
