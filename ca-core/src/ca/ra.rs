//! RA mode (S-7, S-30, S-31, S-33, C-6, C-7, C-9 steps 5 and 6).
//!
//! Each CA generation (active, rollover) may carry one RA: an RSA key and an end-entity
//! certificate issued by that generation's CA key, keyUsage digitalSignature +
//! keyEncipherment, so the one certificate both receives requests and signs the answers
//! (K-2). The RA lives and dies with its generation: a rollover CA gets its own RA (served by
//! GetNextCACert next to the rollover CA), activation makes the rollover RA the active one,
//! a cancel deletes it with the rollover CA.
//!
//! - GetCACert answers `application/x-x509-ca-ra-cert`: a certs-only bag (S-30) with the CA
//!   certificate first, then the RA certificate (clients find the CA as the self-signed one,
//!   K-2; the order is the one the bag is encoded in, never sorted, as S-28 asks of CertReps).
//! - A request whose RecipientInfo names the RA certificate is decrypted with the RA key
//!   (C-6: the recipient is matched from the clear RecipientInfo before any decryption, and
//!   every failure past the unwrap stays the one opaque answer) and its CertRep is signed by
//!   the RA key (C-7: the recipient signs). The certificate is still issued by the CA key of
//!   that generation.
//! - "Registered RA" (C-9 steps 5 and 6) is the RA certificate of a generation, compared byte
//!   for byte and valid now: a certificate that merely has the RA's subject, or another
//!   issuer or serial, is not the RA. A request the RA signed is not a renewal credential
//!   (C-8): it carries another entity's CSR.

use std::str::FromStr;
use std::sync::Arc;

use der::{Decode, Encode};
use pki_timers::{Instant, Validity};
use rand::CryptoRng;
use scep_proto::{
    CertValidity, Certificate, CertsOnly, Envelope, ErrorStatus, PrivateKey, ScepResponse, Signer,
};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::Name;

use super::enroll::{Addressee, CertProfile, SignerClass};
use super::error::{CaError, CaState, ConfigError};
use super::records::{Fields, Writer, decode_key, encode_key};
use super::state::Generation;
use super::{Ca, CaConfig, GrantMode, Snapshot};
use crate::archive::DEFAULT_PBKDF2_ITERATIONS;
use crate::issue::{CaKey, SignatureConfig, VerifiedCsr, generate_key, ra_certificate};
use crate::storage::{RecordKey, Store};

/// `grant_auto_rollover` (C-9 step 5): which shadow requests addressed to the rollover CA
/// are granted at once. Both off by default (IOS: no `grant auto rollover`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GrantAutoRollover {
    /// `ca-cert`: a subordinate CA's shadow request: the CSR asks for a CA certificate and
    /// is signed by a valid, unrevoked certificate of the active CA that is itself a CA
    /// certificate (a subordinate CA this CA certified). It is issued as a CA certificate.
    pub ca_cert: bool,
    /// `ra-cert`: a shadow request signed by the registered RA.
    pub ra_cert: bool,
}

/// One RA: its key and certificate (with the certificate's DER), shared read-only with
/// request threads inside its [`Generation`].
pub(crate) struct RaKey {
    key: PrivateKey,
    cert: Certificate,
    der: Vec<u8>,
    /// The key encrypted under the key passphrase, as the CA keys (see [`Generation`]).
    sealed: Option<Vec<u8>>,
}

impl RaKey {
    /// Pairs `key` with `cert` (the same public key), sealing the key under `passphrase`.
    fn new<R: CryptoRng + ?Sized>(
        key: PrivateKey,
        cert: Certificate,
        passphrase: Option<&str>,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        let der = cert.to_der().map_err(|_| CaError::CertificateEncoding)?;
        let sealed = passphrase
            .map(|p| {
                key.to_encrypted_pkcs8_der(p.as_bytes(), DEFAULT_PBKDF2_ITERATIONS, rng)
                    .map_err(|_| invalid_key())
            })
            .transpose()?;
        Ok(Self {
            key,
            cert,
            der,
            sealed,
        })
    }

