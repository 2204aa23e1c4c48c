//! How ca-core's record keys map onto the tables, and the little the store reads from
//! ca-core's record bytes when a record arrives through the key-value `put` instead of a typed
//! operation.

use ca_core::{
    StoreError,
    storage::{ARCHIVE_NAME_MAX, Counter, RecordKey},
};

/// A u64 stored bit for bit in a bigint.
pub(crate) fn to_db(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// The u64 a bigint column stands for.
pub(crate) fn from_db(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// The `scep_counter` row name of a counter.
pub(crate) fn counter_name(counter: Counter) -> &'static str {
    match counter {
        Counter::RequestId => "request",
        Counter::OtpId => "otp",
        // `Counter` is non-exhaustive: any counter a later ca-core adds gets a row of its own.
        Counter::Serial => "serial",
        _ => "other",
    }
}

/// The counter a counter record key names.
pub(crate) fn counter_of(key: &RecordKey) -> Option<Counter> {
    match key {
        RecordKey::SerialCounter => Some(Counter::Serial),
        RecordKey::RequestCounter => Some(Counter::RequestId),
        RecordKey::OtpCounter => Some(Counter::OtpId),
        _ => None,
    }
}

/// The bytes of a counter record: decimal and a line feed (ca-core's encoding).
pub(crate) fn encode_counter(value: u64) -> Vec<u8> {
    format!("{value}\n").into_bytes()
}

/// The value of a counter record's bytes.
pub(crate) fn decode_counter(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// `key` after ca-core's rule for archive names (see `StoreError::InvalidKey`): an archive
/// name is never a path.
pub(crate) fn check_key(key: &RecordKey) -> Result<(), StoreError> {
    match key {
        RecordKey::Archive(name) if !is_valid_archive_name(name) => {
            Err(StoreError::InvalidKey { key: key.clone() })
        }
        _ => Ok(()),
    }
}

fn is_valid_archive_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= ARCHIVE_NAME_MAX
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One `field=value` line of ca-core's text record encoding (`<kind> v1` then one line per
/// field). Only read for records written through `put`, never relied on by the typed
/// operations.
fn field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(body).ok()?;
    text.lines()
        .skip(1)
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
}

/// The indexed columns (transactionID, requester key, open, created) of a request entry
/// written through `put`, if its bytes are ca-core's request encoding.
pub(crate) fn request_columns(body: &[u8]) -> Option<(String, Vec<u8>, bool, u64)> {
    let tid = field(body, "transaction_id")?.to_owned();
    let key = field(body, "signer_key")
        .and_then(unhex)
        .unwrap_or_default();
    let open = field(body, "state")? == "pending";
    let created = field(body, "created")?.parse().ok()?;
    Some((tid, key, open, created))
}

/// The number of a CRL record written through `put`, if its bytes say it.
pub(crate) fn crl_number(body: &[u8]) -> Option<u64> {
    field(body, "number")?.parse().ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_round_trips_through_bigint() {
        for v in [0, 1, i64::MAX as u64, 1 << 63, u64::MAX] {
            assert_eq!(from_db(to_db(v)), v);
        }
    }

    #[test]
    fn request_columns_read_the_text_encoding_or_nothing() {
        let body =
            b"scep-rs-request v1\ncreated=42\nsigner_key=0aff\nstate=pending\ntransaction_id=T1\n";
        assert_eq!(
            request_columns(body),
            Some(("T1".to_owned(), vec![0x0a, 0xff], true, 42))
        );
        assert_eq!(request_columns(b"\xff\xfe"), None);
        assert_eq!(request_columns(b"x v1\nstate=issued\n"), None);
        assert_eq!(crl_number(b"scep-rs-crl v1\nnumber=7\n"), Some(7));
    }
}
