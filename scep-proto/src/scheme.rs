//! RSA signature schemes: RSASSA-PKCS1-v1_5 (`<digest>WithRSAEncryption`) and RSASSA-PSS
//! (`id-RSASSA-PSS`, RFC 4055 §3.1, RFC 8017 A.2.3), as SignerInfos, certificates and
//! certification requests name them (S-17, S-38).
//!
//! PSS policy: the parameters must be present (RFC 4055 §3.1 lets them be absent only in a
//! SubjectPublicKeyInfo); the hash is SHA-256, SHA-384 or SHA-512 (SHA-1, the ASN.1 default,
//! only with [`Profile::legacy_algorithms`]); the mask generation function is MGF1 with the
//! same hash; the trailer field is 1; the salt is at most what the signer's modulus leaves
//! (`emLen - hLen - 2`), checked against the key at verification.

use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Sequence, Tag, Tagged as _};
use spki::AlgorithmIdentifierOwned;

use crate::algorithms::{DigestAlg, Profile};
use crate::error::{AlgRole, Error, Layer, Result};
use crate::oid;

/// An RSA signature scheme with everything verification needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with this digest.
    Pkcs1v15(DigestAlg),
    /// RSASSA-PSS with these (checked) parameters.
    Pss(PssParams),
}

/// Checked RSASSA-PSS parameters: MGF1 uses [`PssParams::hash`] too and the trailer field is
/// 1 (the only values this crate accepts, so they are not stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PssParams {
    /// The message hash (and MGF1 hash).
    pub hash: DigestAlg,
    /// The salt length in bytes.
    pub salt_len: u32,
}

/// What is wrong with the parameters of an RSASSA-PSS algorithm identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PssProblem {
    /// The parameters are absent or NULL.
    ParametersMissing,
    /// The parameters do not decode as RSASSA-PSS-params.
    Malformed,
    /// A hash other than SHA-256/384/512 (or SHA-1 under the legacy profile).
    Hash,
    /// A mask generation function other than MGF1.
    MaskGeneration,
    /// MGF1 with another hash than the message hash.
    MaskHash,
    /// A salt longer than the signer's modulus allows.
    SaltLength,
    /// A trailer field other than 1 (0xbc).
    Trailer,
    /// The SignerInfo's digestAlgorithm is not the PSS hash.
    DigestMismatch,
}

impl core::fmt::Display for PssProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::ParametersMissing => "parameters missing",
            Self::Malformed => "parameters malformed",
            Self::Hash => "hash not allowed",
            Self::MaskGeneration => "mask generation function is not MGF1",
            Self::MaskHash => "MGF1 hash differs from the hash",
            Self::SaltLength => "salt longer than the modulus allows",
            Self::Trailer => "trailer field is not 1",
            Self::DigestMismatch => "digestAlgorithm differs from the PSS hash",
        })
    }
}

/// `RSASSA-PSS-params` (RFC 8017 A.2.3), every field optional (DEFAULT) and explicitly
/// tagged; numbers as `u32` so a negative or huge value is a decoding error, not a wrap.
#[derive(Sequence)]
struct PssParamsAsn1 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u32>,
}

/// A digest AlgorithmIdentifier: its parameters absent or NULL (RFC 5754 §2).
fn hash_of(alg: &AlgorithmIdentifierOwned) -> Option<DigestAlg> {
    let null_or_absent = alg
        .parameters
        .as_ref()
        .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty());
    null_or_absent
        .then(|| DigestAlg::from_oid(&alg.oid))
        .flatten()
}