    /// A new RA under `issuer`: a fresh `key_bits` key and a certificate with `serial`, valid
    /// from `max(now, issuer.nb)` to the issuer's notAfter.
    pub(crate) fn issue<R: CryptoRng + ?Sized>(
        issuer: &CaKey,
        subject: &Name,
        serial: u64,
        now: Instant,
        config: &CaConfig,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        let key = generate_key(config.key_bits, rng).map_err(CaError::Issue)?;
        let ca = issuer.validity();
        let validity = Validity::new(ca.not_before().max(now), ca.not_after()).map_err(|_| {
            CaError::NotOperational {
                state: CaState::Expired,
            }
        })?;
        let signature =
            SignatureConfig::new(config.hash).with_legacy_algorithms(config.legacy_algorithms);
        let cert = ra_certificate(issuer, subject, &key, serial, validity, signature, rng)
            .map_err(CaError::Issue)?;
        Self::new(key, cert, config.key_passphrase.as_deref(), rng)
    }

    /// The RA certificate.
    pub(crate) fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// Whether the key is stored in clear.
    pub(crate) fn is_plain(&self) -> bool {
        self.sealed.is_none()
    }

    /// The same RA with its key sealed under `passphrase`.
    pub(crate) fn resealed<R: CryptoRng + ?Sized>(
        &self,
        passphrase: &str,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        Self::new(self.key.clone(), self.cert.clone(), Some(passphrase), rng)
    }

    /// Reads `<prefix>_ra_key_encrypted` (needs `passphrase`) or `<prefix>_ra_key`, and
    /// `<prefix>_ra_cert`. `None` if no RA key field is there.
    pub(crate) fn decode(
        f: &Fields,
        prefix: &str,
        passphrase: Option<&str>,
        rk: &RecordKey,
    ) -> Result<Option<Self>, CaError> {
        let corrupt = || CaError::CorruptRecord { key: rk.clone() };
        let Some(super::records::StoredKey { key, sealed }) =
            decode_key(f, &format!("{prefix}_ra_key"), passphrase)?
        else {
            return Ok(None);
        };
        let der = f.bytes(&format!("{prefix}_ra_cert"))?;
        let cert = Certificate::from_der(&der).map_err(|_| corrupt())?;
        let spki = key.public_key_info().map_err(|_| corrupt())?;
        if cert.tbs_certificate().subject_public_key_info() != &spki {
            return Err(corrupt());
        }
        Ok(Some(Self {
            key,
            cert,
            der,
            sealed,
        }))
    }

    /// Writes the RA's fields under `prefix`.
    pub(crate) fn encode(&self, w: Writer, prefix: &str) -> Result<Writer, CaError> {
        let w = encode_key(
            w,
            &format!("{prefix}_ra_key"),
            &self.key,
            self.sealed.as_deref(),
        )?;
        Ok(w.bytes(&format!("{prefix}_ra_cert"), &self.der))
    }

    /// Whether `cert` is this RA certificate (byte for byte) and valid at `now`.
    fn is(&self, cert: &Certificate, now: Instant) -> bool {
        let v = CertValidity::of(&self.cert);
        cert.to_der().is_ok_and(|d| d == self.der)
            && Validity::from_unix(v.not_before, v.not_after).is_ok_and(|v| v.contains(now))
    }
}

/// Writes `ra`'s fields under `prefix`, if there is an RA.
pub(crate) fn encode_ra(ra: Option<&RaKey>, w: Writer, prefix: &str) -> Result<Writer, CaError> {
    match ra {
        Some(ra) => ra.encode(w, prefix),
        None => Ok(w),
    }
}

fn invalid_key() -> CaError {
    CaError::Issue(crate::issue::IssueError::InvalidPrivateKey)
}

impl Generation {
    /// The same generation with `ra` as its RA.
    pub(crate) fn with_ra(&self, ra: Option<RaKey>) -> Self {
        Self {
            ca: self.ca.clone(),
            der: self.der.clone(),
            sealed: self.sealed.clone(),
            ra,
        }
    }

