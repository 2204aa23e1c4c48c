//! GetCACaps: capability keywords (SPEC S-15), their text form (S-16, S-9) and the client's
//! algorithm and method choices derived from them (S-5, S-37, S-38).

use core::fmt;

use crate::algorithms::{ContentCipher, DigestAlg};
use crate::http::Method;

/// One GetCACaps keyword (SPEC S-15).
///
/// The declaration order is the order in which S-16 lists keywords; rendering follows it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// `AES`: AES-128-CBC content encryption.
    Aes,
    /// `DES3`: DES-EDE3-CBC content encryption.
    Des3,
    /// `GetNextCACert`: the CA can hand out its rollover certificate (S-33, C-27).
    GetNextCaCert,
    /// `POSTPKIOperation`: PKIOperation may be sent with POST (S-5).
    PostPkiOperation,
    /// `Renewal`: requests signed by an existing CA-issued certificate are renewals (S-22).
    Renewal,
    /// `SHA-1`.
    Sha1,
    /// `SHA-256`.
    Sha256,
    /// `SHA-384`: not an RFC 8894 keyword, listed for strongSwan (S-16).
    Sha384,
    /// `SHA-512`.
    Sha512,
    /// `SCEPStandard`: the RFC 8894 mandatory set; implies `AES`, `POSTPKIOperation` and
    /// `SHA-256`.
    ScepStandard,
}

impl Capability {
    /// Every capability, in S-16 order.
    pub const ALL: [Self; 10] = [
        Self::Aes,
        Self::Des3,
        Self::GetNextCaCert,
        Self::PostPkiOperation,
        Self::Renewal,
        Self::Sha1,
        Self::Sha256,
        Self::Sha384,
        Self::Sha512,
        Self::ScepStandard,
    ];

    /// The keyword with its exact spelling (S-15), as a server writes it.
    #[must_use]
    pub const fn keyword(self) -> &'static str {
        match self {
            Self::Aes => "AES",
            Self::Des3 => "DES3",
            Self::GetNextCaCert => "GetNextCACert",
            Self::PostPkiOperation => "POSTPKIOperation",
            Self::Renewal => "Renewal",
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::ScepStandard => "SCEPStandard",
        }
    }

    /// The capability whose keyword equals `word` ASCII-case-insensitively, or `None` for an
    /// unknown word (S-16). `word` must already be trimmed.
    #[must_use]
    pub fn from_keyword(word: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.keyword().as_bytes().eq_ignore_ascii_case(word))
    }

    /// This capability's bit in [`Capabilities`].
    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A set of [`Capability`] values: what a CA advertises in its GetCACaps answer.
///
/// Clients build it with [`Capabilities::parse`] (or [`Capabilities::from_http_response`]),
/// servers with [`CapsProfile::capabilities`] and send [`Capabilities::to_text`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[must_use]
pub struct Capabilities(u16);

impl Capabilities {
    /// The empty set: what a client assumes when GetCACaps fails (S-9).
    pub const EMPTY: Self = Self(0);