impl PssParams {
    /// Decodes and checks RSASSA-PSS-params against the policy in the module docs (all but
    /// the salt length, which needs the key: [`PssParams::check_modulus`]).
    ///
    /// # Errors
    /// [`Error::PssParameters`] (at `layer`) naming the first problem found;
    /// [`Error::LegacyAlgorithmDisabled`] for SHA-1 under a strict profile.
    pub fn from_parameters(params: Option<&Any>, profile: &Profile, layer: Layer) -> Result<Self> {
        let fail = |problem| Error::PssParameters { layer, problem };
        let params = params
            .filter(|p| p.tag() != Tag::Null)
            .ok_or(fail(PssProblem::ParametersMissing))?;
        let parsed: PssParamsAsn1 = params
            .decode_as()
            .map_err(|_| fail(PssProblem::Malformed))?;
        let hash = match &parsed.hash {
            None => DigestAlg::Sha1,
            Some(alg) => hash_of(alg).ok_or(fail(PssProblem::Hash))?,
        };
        match hash {
            DigestAlg::Sha256 | DigestAlg::Sha384 | DigestAlg::Sha512 => {}
            DigestAlg::Sha1 if profile.legacy_algorithms => {}
            DigestAlg::Sha1 => {
                return Err(Error::LegacyAlgorithmDisabled {
                    layer,
                    role: AlgRole::Signature,
                });
            }
            DigestAlg::Md5 | DigestAlg::Sha224 => return Err(fail(PssProblem::Hash)),
        }
        let mgf_hash = match &parsed.mask_gen {
            None => DigestAlg::Sha1,
            Some(mgf) if mgf.oid == oid::MGF1 => mgf
                .parameters
                .as_ref()
                .and_then(|p| AlgorithmIdentifierOwned::from_der(&der_of(p)?).ok())
                .as_ref()
                .and_then(hash_of)
                .ok_or(fail(PssProblem::MaskHash))?,
            Some(_) => return Err(fail(PssProblem::MaskGeneration)),
        };
        if mgf_hash != hash {
            return Err(fail(PssProblem::MaskHash));
        }
        if parsed.trailer.unwrap_or(1) != 1 {
            return Err(fail(PssProblem::Trailer));
        }
        Ok(Self {
            hash,
            salt_len: parsed.salt_len.unwrap_or(20),
        })
    }

    /// Checks that the salt fits a modulus of `bits` bits: `emLen ≥ hLen + sLen + 2` with
    /// `emLen = ⌈(bits − 1) / 8⌉` (RFC 8017 §9.1.2).
    ///
    /// # Errors
    /// [`PssProblem::SaltLength`].
    pub fn check_modulus(&self, bits: u32) -> Result<(), PssProblem> {
        let em_len = u64::from(bits.saturating_sub(1)).div_ceil(8);
        let hash_len = u64::try_from(self.hash.output_len()).unwrap_or(u64::MAX);
        let needed = u64::from(self.salt_len)
            .saturating_add(hash_len)
            .saturating_add(2);
        if needed <= em_len {
            Ok(())
        } else {
            Err(PssProblem::SaltLength)
        }
    }
}

fn der_of(any: &Any) -> Option<Vec<u8>> {
    der::Encode::to_der(any).ok()
}

impl SignatureScheme {
    /// The scheme an AlgorithmIdentifier of a certificate, CSR or SignerInfo names:
    /// `<digest>WithRSAEncryption` (MD5 only with the legacy profile, S-38) or `id-RSASSA-PSS`
    /// with checked parameters. `rsaEncryption` alone names no digest and is the caller's to
    /// handle (SignerInfos, S-17).
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for other algorithms, [`Error::LegacyAlgorithmDisabled`]
    /// for MD5 (or PSS with SHA-1) under a strict profile, [`Error::PssParameters`].
    pub fn from_algorithm(
        alg: &AlgorithmIdentifierOwned,
        profile: &Profile,
        layer: Layer,
    ) -> Result<Self> {
        let role = AlgRole::Signature;
        if alg.oid == oid::RSASSA_PSS {
            return PssParams::from_parameters(alg.parameters.as_ref(), profile, layer)
                .map(Self::Pss);
        }
        let digest = DigestAlg::from_rsa_signature_oid(&alg.oid)
            .ok_or(Error::UnsupportedAlgorithm { layer, role })?;
        if digest.is_legacy() && !profile.legacy_algorithms {
            return Err(Error::LegacyAlgorithmDisabled { layer, role });
        }
        Ok(Self::Pkcs1v15(digest))
    }

    /// The message digest of the scheme.
    pub fn digest(&self) -> DigestAlg {
        match self {
            Self::Pkcs1v15(d) => *d,
            Self::Pss(p) => p.hash,
        }
    }

    /// The object identifier of the scheme (`<digest>WithRSAEncryption` or `id-RSASSA-PSS`).
    pub fn oid(&self) -> ObjectIdentifier {
        match self {
            Self::Pkcs1v15(d) => d.rsa_signature_oid(),
            Self::Pss(_) => oid::RSASSA_PSS,
        }
    }
}