    /// The same generation with its keys (CA and RA) sealed under `passphrase`.
    pub(crate) fn sealed_copy<R: CryptoRng + ?Sized>(
        &self,
        passphrase: &str,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        let ra = self
            .ra
            .as_ref()
            .map(|ra| ra.resealed(passphrase, rng))
            .transpose()?;
        Ok(Self::new(self.ca.clone(), Some(passphrase), rng)?.with_ra(ra))
    }

    /// Who signs a CertRep for a request to this generation (C-7): its RA if the request was
    /// addressed to the RA, else its CA key.
    pub(crate) fn signer_as(&self, via_ra: bool) -> Signer<'_> {
        match (&self.ra, via_ra) {
            (Some(ra), true) => Signer {
                cert: &ra.cert,
                key: &ra.key,
            },
            _ => self.signer(),
        }
    }

    /// The certificates this generation publishes (GetCACert, GetNextCACert): the CA
    /// certificate, then its RA certificate if it has one.
    pub(crate) fn published(&self) -> Vec<Certificate> {
        let mut certs = vec![self.cert().clone()];
        if let Some(ra) = &self.ra {
            certs.push(ra.cert.clone());
        }
        certs
    }
}

/// The certificate a request was addressed to (C-6): a generation's CA certificate or its
/// RA certificate.
pub(crate) struct Recipient {
    pub(crate) generation: Arc<Generation>,
    /// Which of the two generations.
    pub(crate) addressee: Addressee,
    /// Addressed to the generation's RA certificate.
    pub(crate) via_ra: bool,
}

impl Recipient {
    /// C-6 from the clear RecipientInfo: the active CA, its RA, the rollover CA, its RA.
    pub(crate) fn find(snap: &Snapshot, envelope: &Envelope) -> Option<Self> {
        let generations = core::iter::once((&snap.active, Addressee::Active))
            .chain(snap.rollover.as_ref().map(|r| (r, Addressee::Rollover)));
        for (generation, addressee) in generations {
            let ra = generation.ra.as_ref().map(RaKey::cert);
            for (cert, via_ra) in [(Some(generation.cert()), false), (ra, true)] {
                if cert.is_some_and(|c| envelope.is_addressed_to(c)) {
                    return Some(Self {
                        generation: Arc::clone(generation),
                        addressee,
                        via_ra,
                    });
                }
            }
        }
        None
    }

    /// The addressed certificate.
    pub(crate) fn cert(&self) -> &Certificate {
        self.generation.signer_as(self.via_ra).cert
    }

    /// Its private key: the one that unwraps the content key.
    pub(crate) fn key(&self) -> &PrivateKey {
        self.generation.signer_as(self.via_ra).key
    }
}

/// How C-9 steps 5 and 6 see the signer of a request, decided from the clear signer
/// certificate before decrypting (C-6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Nobody in particular.
    #[default]
    Ordinary,
    /// The registered RA (byte-for-byte the RA certificate of a generation, valid now).
    Ra,
    /// A subordinate CA: a renewal credential of the active CA with basicConstraints cA=TRUE,
    /// and the pathLenConstraint of that certificate (`None`: unconstrained).
    SubCa(Option<u8>),
}

impl Standing {
    /// The C-8 class a request is handled with: the RA is not a renewal credential (it
    /// forwards another entity's CSR), so its requests are never renewals (C-9 step 4).
    pub(crate) fn demote(self, class: SignerClass) -> SignerClass {
        match self {
            Self::Ra => SignerClass::Untrusted,
            _ => class,
        }
    }
}

/// The GetCACert answer (S-7, S-31): the active CA certificate alone, or in RA mode the
/// certs-only bag of the CA certificate then its RA certificate.
pub(crate) fn ca_cert_answer(snap: &Snapshot) -> ScepResponse {
    if snap.active.ra.is_none() {
        return ScepResponse::CaCert(snap.active.der.clone());
    }
    match CertsOnly::new(snap.active.published()).to_der() {
        Ok(bag) => ScepResponse::CaRaCerts(bag),
        Err(_) => ScepResponse::Error(ErrorStatus::ServiceUnavailable),
    }
}

