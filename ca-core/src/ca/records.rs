//! How the CA encodes its records (the store keeps opaque bytes).
//!
//! Every record is UTF-8 text: a first line `<kind> v1`, then one `field=value` line per
//! field, each ending in LF. Values never contain LF; binary values (DER, PKCS#8) are
//! lowercase hex; numbers are decimal; instants are Unix seconds. Unknown fields are
//! ignored, so a later version can add fields; a changed meaning gets a new version number.
//! The issued-certificate record ([`RecordKey::IssuedCert`](crate::storage::RecordKey)) is the raw DER
//! and the CRL record holds the DER in a field.

use std::collections::BTreeMap;

use pki_timers::Instant;
use scep_proto::PrivateKey;
use zeroize::{Zeroize, Zeroizing};

use super::error::CaError;
use crate::storage::RecordKey;

/// A decoded record: its fields by name.
pub(crate) struct Fields {
    key: RecordKey,
    map: BTreeMap<String, String>,
}

/// Builds a record.
pub(crate) struct Writer {
    out: String,
}

impl Writer {
    pub(crate) fn new(kind: &str) -> Self {
        Self::with_capacity(kind, 0)
    }

    /// A writer whose buffer holds `capacity` bytes before it grows: a record with a secret
    /// field is built in one buffer, not copied into larger ones left behind unwiped.
    pub(crate) fn with_capacity(kind: &str, capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push_str(kind);
        out.push_str(" v1\n");
        Self { out }
    }

    pub(crate) fn text(mut self, name: &str, value: &str) -> Self {
        // Values are produced by the CA itself; LF would break the framing, so drop it.
        let clean: String = value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        self.out.push_str(name);
        self.out.push('=');
        self.out.push_str(&clean);
        self.out.push('\n');
        self
    }

    pub(crate) fn num(self, name: &str, value: u64) -> Self {
        self.text(name, &value.to_string())
    }

    pub(crate) fn bytes(self, name: &str, value: &[u8]) -> Self {
        self.text(name, &hex(value))
    }