#[cfg(test)]
mod tests {
    use der::Encode;

    use super::*;

    fn ai(oid: ObjectIdentifier, params: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: params,
        }
    }

    fn hash_ai(d: DigestAlg) -> AlgorithmIdentifierOwned {
        ai(d.oid(), Some(Any::null()))
    }

    fn params(
        hash: Option<DigestAlg>,
        mgf: Option<AlgorithmIdentifierOwned>,
        salt: Option<u32>,
        trailer: Option<u32>,
    ) -> Any {
        let p = PssParamsAsn1 {
            hash: hash.map(hash_ai),
            mask_gen: mgf,
            salt_len: salt,
            trailer,
        };
        Any::from_der(&p.to_der().unwrap()).unwrap()
    }

    fn mgf1(d: DigestAlg) -> Option<AlgorithmIdentifierOwned> {
        let inner = Any::from_der(&hash_ai(d).to_der().unwrap()).unwrap();
        Some(ai(oid::MGF1, Some(inner)))
    }

    fn check(p: Any, profile: &Profile) -> Result<SignatureScheme> {
        SignatureScheme::from_algorithm(&ai(oid::RSASSA_PSS, Some(p)), profile, Layer::SignerInfo)
    }

    fn problem(problem: PssProblem) -> Result<SignatureScheme> {
        Err(Error::PssParameters {
            layer: Layer::SignerInfo,
            problem,
        })
    }

    #[test]
    fn s38_pss_sha2_with_matching_mgf1_accepted() {
        for d in [DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512] {
            let salt = u32::try_from(d.output_len()).unwrap();
            let got = check(params(Some(d), mgf1(d), Some(salt), None), &Profile::STRICT);
            assert_eq!(
                got,
                Ok(SignatureScheme::Pss(PssParams {
                    hash: d,
                    salt_len: salt
                }))
            );
            // An explicit trailer field 1 is the default spelled out.
            assert!(check(params(Some(d), mgf1(d), Some(0), Some(1)), &Profile::STRICT).is_ok());
        }
    }

    #[test]
    fn s38_pss_bad_parameters_refused() {
        let s = &Profile::STRICT;
        let sha256 = Some(DigestAlg::Sha256);
        let mgf256 = mgf1(DigestAlg::Sha256);
        assert_eq!(
            check(params(sha256, mgf1(DigestAlg::Sha512), None, None), s),
            problem(PssProblem::MaskHash)
        );
        assert_eq!(
            check(params(sha256, None, None, None), s),
            problem(PssProblem::MaskHash)
        );
        assert_eq!(
            check(params(sha256, mgf256.clone(), Some(32), Some(2)), s),
            problem(PssProblem::Trailer)
        );
        let unknown_mgf = Some(ai(ObjectIdentifier::new_unwrap("1.2.3.4"), None));
        assert_eq!(
            check(params(sha256, unknown_mgf, None, None), s),
            problem(PssProblem::MaskGeneration)
        );
        assert_eq!(
            check(
                params(Some(DigestAlg::Md5), mgf1(DigestAlg::Md5), None, None),
                s
            ),
            problem(PssProblem::Hash)
        );
        // All defaults: SHA-1, legacy only.
        assert_eq!(
            check(params(None, None, None, None), s),
            Err(Error::LegacyAlgorithmDisabled {
                layer: Layer::SignerInfo,
                role: AlgRole::Signature
            })
        );
        assert!(check(params(None, None, None, None), &Profile::LEGACY).is_ok());
        // Missing, NULL and undecodable parameters.
        for p in [None, Some(Any::null())] {
            assert_eq!(
                SignatureScheme::from_algorithm(&ai(oid::RSASSA_PSS, p), s, Layer::SignerInfo),
                problem(PssProblem::ParametersMissing)
            );
        }
        let junk = Any::new(Tag::Sequence, vec![0x82, 0x01, 0xff]).unwrap();
        assert_eq!(check(junk, s), problem(PssProblem::Malformed));
    }

    #[test]
    fn s38_pss_salt_bounded_by_modulus() {
        let p = PssParams {
            hash: DigestAlg::Sha512,
            salt_len: 64,
        };
        assert_eq!(p.check_modulus(2048), Ok(()));
        // 1024 bits: emLen 128 ≥ 64 + 64 + 2 fails.
        assert_eq!(p.check_modulus(1024), Err(PssProblem::SaltLength));
        let huge = PssParams {
            hash: DigestAlg::Sha256,
            salt_len: u32::MAX,
        };
        assert_eq!(huge.check_modulus(4096), Err(PssProblem::SaltLength));
        // The largest salt a 2048-bit key leaves with SHA-256: 256 - 32 - 2.
        let max = PssParams {
            hash: DigestAlg::Sha256,
            salt_len: 222,
        };
        assert_eq!(max.check_modulus(2048), Ok(()));
        assert_eq!(max.check_modulus(2047), Ok(()));
        assert_eq!(max.check_modulus(2041), Err(PssProblem::SaltLength));
    }

    /// PSS signatures made by RustCrypto with several salts and key sizes verify through
    /// [`crate::PublicKey::verify_scheme`] with exactly their salt length, on whichever
    /// backend this build uses (`cargo test --features aws-lc` runs the same cases on
    /// aws-lc, which serves salt = hash length from 2048 bits and falls back otherwise).
    #[test]
    fn s38_pss_verification_same_on_both_backends() {
        use rand::SeedableRng;
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::pss::Pss;

        let mut rng = rand::rngs::StdRng::seed_from_u64(38);
        let k2048 =
            crate::PrivateKey::from_pkcs8_der(include_bytes!("../tests/data/keys/ca.key.der"))
                .unwrap();
        let k1024 = crate::PrivateKey::generate(1024, &mut rng).unwrap();
        for key in [k2048, k1024] {
            let rsa_key =
                rsa::RsaPrivateKey::from_pkcs8_der(key.to_pkcs8_der().unwrap().as_bytes()).unwrap();
            let public = key.public_key();
            let em_len = usize::try_from(key.bits() - 1).unwrap().div_ceil(8);
            for hash in [DigestAlg::Sha256, DigestAlg::Sha512] {
                let max = em_len - hash.output_len() - 2;
                // (1024 bits leave SHA-512 at most 62 bytes: no hash-length salt there.)
                for salt in [0, hash.output_len(), max]
                    .into_iter()
                    .filter(|s| *s <= max)
                {
                    let hashed = hash.digest(b"signed attributes");
                    let sig = match hash {
                        DigestAlg::Sha256 => rsa_key.sign_with_rng(
                            &mut rng,
                            Pss::<sha2::Sha256>::new_with_salt(salt),
                            &hashed,
                        ),
                        _ => rsa_key.sign_with_rng(
                            &mut rng,
                            Pss::<sha2::Sha512>::new_with_salt(salt),
                            &hashed,
                        ),
                    }
                    .unwrap();
                    let scheme = |salt: usize| {
                        SignatureScheme::Pss(PssParams {
                            hash,
                            salt_len: u32::try_from(salt).unwrap(),
                        })
                    };
                    let what = format!("{} bits, {hash}, salt {salt}", key.bits());
                    public
                        .verify_scheme(scheme(salt), b"signed attributes", &sig)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(
                        public.verify_scheme(scheme(salt), b"other attributes", &sig),
                        Err(Error::SignatureInvalid),
                        "{what}"
                    );
                    let other = if salt == 0 { 1 } else { salt - 1 };
                    assert_eq!(
                        public.verify_scheme(scheme(other), b"signed attributes", &sig),
                        Err(Error::SignatureInvalid),
                        "{what}: salt {other} accepted"
                    );
                    // PKCS #1 v1.5 never accepts a PSS signature.
                    assert!(
                        public
                            .verify_scheme(
                                SignatureScheme::Pkcs1v15(hash),
                                b"signed attributes",
                                &sig
                            )
                            .is_err()
                    );
                }
                assert_eq!(
                    public.verify_scheme(scheme_with(hash, max + 1), b"x", &[0; 8]),
                    Err(Error::PssParameters {
                        layer: Layer::PublicKey,
                        problem: PssProblem::SaltLength
                    })
                );
            }
        }
    }

    fn scheme_with(hash: DigestAlg, salt: usize) -> SignatureScheme {
        SignatureScheme::Pss(PssParams {
            hash,
            salt_len: u32::try_from(salt).unwrap(),
        })
    }
}
