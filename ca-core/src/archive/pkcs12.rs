//! The PKCS#12 archive file (RFC 7292) written on `der` derive types: one password-protected
//! PFX holding the CA key as a `pkcs8ShroudedKeyBag` (the PBES2 EncryptedPrivateKeyInfo of
//! scep-proto: PBKDF2-HMAC-SHA256, AES-256-CBC) and the CA certificate as a `certBag`, both
//! carrying the same `localKeyId`, under an HMAC-SHA256 MAC keyed by the RFC 7292 Appendix B
//! derivation. This is the layout OpenSSL 3 writes by default, so `openssl pkcs12 -info`
//! reads it.
//!
//! Why not a crate: RustCrypto `pkcs12` 0.2.0-pre.0 needs `cms` `=0.3.0-pre.1`, which cannot
//! share a build with the `cms` `=0.3.0-rc.0` the workspace pins; writing a PFX is a handful
//! of SEQUENCEs and one key derivation.

use der::asn1::{Any, BmpString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use hmac::{KeyInit as _, Mac as _};
use rand::CryptoRng;
use sha2::Digest as _;
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const PKCS8_SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// `PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }`
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: DataContentInfo,
    mac_data: MacData,
}

/// A ContentInfo of type `data`: `SEQUENCE { contentType, content [0] EXPLICIT OCTET STRING }`.
#[derive(Sequence)]
struct DataContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: OctetString,
}

/// `SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT ANY, bagAttributes SET OF Attribute }`
#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    value: Any,
    attributes: SetOfVec<Attribute>,
}

/// `CertBag ::= SEQUENCE { certId, certValue [0] EXPLICIT OCTET STRING }`
#[derive(Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    value: OctetString,
}

/// `MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER }`
#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    salt: OctetString,
    iterations: u32,
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm, digest OCTET STRING }`
#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The password as RFC 7292 B.1 wants it for the MAC key: BMPString bytes and two zero bytes.
fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(
        password.len().saturating_mul(2).saturating_add(2),
    ));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// RFC 7292 B.2 with SHA-256 (u = 32, v = 64), ID 3 (MAC key), 32 output bytes: one block,
/// so the output is `H^iterations(D ‖ S ‖ P)`.
fn mac_key(password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    const V: usize = 64;
    let stretch = |input: &[u8]| -> Vec<u8> {
        if input.is_empty() {
            return Vec::new();
        }
        input
            .iter()
            .copied()
            .cycle()
            .take(input.len().div_ceil(V).saturating_mul(V))
            .collect()
    };
    let mut h = sha2::Sha256::new();
    h.update([3u8; V]);
    h.update(stretch(salt));
    h.update(Zeroizing::new(stretch(password)).as_slice());
    let mut a: [u8; 32] = h.finalize().into();
    for _ in 1..iterations {
        a = sha2::Sha256::digest(a).into();
    }
    Zeroizing::new(a)
}

/// The PFX DER for an already encrypted key (`encrypted_key`, EncryptedPrivateKeyInfo DER)
/// and `cert_der`, MAC'd with `password` over `iterations` rounds. `name` becomes the
/// friendlyName of both bags. `None` when encoding fails.
pub(super) fn pfx<R: CryptoRng + ?Sized>(
    encrypted_key: &[u8],
    cert_der: &[u8],
    name: &str,
    password: &str,
    iterations: u32,
    rng: &mut R,
) -> Option<Vec<u8>> {
    let local_key_id = OctetString::new(sha1::Sha1::digest(cert_der).to_vec()).ok()?;
    let attrs = || -> der::Result<SetOfVec<Attribute>> {
        SetOfVec::try_from(vec![
            attribute(
                FRIENDLY_NAME,
                Any::encode_from(&BmpString::from_utf8(name)?)?,
            )?,
            attribute(LOCAL_KEY_ID, Any::encode_from(&local_key_id)?)?,
        ])
    };
    let key_bag = SafeBag {
        bag_id: PKCS8_SHROUDED_KEY_BAG,
        value: Any::from_der(encrypted_key).ok()?,
        attributes: attrs().ok()?,
    };
    let cert_bag = SafeBag {
        bag_id: CERT_BAG,
        value: Any::encode_from(&CertBag {
            cert_id: X509_CERTIFICATE,
            value: OctetString::new(cert_der).ok()?,
        })
        .ok()?,
        attributes: attrs().ok()?,
    };
    let data = |bags: Vec<SafeBag>| -> Option<DataContentInfo> {
        Some(DataContentInfo {
            content_type: ID_DATA,
            content: OctetString::new(bags.to_der().ok()?).ok()?,
        })
    };
    let auth_safe = vec![data(vec![cert_bag])?, data(vec![key_bag])?]
        .to_der()
        .ok()?;
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let key = mac_key(&bmp_password(password), &salt, iterations);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_slice()).ok()?;
    mac.update(&auth_safe);
    let digest = mac.finalize().into_bytes().to_vec();
    Pfx {
        version: 3,
        auth_safe: DataContentInfo {
            content_type: ID_DATA,
            content: OctetString::new(auth_safe).ok()?,
        },
        mac_data: MacData {
            mac: DigestInfo {
                algorithm: AlgorithmIdentifierOwned {
                    oid: SHA256,
                    parameters: Some(Any::null()),
                },
                digest: OctetString::new(digest).ok()?,
            },
            salt: OctetString::new(salt.to_vec()).ok()?,
            iterations,
        },
    }
    .to_der()
    .ok()
}