    /// A binary field holding a secret: hex-encoded straight into the record, with no
    /// intermediate copy.
    pub(crate) fn secret_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.out.push_str(name);
        self.out.push('=');
        push_hex(&mut self.out, value);
        self.out.push('\n');
        self
    }

    pub(crate) fn flag(self, name: &str, value: bool) -> Self {
        self.text(name, if value { "1" } else { "0" })
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// Field values may be keys in hex: wiped when the record is dropped.
impl Drop for Fields {
    fn drop(&mut self) {
        for value in self.map.values_mut() {
            value.zeroize();
        }
    }
}

impl Fields {
    pub(crate) fn parse(key: &RecordKey, kind: &str, bytes: &[u8]) -> Result<Self, CaError> {
        let corrupt = || CaError::CorruptRecord { key: key.clone() };
        let text = core::str::from_utf8(bytes).map_err(|_| corrupt())?;
        let mut lines = text.lines();
        if lines.next() != Some(format!("{kind} v1").as_str()) {
            return Err(corrupt());
        }
        let mut map = BTreeMap::new();
        for line in lines {
            let (name, value) = line.split_once('=').ok_or_else(corrupt)?;
            map.insert(name.to_owned(), value.to_owned());
        }
        Ok(Self {
            key: key.clone(),
            map,
        })
    }

    pub(crate) fn corrupt(&self) -> CaError {
        CaError::CorruptRecord {
            key: self.key.clone(),
        }
    }

    pub(crate) fn opt_text(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    pub(crate) fn text(&self, name: &str) -> Result<&str, CaError> {
        self.opt_text(name).ok_or_else(|| self.corrupt())
    }

    pub(crate) fn num(&self, name: &str) -> Result<u64, CaError> {
        self.text(name)?.parse().map_err(|_| self.corrupt())
    }

    pub(crate) fn opt_num(&self, name: &str) -> Result<Option<u64>, CaError> {
        self.opt_text(name)
            .map(|v| v.parse().map_err(|_| self.corrupt()))
            .transpose()
    }

    pub(crate) fn instant(&self, name: &str) -> Result<Instant, CaError> {
        self.num(name).map(Instant::from_unix)
    }

    pub(crate) fn bytes(&self, name: &str) -> Result<Vec<u8>, CaError> {
        unhex(self.text(name)?).ok_or_else(|| self.corrupt())
    }

    pub(crate) fn opt_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, CaError> {
        self.opt_text(name)
            .map(|v| unhex(v).ok_or_else(|| self.corrupt()))
            .transpose()
    }

    pub(crate) fn flag(&self, name: &str) -> Result<bool, CaError> {
        match self.text(name)? {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(self.corrupt()),
        }
    }
}

/// A private key as the CA record keeps it.
pub(crate) struct StoredKey {
    /// The key.
    pub(crate) key: PrivateKey,
    /// Its encrypted PKCS#8 if it is sealed under the key passphrase (written back as is).
    pub(crate) sealed: Option<Vec<u8>>,
}

/// Reads a private key kept in fields `<field>_encrypted` (PKCS#8 sealed under `passphrase`)
/// or `<field>` (plain PKCS#8). `None` if neither field is there.
pub(crate) fn decode_key(
    f: &Fields,
    field: &str,
    passphrase: Option<&str>,
) -> Result<Option<StoredKey>, CaError> {
    let sealed = f.opt_bytes(&format!("{field}_encrypted"))?;
    let key = match (&sealed, passphrase) {
        (Some(_), None) => return Err(CaError::KeyPassphraseRequired),
        (Some(bytes), Some(p)) => PrivateKey::from_encrypted_pkcs8_der(bytes, p.as_bytes())
            .map_err(|e| match e {
                scep_proto::Error::KeyDecryptionFailed => CaError::WrongKeyPassphrase,
                _ => f.corrupt(),
            })?,
        (None, _) => match f.opt_bytes(field)?.map(Zeroizing::new) {
            Some(plain) => PrivateKey::from_pkcs8_der(&plain).map_err(|_| f.corrupt())?,
            None => return Ok(None),
        },
    };
    Ok(Some(StoredKey { key, sealed }))
}

/// Writes a private key as [`decode_key`] reads it: the sealed bytes if there are any, else
/// the plain PKCS#8 (straight from its zeroising buffer).
pub(crate) fn encode_key(
    w: Writer,
    field: &str,
    key: &PrivateKey,
    sealed: Option<&[u8]>,
) -> Result<Writer, CaError> {
    Ok(match sealed {
        Some(sealed) => w.bytes(&format!("{field}_encrypted"), sealed),
        None => {
            let plain = key
                .to_pkcs8_der()
                .map_err(|_| CaError::Issue(crate::issue::IssueError::InvalidPrivateKey))?;
            w.secret_bytes(field, plain.as_bytes())
        }
    })
}

/// The indexed columns of a request entry's encoding (transactionID, signer key, whether it
/// is still open, when it was made), read by the stores of this crate when they rebuild their
/// transactionID index from stored entries. `None` if `body` is not an entry.
pub(crate) fn request_columns(id: u64, body: &[u8]) -> Option<(String, Vec<u8>, bool, u64)> {
    let f = Fields::parse(&RecordKey::Request(id), "scep-rs-request", body).ok()?;
    let key = f.opt_bytes("signer_key").ok().flatten().unwrap_or_default();
    let open = f.opt_text("state")? == "pending";
    Some((
        f.text("transaction_id").ok()?.to_owned(),
        key,
        open,
        f.num("created").ok()?,
    ))
}

/// The number of a CRL record's encoding, for the stores' CRL compare-and-swap.
pub(crate) fn crl_number_of(body: &[u8]) -> Option<u64> {
    Fields::parse(&RecordKey::Crl, "scep-rs-crl", body)
        .ok()?
        .num("number")
        .ok()
}

/// The value of a counter record, for the stores' counters.
pub(crate) fn decode_counter_value(bytes: &[u8]) -> Option<u64> {
    core::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// Decimal text of a counter record.
pub(crate) fn encode_counter(value: u64) -> Vec<u8> {
    format!("{value}\n").into_bytes()
}

/// Reads a counter record.
pub(crate) fn decode_counter(key: &RecordKey, bytes: &[u8]) -> Result<u64, CaError> {
    core::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or(CaError::CorruptRecord { key: key.clone() })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    push_hex(&mut s, bytes);
    s
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(d));
            }
        }
    }
}

/// Decodes hex into a buffer sized once (the value may be a key: no regrown copies).
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let [hi, lo] = pair else {
            return None;
        };
        let h = char::from(*hi).to_digit(16)?;
        let l = char::from(*lo).to_digit(16)?;
        out.push(u8::try_from(h.checked_mul(16)?.checked_add(l)?).ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&data)).unwrap(), data);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }

    #[test]
    fn fields_round_trip() {
        let bytes = Writer::new("test")
            .text("a", "x=y")
            .num("n", 42)
            .bytes("b", &[1, 2, 255])
            .flag("f", true)
            .finish();
        let f = Fields::parse(&RecordKey::CaState, "test", &bytes).unwrap();
        assert_eq!(f.text("a").unwrap(), "x=y");
        assert_eq!(f.num("n").unwrap(), 42);
        assert_eq!(f.bytes("b").unwrap(), vec![1, 2, 255]);
        assert!(f.flag("f").unwrap());
        assert!(Fields::parse(&RecordKey::CaState, "other", &bytes).is_err());
        let c = encode_counter(7);
        assert_eq!(decode_counter(&RecordKey::SerialCounter, &c).unwrap(), 7);
    }
}