/// The signer's [`Standing`]; `class` is its C-8 class (revocation applied). An RA
/// certificate whose serial `is_revoked` is not the registered RA: revoking a compromised RA
/// ends what it is granted for (C-9 steps 5 and 6).
pub(crate) fn standing(
    snap: &Snapshot,
    signer: &Certificate,
    class: SignerClass,
    now: Instant,
    is_revoked: impl Fn(u64) -> bool,
) -> Standing {
    let is_ra = core::iter::once(&snap.active)
        .chain(snap.rollover.as_ref())
        .filter_map(|g| g.ra.as_ref())
        .any(|ra| ra.is(signer, now))
        && crate::issue::certificate_serial(signer).is_ok_and(|serial| !is_revoked(serial));
    if is_ra {
        return Standing::Ra;
    }
    match signer.tbs_certificate().get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca && matches!(class, SignerClass::Credential { .. }) => {
            Standing::SubCa(bc.path_len_constraint)
        }
        _ => Standing::Ordinary,
    }
}

/// C-9 steps 5 and 6 (RaAuto): whether the request is granted for who signed it, and
/// as which kind of certificate ([`CertProfile`]). Step 5 (`grant_auto_rollover`) only grants
/// requests addressed to the rollover CA: `ra_cert` for the registered RA, `ca_cert` for a
/// subordinate CA asking for a CA certificate. `grant = RaAuto` grants the registered RA.
pub(crate) fn auto_grant(
    config: &CaConfig,
    addressee: Addressee,
    standing: Standing,
    csr: &VerifiedCsr,
) -> Option<(&'static str, CertProfile)> {
    let flags = config.grant_auto_rollover;
    let to_rollover = addressee.is_rollover();
    match standing {
        Standing::Ra if to_rollover && flags.ra_cert => Some((
            "granted: RA shadow request (grant_auto_rollover ra_cert)",
            CertProfile::EndEntity,
        )),
        Standing::SubCa(held)
            if to_rollover && flags.ca_cert && csr.requests_ca() && within(held, csr) =>
        {
            Some((
                "granted: subordinate CA shadow request (grant_auto_rollover ca_cert)",
                CertProfile::SubordinateCa,
            ))
        }
        Standing::Ra if config.grant == GrantMode::RaAuto => Some((
            "granted: signed by the registered RA (grant ra-auto)",
            CertProfile::EndEntity,
        )),
        _ => None,
    }
}

/// C-9 step 5 `ca_cert` renews what the subordinate CA holds, never more: the requested
/// pathLenConstraint is at most the one of its certificate (`held`), and present if that is.
fn within(held: Option<u8>, csr: &VerifiedCsr) -> bool {
    match (held, csr.requested_path_len()) {
        (None, _) => true,
        (Some(held), Some(asked)) => asked <= held,
        (Some(_), None) => false,
    }
}

impl CaConfig {
    /// `ra_subject` parsed as a DN (`None` without RA mode).
    ///
    /// # Errors
    /// [`ConfigError::InvalidRaSubject`] if it does not parse, is empty or equals
    /// `issuer_name`.
    pub fn ra_subject_name(&self) -> Result<Option<Name>, CaError> {
        let Some(text) = &self.ra_subject else {
            return Ok(None);
        };
        let name = Name::from_str(text).map_err(|_| ConfigError::InvalidRaSubject)?;
        if name.is_empty()
            || self
                .issuer()
                .is_ok_and(|i| scep_proto::names_match(&i, &name))
        {
            return Err(ConfigError::InvalidRaSubject.into());
        }
        Ok(Some(name))
    }

    /// The RA subject to use when the CA has none configured: `CN=<name>-RA`.
    fn ra_subject_or_default(&self) -> Result<Name, CaError> {
        match self.ra_subject_name()? {
            Some(name) => Ok(name),
            None => Name::from_str(&format!("CN={}-RA", self.name))
                .map_err(|_| ConfigError::InvalidRaSubject.into()),
        }
    }
}

