//! `scep client status`: the certificates as IOS's `show crypto pki certificates` lists
//! them, then the trustpoint's state and timers (`show crypto pki timers`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use client_core::der::Encode as _;
use client_core::{CaFingerprints, Certificate, Trustpoint, TrustpointStore as _};

use super::exit::{self, Failure};
use super::record_path;

/// Upper-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// One certificate block.
fn block(out: &mut String, title: &str, cert: &Certificate, usage: &str, name: &str, now: u64) {
    let tbs = cert.tbs_certificate();
    let v = scep_proto::CertValidity::of(cert);
    let status = if now < v.not_before {
        "Pending (not yet valid)"
    } else if now > v.not_after {
        "Expired"
    } else {
        "Available"
    };
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "  Status: {status}");
    let _ = writeln!(
        out,
        "  Certificate Serial Number (hex): {}",
        hex(tbs.serial_number().as_bytes())
    );
    let _ = writeln!(out, "  Certificate Usage: {usage}");
    let _ = writeln!(out, "  Issuer:\n    {}", tbs.issuer());
    let _ = writeln!(out, "  Subject:\n    {}", tbs.subject());
    let _ = writeln!(out, "  Validity Date:");
    let _ = writeln!(out, "    start date: {}", tbs.validity().not_before);
    let _ = writeln!(out, "    end   date: {}", tbs.validity().not_after);
    if let Ok(der) = cert.to_der() {
        let f = CaFingerprints::of(&der);
        let _ = writeln!(out, "  Fingerprint {}", f.md5);
        let _ = writeln!(out, "  Fingerprint {}", f.sha1);
        let _ = writeln!(out, "  Fingerprint {}", f.sha256);
    }
    let _ = writeln!(out, "  Associated Trustpoints: {name}\n");
}

/// The listing for `tp` at `now`.
pub(crate) fn render(tp: &Trustpoint, now: client_core::Instant) -> String {
    let name = tp.config().name.as_str();
    let t = now.unix();
    let mut out = String::new();
    if let Some(c) = tp.identity_cert() {
        block(&mut out, "Certificate", c, "General Purpose", name, t);
    }
    if let Some(c) = tp.ca_cert() {
        block(&mut out, "CA Certificate", c, "Signature", name, t);
    }
    if let Some(c) = tp.rollover_ca_cert() {
        block(&mut out, "Rollover CA Certificate", c, "Signature", name, t);
    }
    if let Some(c) = tp.rollover_identity_cert() {
        block(
            &mut out,
            "Rollover Certificate",
            c,
            "General Purpose",
            name,
            t,
        );
    }
    let _ = writeln!(out, "Trustpoint {name}:");
    let _ = writeln!(out, "  State: {}", tp.state().as_str());
    let _ = writeln!(out, "  Enrolment path: {}", tp.config().path);
    let _ = writeln!(out, "  Subject requested: {}", tp.config().subject);
    match tp.config().auto_enroll {
        Some(ae) => {
            let _ = writeln!(
                out,
                "  Auto-enroll: {}%{}",
                ae.percent.get(),
                if ae.regenerate { " regenerate" } else { "" }
            );
        }
        None => {
            let _ = writeln!(out, "  Auto-enroll: off (renew with `scep client renew`)");
        }
    }
    if tp.config().reenroll_after_expiry {
        let _ = writeln!(out, "  Re-enrol after expiry: on");
    }
    if let Some(id) = tp.transaction_id() {
        let _ = writeln!(out, "  Transaction under way: {}", id.as_str());
    }
    let _ = write!(out, "\n{}", tp.timer_listing(now));
    out
}

/// `scep client status`.
pub(crate) fn show(dir: &Path) -> Result<(), Failure> {
    let path = record_path(dir);
    let bytes = client_core::FileStore::new(&path)
        .load()
        .map_err(|e| Failure::file("read", &path, &e))?
        .ok_or_else(|| {
            Failure::new(
                exit::ERROR,
                format!(
                    "{} does not exist: run `scep client enroll` first",
                    path.display()
                ),
            )
        })?;
    let tp = Trustpoint::from_bytes(&bytes)
        .map_err(|e| Failure::new(exit::FILE, format!("{}: {e}", path.display())))?;
    let text = render(&tp, client_core::clock::now());
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    Ok(())
}