    /// Parses a GetCACaps body, tolerantly (S-16): split on LF, strip a trailing CR and
    /// surrounding ASCII whitespace, compare keywords ASCII-case-insensitively, ignore empty
    /// lines and unknown words (also lines that are not UTF-8), then apply the `SCEPStandard`
    /// implication ([`Capabilities::with_implications`]). An empty body is the empty set.
    ///
    /// Never fails: a CA's odd answer only costs it capabilities.
    ///
    /// # Example
    /// ```
    /// use scep_proto::{Capabilities, Capability, ContentCipher, DigestAlg};
    ///
    /// let caps = Capabilities::parse(b" scepstandard\r\n\r\nDES3\r\nX-Unknown\r\n");
    /// assert!(caps.contains(Capability::Aes)); // implied by SCEPStandard
    /// assert_eq!(caps.content_cipher(), ContentCipher::Aes128);
    /// assert_eq!(caps.digest(), DigestAlg::Sha256);
    /// assert_eq!(caps.to_text(), "AES\nDES3\nPOSTPKIOperation\nSHA-256\nSCEPStandard\n");
    /// ```
    pub fn parse(body: &[u8]) -> Self {
        body.split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line).trim_ascii())
            .filter_map(Capability::from_keyword)
            .collect::<Self>()
            .with_implications()
    }

    /// The capabilities a client takes from a whole GetCACaps HTTP answer (S-9): the body is
    /// parsed whatever its Content-Type (an IOS CA may send `application/x-pki-message`); an
    /// HTTP status other than 200 means no capabilities.
    pub fn from_http_response(status: u16, body: &[u8]) -> Self {
        if status == 200 {
            Self::parse(body)
        } else {
            Self::EMPTY
        }
    }

    /// The server's text (S-16): each keyword of the set on its own line followed by LF, in
    /// S-16 order. Writes exactly the set, without adding implied keywords.
    #[must_use]
    pub fn to_text(self) -> String {
        self.to_string()
    }

    /// Adds what `SCEPStandard` implies (S-15): `AES`, `POSTPKIOperation`, `SHA-256`.
    pub const fn with_implications(self) -> Self {
        if self.contains(Capability::ScepStandard) {
            self.with(Capability::Aes)
                .with(Capability::PostPkiOperation)
                .with(Capability::Sha256)
        } else {
            self
        }
    }

    /// Whether `cap` is in the set.
    #[must_use]
    pub const fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// The set with `cap` added.
    pub const fn with(self, cap: Capability) -> Self {
        Self(self.0 | cap.bit())
    }

    /// The set with `cap` removed (e.g. `GetNextCACert` while no rollover exists, C-27).
    pub const fn without(self, cap: Capability) -> Self {
        Self(self.0 & !cap.bit())
    }

    /// Adds `cap`; returns whether it was new.
    pub fn insert(&mut self, cap: Capability) -> bool {
        let new = !self.contains(cap);
        *self = self.with(cap);
        new
    }

    /// Removes `cap`; returns whether it was present.
    pub fn remove(&mut self, cap: Capability) -> bool {
        let present = self.contains(cap);
        *self = self.without(cap);
        present
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of capabilities in the set.
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The capabilities in the set, in S-16 order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// S-5: whether a client sends PKIOperation with POST: iff `POSTPKIOperation` or
    /// `SCEPStandard` is advertised.
    #[must_use]
    pub const fn supports_post(self) -> bool {
        self.contains(Capability::PostPkiOperation) || self.contains(Capability::ScepStandard)
    }

    /// S-5: the HTTP method a client uses for PKIOperation.
    #[must_use]
    pub const fn pki_operation_method(self) -> Method {
        if self.supports_post() {
            Method::Post
        } else {
            Method::Get
        }
    }

    /// S-37: the client's content cipher: AES-128-CBC if `AES` or `SCEPStandard` is
    /// advertised, else DES-EDE3-CBC. (DES-CBC is a configuration choice, never derived.)
    #[must_use]
    pub const fn content_cipher(self) -> ContentCipher {
        if self.contains(Capability::Aes) || self.contains(Capability::ScepStandard) {
            ContentCipher::Aes128
        } else {
            ContentCipher::Des3
        }
    }

    /// S-38: the client's digest: SHA-256 if advertised (or `SCEPStandard`), else SHA-512 if
    /// advertised, else SHA-1.
    #[must_use]
    pub const fn digest(self) -> DigestAlg {
        if self.contains(Capability::Sha256) || self.contains(Capability::ScepStandard) {
            DigestAlg::Sha256
        } else if self.contains(Capability::Sha512) {
            DigestAlg::Sha512
        } else {
            DigestAlg::Sha1
        }
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        set.extend(iter);
        set
    }
}

impl Extend<Capability> for Capabilities {
    fn extend<I: IntoIterator<Item = Capability>>(&mut self, iter: I) {
        for cap in iter {
            *self = self.with(cap);
        }
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The GetCACaps text (S-16): one keyword per line, each followed by LF.
impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for cap in self.iter() {
            f.write_str(cap.keyword())?;
            f.write_str("\n")?;
        }
        Ok(())
    }
}

/// The capability sets a server offers (S-16, C-27).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CapsProfile {
    /// Everything this crate implements, plus `SHA-384` for strongSwan 5.9.8 (S-16):
    /// `AES, DES3, GetNextCACert, POSTPKIOperation, Renewal, SHA-1, SHA-256, SHA-384,
    /// SHA-512, SCEPStandard`.
    #[default]
    Full,
    /// What an IOS CA shows an IOS client: `GetNextCACert, Renewal, SHA-1, SHA-256`.
    IosLike,
}

impl CapsProfile {
    /// The profile's set. A CA that advertises `GetNextCACert` only during a rollover (C-27)
    /// removes it with [`Capabilities::without`].
    pub const fn capabilities(self) -> Capabilities {
        match self {
            Self::Full => Capabilities(0)
                .with(Capability::Aes)
                .with(Capability::Des3)
                .with(Capability::GetNextCaCert)
                .with(Capability::PostPkiOperation)
                .with(Capability::Renewal)
                .with(Capability::Sha1)
                .with(Capability::Sha256)
                .with(Capability::Sha384)
                .with(Capability::Sha512)
                .with(Capability::ScepStandard),
            Self::IosLike => Capabilities(0)
                .with(Capability::GetNextCaCert)
                .with(Capability::Renewal)
                .with(Capability::Sha1)
                .with(Capability::Sha256),
        }
    }
}