impl<S: Store> Ca<S> {
    /// RA mode on command: issues an RA key and certificate under the active CA (subject
    /// `ra_subject`, or `CN=<name>-RA` when none is configured), valid from `now` to the
    /// CA's notAfter, and stores it with the CA. From then on GetCACert answers CA+RA (S-7)
    /// and requests may be encrypted to the RA (C-6). A rollover generated later gets its own
    /// RA. Returns the RA certificate's serial.
    ///
    /// # Errors
    /// [`CaError::RaExists`] if the active CA has an RA; [`CaError::NotOperational`];
    /// [`CaError::Config`] for a bad `ra_subject`; key generation, signing and storage
    /// errors.
    pub fn create_ra<R: CryptoRng + ?Sized>(
        &self,
        now: Instant,
        rng: &mut R,
    ) -> Result<u64, CaError> {
        let subject = self.config.ra_subject_or_default()?;
        let mut inner = self.lock();
        if !inner.ca.state.is_operational() {
            return Err(CaError::NotOperational {
                state: inner.ca.state,
            });
        }
        if inner.ca.active.ra.is_some() {
            return Err(CaError::RaExists);
        }
        let serial = self.alloc_serial(&mut inner)?;
        let ra = RaKey::issue(
            &inner.ca.active.ca,
            &subject,
            serial,
            now,
            &self.config,
            rng,
        )?;
        let before = Arc::clone(&inner.ca.active);
        inner.ca.active = Arc::new(before.with_ra(Some(ra)));
        if let Err(e) = self.put_ca(&mut inner) {
            inner.ca.active = before;
            return Err(e);
        }
        Ok(serial)
    }

    /// DER of the active RA certificate, if the CA runs in RA mode.
    #[must_use]
    pub fn ra_certificate_der(&self) -> Option<Vec<u8>> {
        self.lock().ca.active.ra.as_ref().map(|ra| ra.der.clone())
    }

    /// DER of the rollover RA certificate, if the rollover CA has one (S-33).
    #[must_use]
    pub fn rollover_ra_certificate_der(&self) -> Option<Vec<u8>> {
        let inner = self.lock();
        inner
            .ca
            .rollover
            .as_ref()?
            .ra
            .as_ref()
            .map(|ra| ra.der.clone())
    }

    /// C-22 in RA mode: the rollover generation gets its own RA (same subject as the active
    /// RA) when the active generation has one. Called under the lock.
    pub(crate) fn rollover_ra<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut super::state::Inner,
        rollover: &CaKey,
        rng: &mut R,
    ) -> Result<Option<RaKey>, CaError> {
        let Some(active_ra) = &inner.ca.active.ra else {
            return Ok(None);
        };
        let subject = active_ra.cert.tbs_certificate().subject().clone();
        let serial = self.alloc_serial(inner)?;
        let nb = rollover.validity().not_before();
        RaKey::issue(rollover, &subject, serial, nb, &self.config, rng).map(Some)
    }
}

/// C-1 in RA mode: the RA of a new CA, if `ra_subject` is configured; `serial` is the one
/// allocated for it.
pub(crate) fn creation_ra<R: CryptoRng + ?Sized>(
    config: &CaConfig,
    ca: &CaKey,
    serial: impl FnOnce() -> Result<u64, CaError>,
    now: Instant,
    rng: &mut R,
) -> Result<Option<RaKey>, CaError> {
    match config.ra_subject_name()? {
        Some(subject) => RaKey::issue(ca, &subject, serial()?, now, config, rng).map(Some),
        None => Ok(None),
    }
}

impl<S: Store> Ca<S> {
    /// The active RA's certificate and key, for an RA front end the host runs (it signs the
    /// requests it forwards with them, C-9 step 6 / `RaAuto`). `None` without RA mode.
    #[must_use]
    pub fn ra_credential(&self) -> Option<(Certificate, PrivateKey)> {
        let inner = self.lock();
        inner
            .ca
            .active
            .ra
            .as_ref()
            .map(|ra| (ra.cert.clone(), ra.key.clone()))
    }
}
