//! DIR/ca.pem (the current CA certificate, always) and DIR/ca-next.pem (the rollover CA
//! certificate while one exists), for operators and for clients set up by hand.

use std::io::Write as _;
use std::path::Path;

use ca_core::{Ca, DirStore};
use der::Decode as _;
use pkcs8::der::pem::{self, LineEnding};

/// File name of the current CA certificate.
pub(crate) const CURRENT: &str = "ca.pem";
/// File name of the rollover CA certificate.
pub(crate) const NEXT: &str = "ca-next.pem";

/// Brings both files in line with the CA: written atomically (temp file, sync, rename) when
/// their content changes; ca-next.pem removed when there is no rollover.
pub(crate) fn publish(dir: &Path, ca: &Ca<DirStore>) -> Result<(), String> {
    write_if_changed(dir, CURRENT, &ca.ca_certificate_der())?;
    match ca.rollover_certificate_der() {
        Some(der) => write_if_changed(dir, NEXT, &der),
        None => match std::fs::remove_file(dir.join(NEXT)) {
            Ok(()) => sync_dir(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("removing {}: {e}", dir.join(NEXT).display())),
        },
    }
}

fn write_if_changed(dir: &Path, name: &str, der: &[u8]) -> Result<(), String> {
    let text = pem::encode_string("CERTIFICATE", LineEnding::LF, der)
        .map_err(|e| format!("PEM-encoding {name}: {e}"))?;
    let path = dir.join(name);
    if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    // A dot name: the directory store ignores it and deletes `.tmp-` leftovers only, so a
    // crash between write and rename leaves a harmless file that the next write replaces.
    let temp = dir.join(format!(".{name}.new"));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    })();
    result.map_err(|e| format!("writing {}: {e}", path.display()))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("syncing {}: {e}", dir.display()))
}

/// The subject (RFC 4514) of the certificate in DIR/ca.pem, if that file exists and holds
/// one.
pub(crate) fn stored_issuer(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(CURRENT)).ok()?;
    let (label, der) = pem::decode_vec(text.as_bytes()).ok()?;
    if label != "CERTIFICATE" {
        return None;
    }
    let cert = scep_proto::Certificate::from_der(&der).ok()?;
    Some(cert.tbs_certificate().subject().to_string())
}
