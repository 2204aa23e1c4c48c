//! The key-value records of ca-core's `Store`, in the `scep_record` table.

use ca_core::{ARCHIVE_NAME_MAX, RecordFamily, RecordKey, StoreError};

/// The (kind, num, name) primary key of `key`'s row, or `InvalidKey` for an archive name the
/// contract refuses.
pub(crate) fn row_key(key: &RecordKey) -> Result<(&'static str, i64, &str), StoreError> {
    // u64 numbers are stored bit for bit; `list` sorts them back as u64.
    let n = |v: u64| i64::from_ne_bytes(v.to_ne_bytes());
    Ok(match key {
        RecordKey::SerialCounter => ("serial_counter", 0, ""),
        RecordKey::RequestCounter => ("request_counter", 0, ""),
        RecordKey::CaState => ("ca_state", 0, ""),
        RecordKey::Crl => ("crl", 0, ""),
        RecordKey::Request(v) => ("request", n(*v), ""),
        RecordKey::IssuedName(v) => ("issued_name", n(*v), ""),
        RecordKey::IssuedCert(v) => ("issued_cert", n(*v), ""),
        RecordKey::Revoked(v) => ("revoked", n(*v), ""),
        RecordKey::OneTimePassword(v) => ("otp", n(*v), ""),
        RecordKey::Archive(name) if is_valid_archive_name(name) => ("archive", 0, name.as_str()),
        _ => return Err(StoreError::InvalidKey { key: key.clone() }),
    })
}

/// The kind column of a numbered family.
pub(crate) fn family_kind(family: RecordFamily) -> Option<&'static str> {
    Some(match family {
        RecordFamily::Request => "request",
        RecordFamily::IssuedName => "issued_name",
        RecordFamily::IssuedCert => "issued_cert",
        RecordFamily::Revoked => "revoked",
        RecordFamily::OneTimePassword => "otp",
        _ => return None,
    })
}

/// The number a row's `num` column stands for.
pub(crate) fn number(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes())
}

/// ca-core's rule for archive names (see `StoreError::InvalidKey`): never a path.
fn is_valid_archive_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= ARCHIVE_NAME_MAX
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
