//! Every CA setting of SPEC §3.1 and every server setting, from three sources: a TOML file
//! (`--config`), `SCEP_*` environment variables and flags. Flags win over the environment
//! (clap merges those two), and both win over the file.

use std::path::PathBuf;

use ca_core::policy::{IssuancePolicy, KeyPurpose, KeyPurposes, SanType, SanTypes};
use ca_core::{CaConfig, DatabaseLevel, GrantMode, archive::ArchiveFormat};
use clap::{Args, ValueEnum};
use pki_timers::{Duration, Overlap, RolloverIdentityPolicy};
use scep_proto::CapsProfile;
use scep_proto::DigestAlg;
use serde::Deserialize;

use crate::secrets::redacted;
use crate::span::Span;

/// Grant mode (C-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Grant {
    /// Requests wait for `scep admin grant` (the IOS default).
    Manual,
    /// Every request with a valid proof of possession is granted at once.
    Auto,
    /// Every enrolment is refused.
    None,
    /// Requests signed by this CA's RA certificate are granted at once, others wait (IOS
    /// `grant ra-auto`; needs --ra).
    RaAuto,
}

/// Which shadow requests to the rollover CA are granted at once (C-9 step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AutoRollover {
    /// Those signed by this CA's RA certificate.
    RaCert,
    /// Those of a subordinate CA (signed by a CA certificate this CA issued, asking for a
    /// CA certificate); issued as CA certificates.
    CaCert,
}

/// What the CA keeps about issued certificates (C-18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Database {
    /// Counters, CRL, request table, revoked serials, CA keys.
    Minimal,
    /// Minimal plus (serial, subject) of every issued certificate.
    Names,
    /// Names plus the DER of every issued certificate (certs/SERIAL.der).
    Complete,
}

/// The key archive format (SPEC §3.1 `database_archive`, C-19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Archive {
    /// PKCS#12 `<name>.p12` / `<name>_NNNNN.p12`, as IOS `database archive pkcs12` writes.
    Pkcs12,
    /// Encrypted PKCS#8 key and certificate, PEM, `.pem`.
    Pem,
}

/// The digest of the CA's own signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Hash {
    /// SHA-1 (needs legacy algorithms).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// MD5 (needs legacy algorithms).
    Md5,
}

/// The GetCACaps profile (S-16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Caps {
    /// Everything implemented.
    Full,
    /// What an IOS CA advertises.
    Ios,
}

/// Validity of certificates the rollover CA issues (C-11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RolloverValidity {
    /// Make up for the part of the old certificate's lifetime that was cut short.
    Balance,
    /// Always the full certificate lifetime.
    FullLifetime,
}

/// The CA settings (SPEC §3.1). Every field is optional so the sources can be merged; an
/// unset field takes the SPEC default.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaSettings {
    /// Server name: key label and archive file stem [default: ROOTCA].
    #[arg(long, env = "SCEP_NAME", value_name = "LABEL")]
    pub(crate) name: Option<String>,
    /// The CA's distinguished name on first start, e.g. "CN=Example CA,O=Example"
    /// [default: the subject of DIR/ca.pem if it exists, else CN=NAME]. Fixed once the CA
    /// exists.
    #[arg(long = "issuer", env = "SCEP_ISSUER_NAME", value_name = "DN")]
    pub(crate) issuer_name: Option<String>,
    /// Lifetime of issued certificates, 1d–1825d [default: 365d].
    #[arg(long, env = "SCEP_LIFETIME_CERTIFICATE", value_name = "SPAN")]
    pub(crate) lifetime_certificate: Option<Span>,
    /// Lifetime of CA certificates, 1d–7305d [default: 1095d].
    #[arg(long, env = "SCEP_LIFETIME_CA_CERTIFICATE", value_name = "SPAN")]
    pub(crate) lifetime_ca_certificate: Option<Span>,
    /// Lifetime of a CRL, 1h–336h [default: 6h].
    #[arg(long, env = "SCEP_LIFETIME_CRL", value_name = "SPAN")]
    pub(crate) lifetime_crl: Option<Span>,
    /// How long a request stays in the request table, 1h–1000h [default: 168h].
    #[arg(long, env = "SCEP_LIFETIME_ENROLLMENT_REQUEST", value_name = "SPAN")]
    pub(crate) lifetime_enrollment_request: Option<Span>,
    /// Generate the rollover (shadow) CA this long before the CA expires, e.g. 30d
    /// [default: off].
    #[arg(long, env = "SCEP_AUTO_ROLLOVER", value_name = "SPAN")]
    pub(crate) auto_rollover: Option<Span>,
    /// Who grants enrolment requests [default: manual].
    #[arg(long, env = "SCEP_GRANT", value_enum)]
    pub(crate) grant: Option<Grant>,
    /// Grant at once renewals signed by a valid certificate of this CA (IOS
    /// `grant auto trustpoint`).
    #[arg(long, alias = "grant-renewals", env = "SCEP_GRANT_AUTO_TRUSTPOINT", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) grant_auto_trustpoint: Option<bool>,
    /// Grant at once shadow requests to the rollover CA from the RA (ra-cert) or from a
    /// subordinate CA (ca-cert), comma-separated (IOS `grant auto rollover`) [default: none].
    #[arg(
        long,
        env = "SCEP_GRANT_AUTO_ROLLOVER",
        value_enum,
        value_name = "WHO",
        value_delimiter = ','
    )]
    pub(crate) grant_auto_rollover: Option<Vec<AutoRollover>>,
    /// RA mode: the CA has an RA key and certificate (issued at creation, or at the next
    /// start of an existing CA that has none); GetCACert answers CA+RA, clients encrypt to
    /// the RA and it signs the answers; each rollover CA gets its own RA [default: false].
    #[arg(long, env = "SCEP_RA", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) ra: Option<bool>,
    /// Subject of the RA certificate; implies --ra [default: CN=NAME-RA].
    #[arg(long, env = "SCEP_RA_SUBJECT", value_name = "DN")]
    pub(crate) ra_subject: Option<String>,
    /// What the CA stores about issued certificates [default: complete].
    #[arg(long, env = "SCEP_DATABASE_LEVEL", value_enum)]
    pub(crate) database_level: Option<Database>,
    /// Digest of the CA's own signatures [default: sha256].
    #[arg(long, env = "SCEP_HASH", value_enum)]
    pub(crate) hash: Option<Hash>,
    /// RSA size of CA keys, 1024–4096 [default: 2048].
    #[arg(long, env = "SCEP_KEY_BITS", value_name = "BITS")]
    pub(crate) key_bits: Option<u32>,
    /// GetCACaps profile [default: full].
    #[arg(long = "caps", env = "SCEP_CAPS_PROFILE", value_enum)]
    pub(crate) caps_profile: Option<Caps>,
    /// Advertise GetNextCACert even without a rollover [default: true].
    #[arg(long, env = "SCEP_ADVERTISE_NEXT_CA_ALWAYS", value_name = "BOOL")]
    pub(crate) advertise_next_ca_always: Option<bool>,
    /// Validity of certificates issued by the rollover CA [default: balance].
    #[arg(long, env = "SCEP_ROLLOVER_ID_VALIDITY", value_enum)]
    pub(crate) rollover_id_validity: Option<RolloverValidity>,
    /// Default validity of `scep admin otp` passwords in minutes, 1–1440 [default: 60].
    #[arg(long, env = "SCEP_OTP_DEFAULT_MINUTES", value_name = "MINUTES")]
    pub(crate) otp_default_minutes: Option<u32>,
    /// Accept DES and MD5 from clients (old IOS, micromdm scepclient); allow SHA-1 and MD5 as
    /// --hash; answer SHA-1 requests with SHA-1.
    #[arg(long, env = "SCEP_LEGACY_ALGORITHMS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) legacy_algorithms: Option<bool>,
    /// Put the CA certificate into a SUCCESS answer after the issued one [default: true]
    /// (some clients need it, others refuse a bag of more than one certificate).
    #[arg(long, env = "SCEP_CA_CERT_IN_SUCCESS", value_name = "BOOL")]
    pub(crate) ca_cert_in_success: Option<bool>,
    /// The most entries the request table holds, 1–10000000 [default: 10000]; a new request
    /// beyond it is answered HTTP 503 until entries are granted, removed or purged.
    #[arg(long, env = "SCEP_MAX_REQUESTS", value_name = "N")]
    pub(crate) max_requests: Option<usize>,
    /// The longest CSR accepted, 512–262144 bytes [default: 16384]; a longer one is
    /// answered FAILURE badRequest.
    #[arg(long, env = "SCEP_MAX_CSR_BYTES", value_name = "BYTES")]
    pub(crate) max_csr_bytes: Option<usize>,
    /// File holding the key archive password (C-19); the environment variable
    /// SCEP_ARCHIVE_PASSWORD may hold the password itself. Without either no archive is
    /// written.
    #[arg(long, env = "SCEP_ARCHIVE_PASSWORD_FILE", value_name = "FILE")]
    pub(crate) archive_password_file: Option<PathBuf>,
    /// Format of the key archive (C-19) [default: pkcs12].
    #[arg(long, env = "SCEP_DATABASE_ARCHIVE", value_enum)]
    pub(crate) database_archive: Option<Archive>,
    /// File holding the passphrase that encrypts the CA keys in DIR (PBES2, as the archive);
    /// the environment variable SCEP_KEY_PASSPHRASE may hold the passphrase itself. Without
    /// either the keys are stored unencrypted (protect DIR as the keys themselves); keys
    /// stored unencrypted are encrypted the first time the CA opens with a passphrase.
    #[arg(long, env = "SCEP_KEY_PASSPHRASE_FILE", value_name = "FILE")]
    pub(crate) key_passphrase_file: Option<PathBuf>,
    /// Issuance policy (C-10): extended key usages that may be issued, comma-separated
    /// (serverAuth, clientAuth, codeSigning, emailProtection, ipsecEndSystem, ipsecTunnel,
    /// ipsecUser, timeStamping, OCSPSigning, ipsecIKE, anyExtendedKeyUsage, iKEIntermediate)
    /// [default:
    /// serverAuth,clientAuth,ipsecIKE,ipsecEndSystem,ipsecTunnel,ipsecUser]. A request
    /// asking for another is refused (grant auto) or waits with it listed (manual).
    #[arg(
        long,
        env = "SCEP_ALLOWED_EKUS",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub(crate) allowed_ekus: Option<Vec<String>>,
    /// Issuance policy: subjectAltName types that may be issued, comma-separated (dns, ip,
    /// email, uri, dirname, othername, rid, other) [default: dns,ip,email].
    #[arg(
        long,
        env = "SCEP_ALLOWED_SAN_TYPES",
        value_name = "TYPES",
        value_delimiter = ','
    )]
    pub(crate) allowed_san_types: Option<Vec<String>>,
    /// Issuance policy: let extendedKeyUsage be critical when a request asks so [default:
    /// false, never critical].
    #[arg(long, env = "SCEP_CRITICAL_EKU", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) critical_eku: Option<bool>,
    /// Issuance policy: smallest RSA key of a request, 1024–4096 [default: 1024].
    #[arg(long, env = "SCEP_MIN_REQUEST_KEY_BITS", value_name = "BITS")]
    pub(crate) min_request_key_bits: Option<u32>,
    /// Issuance policy: largest RSA key of a request, 1024–4096 [default: 4096].
    #[arg(long, env = "SCEP_MAX_REQUEST_KEY_BITS", value_name = "BITS")]
    pub(crate) max_request_key_bits: Option<u32>,
    /// Issuance policy: longest validity of an issued certificate, e.g. 90d [default: the
    /// certificate lifetime].
    #[arg(long, env = "SCEP_MAX_VALIDITY", value_name = "SPAN")]
    pub(crate) max_validity: Option<Span>,
    /// Issuance policy: let a renewal ask for a subject or subjectAltNames other than its
    /// certificate's [default: false].
    #[arg(long, env = "SCEP_RENEWAL_MAY_CHANGE_NAMES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) renewal_may_change_names: Option<bool>,
}

/// The CA's secrets, read from files or the environment (never from flags). `Debug` shows
/// which are set, never their values.
#[derive(Default)]
pub(crate) struct Secrets {
    /// The key archive password (C-19).
    pub(crate) archive_password: Option<String>,
    /// The passphrase of the CA keys in the store.
    pub(crate) key_passphrase: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field(
                "archive_password",
                &redacted(self.archive_password.as_ref()),
            )
            .field("key_passphrase", &redacted(self.key_passphrase.as_ref()))
            .finish()
    }
}

/// Merges `Option` fields: the first source that has a value wins.
macro_rules! merge_fields {
    ($first:ident, $second:ident; $($field:ident),* $(,)?) => {
        Self { $($field: $first.$field.or($second.$field)),* }
    };
}

impl CaSettings {
    /// `self` (flags and environment) over `file`.
    pub(crate) fn over(self, file: Self) -> Self {
        merge_fields!(self, file; name, issuer_name, lifetime_certificate,
            lifetime_ca_certificate, lifetime_crl, lifetime_enrollment_request, auto_rollover,
            grant, grant_auto_trustpoint, grant_auto_rollover, ra, ra_subject, database_level, hash, key_bits, caps_profile,
            advertise_next_ca_always, rollover_id_validity, otp_default_minutes,
            legacy_algorithms, ca_cert_in_success, max_requests, max_csr_bytes,
            archive_password_file, database_archive, key_passphrase_file, allowed_ekus, allowed_san_types,
            critical_eku, min_request_key_bits, max_request_key_bits, max_validity,
            renewal_may_change_names)
    }

    /// The CA configuration; `stored_issuer` is the subject of an existing DIR/ca.pem, used
    /// when no issuer is configured so an imported or renamed CA opens without repeating it.
    pub(crate) fn to_config(
        &self,
        stored_issuer: Option<String>,
        secrets: Secrets,
    ) -> Result<CaConfig, String> {
        let mut c = CaConfig::default();
        if let Some(name) = &self.name {
            c.name.clone_from(name);
        }
        c.issuer_name = match (&self.issuer_name, stored_issuer) {
            (Some(dn), _) => dn.clone(),
            (None, Some(stored)) => stored,
            (None, None) => format!("CN={}", c.name),
        };
        let secs = |s: Span| Duration::from_secs(s.secs());
        if let Some(s) = self.lifetime_certificate {
            c.lifetime_certificate = secs(s);
        }
        if let Some(s) = self.lifetime_ca_certificate {
            c.lifetime_ca_certificate = secs(s);
        }
        if let Some(s) = self.lifetime_crl {
            c.lifetime_crl = secs(s);
        }
        if let Some(s) = self.lifetime_enrollment_request {
            c.lifetime_enrollment_request = secs(s);
        }
        if let Some(s) = self.auto_rollover {
            let (d, rest) = (s.secs() / 86_400, s.secs() % 86_400);
            c.auto_rollover = Some(
                Overlap::new(d, rest / 3_600, rest % 3_600 / 60)
                    .map_err(|e| format!("auto_rollover {s}: {e}"))?,
            );
        }
        c.grant = match self.grant.unwrap_or(Grant::Manual) {
            Grant::Manual => GrantMode::Manual,
            Grant::Auto => GrantMode::Auto,
            Grant::None => GrantMode::None,
            Grant::RaAuto => GrantMode::RaAuto,
        };
        c.grant_auto_trustpoint = self.grant_auto_trustpoint.unwrap_or(false);
        for who in self.grant_auto_rollover.iter().flatten() {
            match who {
                AutoRollover::RaCert => c.grant_auto_rollover.ra_cert = true,
                AutoRollover::CaCert => c.grant_auto_rollover.ca_cert = true,
            }
        }
        if self.ra_subject.is_some() || self.ra == Some(true) {
            c.ra_subject = Some(
                self.ra_subject
                    .clone()
                    .unwrap_or_else(|| format!("CN={}-RA", c.name)),
            );
        }
        // The server's default is Complete (unlike the library's Minimal): an operator can
        // then find, back up and revoke every certificate by serial.
        c.database_level = match self.database_level.unwrap_or(Database::Complete) {
            Database::Minimal => DatabaseLevel::Minimal,
            Database::Names => DatabaseLevel::Names,
            Database::Complete => DatabaseLevel::Complete,
        };
        c.hash = match self.hash.unwrap_or(Hash::Sha256) {
            Hash::Sha1 => DigestAlg::Sha1,
            Hash::Sha256 => DigestAlg::Sha256,
            Hash::Sha384 => DigestAlg::Sha384,
            Hash::Sha512 => DigestAlg::Sha512,
            Hash::Md5 => DigestAlg::Md5,
        };
        if let Some(bits) = self.key_bits {
            c.key_bits = bits;
        }
        c.caps_profile = match self.caps_profile.unwrap_or(Caps::Full) {
            Caps::Full => CapsProfile::Full,
            Caps::Ios => CapsProfile::IosLike,
        };
        if let Some(v) = self.advertise_next_ca_always {
            c.advertise_next_ca_always = v;
        }
        c.rollover_id_validity = match self.rollover_id_validity {
            Some(RolloverValidity::FullLifetime) => RolloverIdentityPolicy::FullLifetime,
            _ => RolloverIdentityPolicy::Balance,
        };
        if let Some(m) = self.otp_default_minutes {
            c.otp_default_minutes = m;
        }
        c.legacy_algorithms = self.legacy_algorithms.unwrap_or(false);
        if let Some(v) = self.ca_cert_in_success {
            c.ca_cert_in_success = v;
        }
        if let Some(n) = self.max_requests {
            c.max_requests = n;
        }
        if let Some(n) = self.max_csr_bytes {
            c.max_csr_bytes = n;
        }
        c.archive_password = secrets.archive_password;
        c.archive_format = match self.database_archive.unwrap_or(Archive::Pkcs12) {
            Archive::Pkcs12 => ArchiveFormat::Pkcs12,
            Archive::Pem => ArchiveFormat::Pem,
        };
        c.key_passphrase = secrets.key_passphrase;
        self.policy_into(&mut c.policy)?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// The issuance policy settings (C-10) over the library's defaults.
    fn policy_into(&self, p: &mut IssuancePolicy) -> Result<(), String> {
        if let Some(names) = &self.allowed_ekus {
            p.extended_key_usages = names
                .iter()
                .filter(|n| !n.trim().is_empty())
                .map(|n| {
                    n.parse::<KeyPurpose>()
                        .map_err(|e| format!("allowed_ekus: {e}"))
                })
                .collect::<Result<KeyPurposes, _>>()?;
        }
        if let Some(names) = &self.allowed_san_types {
            p.san_types = names
                .iter()
                .filter(|n| !n.trim().is_empty())
                .map(|n| {
                    n.parse::<SanType>()
                        .map_err(|e| format!("allowed_san_types: {e}"))
                })
                .collect::<Result<SanTypes, _>>()?;
        }
        if let Some(v) = self.critical_eku {
            p.critical_eku = v;
        }
        if let Some(v) = self.min_request_key_bits {
            p.min_key_bits = v;
        }
        if let Some(v) = self.max_request_key_bits {
            p.max_key_bits = v;
        }
        if let Some(s) = self.max_validity {
            p.max_validity = Some(Duration::from_secs(s.secs()));
        }
        if let Some(v) = self.renewal_may_change_names {
            p.renewal_may_change_names = v;
        }
        Ok(())
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum LogFormat {
    /// One `key=value` line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// The HTTP server's settings.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSettings {
    /// Plain HTTP listener, e.g. 127.0.0.1:8080 (port 0: any free port).
    #[arg(long, env = "SCEP_LISTEN", value_name = "ADDR:PORT")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// HTTPS listener (needs --tls-cert and --tls-key).
    #[arg(long, env = "SCEP_TLS_LISTEN", value_name = "ADDR:PORT")]
    pub(crate) tls_listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain of the HTTPS listener (server certificate first).
    #[arg(long, env = "SCEP_TLS_CERT", value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key of the HTTPS listener (PKCS#8, PKCS#1 or SEC1, unencrypted).
    #[arg(long, env = "SCEP_TLS_KEY", value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Threads doing the CA's RSA work [default: one per core].
    #[arg(long, env = "SCEP_THREADS", value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Open connections at most; more wait in the kernel's queue [default: 1024].
    #[arg(long, env = "SCEP_MAX_CONNECTIONS", value_name = "N")]
    pub(crate) max_connections: Option<usize>,
    /// A request's header must arrive within this time of the connection being ready for it
    /// [default: 10s].
    #[arg(long, env = "SCEP_HEADER_TIMEOUT", value_name = "SPAN")]
    pub(crate) header_timeout: Option<Span>,
    /// A request's body must arrive within this time of its header [default: 10s].
    #[arg(long, env = "SCEP_BODY_TIMEOUT", value_name = "SPAN")]
    pub(crate) body_timeout: Option<Span>,
    /// A keep-alive connection with no request and no byte for this long is closed
    /// [default: 5s].
    #[arg(long, env = "SCEP_IDLE_TIMEOUT", value_name = "SPAN")]
    pub(crate) idle_timeout: Option<Span>,
    /// On SIGTERM/SIGINT, how long requests in flight may take to finish [default: 30s].
    #[arg(long, env = "SCEP_SHUTDOWN_TIMEOUT", value_name = "SPAN")]
    pub(crate) shutdown_timeout: Option<Span>,
    /// Log line format [default: text].
    #[arg(long, env = "SCEP_LOG_FORMAT", value_enum)]
    pub(crate) log_format: Option<LogFormat>,
}

impl ServerSettings {
    /// `self` (flags and environment) over `file`.
    pub(crate) fn over(self, file: Self) -> Self {
        merge_fields!(self, file; listen, tls_listen, tls_cert, tls_key, threads,
            max_connections, header_timeout, body_timeout, idle_timeout, shutdown_timeout,
            log_format)
    }
}

/// The configuration file: the same names as the flags, with `_` for `-`, in two tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// `[ca]`: SPEC §3.1.
    #[serde(default)]
    pub(crate) ca: CaSettings,
    /// `[server]`.
    #[serde(default)]
    pub(crate) server: ServerSettings,
}

impl ConfigFile {
    /// Reads and parses `path`; no path gives the empty file.
    pub(crate) fn load(path: Option<&std::path::Path>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            // The message and the line only: toml's own rendering quotes the offending line,
            // which may hold a secret (an archive password put in the file by mistake).
            let line = e.span().map_or(0, |span| {
                text.get(..span.start)
                    .map_or(0, |before| before.matches('\n').count() + 1)
            });
            format!("{} line {line}: {}", path.display(), e.message())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A debug-formatted configuration (a log line, a panic message) must not carry the
    /// archive password (C-19) or the CA key passphrase.
    #[test]
    fn c19_secrets_never_in_debug() {
        let secrets = Secrets {
            archive_password: Some("ArchivePw123".to_owned()),
            key_passphrase: Some("KeyPassphrase456".to_owned()),
        };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("ArchivePw123"), "{shown}");
        assert!(!shown.contains("KeyPassphrase456"), "{shown}");
        assert!(shown.contains("archive_password"), "{shown}");
        let none = format!("{:?}", Secrets::default());
        assert!(none.contains("None"), "{none}");
    }

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let file: ConfigFile = toml::from_str(
            "[ca]\ngrant = \"auto\"\nkey_bits = 3072\nlifetime_crl = \"12h\"\n\
             [server]\nthreads = 3\nheader_timeout = \"4s\"\n",
        )
        .unwrap();
        let flags = CaSettings {
            key_bits: Some(1024),
            ..CaSettings::default()
        };
        let merged = flags.over(file.ca);
        let config = merged.to_config(None, Secrets::default()).unwrap();
        assert_eq!(config.key_bits, 1024);
        assert_eq!(
            (config.max_requests, config.max_csr_bytes),
            (10_000, 16_384)
        );
        assert_eq!(config.grant, GrantMode::Auto);
        assert_eq!(config.lifetime_crl, Duration::from_hours(12));
        assert_eq!(config.issuer_name, "CN=ROOTCA");
        assert_eq!(config.database_level, DatabaseLevel::Complete);
        let server = ServerSettings::default().over(file.server);
        assert_eq!(server.threads, Some(3));
        assert_eq!(server.header_timeout, Some(Span::from_secs(4)));
    }

    #[test]
    fn a_config_error_names_the_line_but_never_repeats_it() {
        // Review finding: toml's message quoted the offending line, secret included.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scep.toml");
        std::fs::write(&path, "[ca]\narchive_password = \"hunter2-secret\"\n").unwrap();
        let err = ConfigFile::load(Some(&path)).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_keys_and_out_of_range_values_are_errors() {
        assert!(toml::from_str::<ConfigFile>("[ca]\ngrnat = \"auto\"\n").is_err());
        assert!(toml::from_str::<ConfigFile>("[ca]\nlifetime_crl = \"12\"\n").is_err());
        let s = CaSettings {
            key_bits: Some(512),
            ..CaSettings::default()
        };
        assert!(s.to_config(None, Secrets::default()).is_err());
        let file: ConfigFile =
            toml::from_str("[ca]\nmax_requests = 500\nmax_csr_bytes = 4096\n").unwrap();
        let c = file.ca.to_config(None, Secrets::default()).unwrap();
        assert_eq!((c.max_requests, c.max_csr_bytes), (500, 4096));
        let file: ConfigFile = toml::from_str("[ca]\nmax_requests = 0\n").unwrap();
        assert!(file.ca.to_config(None, Secrets::default()).is_err());
    }

    #[test]
    fn c10_policy_from_the_file_and_flags() {
        let file: ConfigFile = toml::from_str(
            "[ca]\nallowed_ekus = [\"serverAuth\", \"OCSPSigning\"]\n\
             allowed_san_types = [\"dns\"]\ncritical_eku = true\nmax_validity = \"90d\"\n\
             min_request_key_bits = 2048\nrenewal_may_change_names = true\n",
        )
        .unwrap();
        let config = CaSettings::default()
            .over(file.ca)
            .to_config(None, Secrets::default())
            .unwrap();
        let p = config.policy;
        assert!(p.extended_key_usages.contains(KeyPurpose::OcspSigning));
        assert!(!p.extended_key_usages.contains(KeyPurpose::ClientAuth));
        assert_eq!(p.san_types, SanTypes::NONE.with(SanType::Dns));
        assert!(p.critical_eku && p.renewal_may_change_names);
        assert_eq!(p.max_validity, Some(Duration::from_days(90)));
        assert_eq!((p.min_key_bits, p.max_key_bits), (2048, 4096));
        // Unset: the library's safe default.
        let p = CaSettings::default()
            .to_config(None, Secrets::default())
            .unwrap()
            .policy;
        assert_eq!(p, IssuancePolicy::default());
        assert!(!p.extended_key_usages.contains(KeyPurpose::OcspSigning));
        // Flags (and SCEP_* variables) win; unknown names and empty ranges are errors.
        let flags = CaSettings {
            allowed_ekus: Some(vec!["clientAuth".to_owned()]),
            ..CaSettings::default()
        };
        let file: ConfigFile = toml::from_str("[ca]\nallowed_ekus = [\"codeSigning\"]\n").unwrap();
        let p = flags
            .over(file.ca)
            .to_config(None, Secrets::default())
            .unwrap()
            .policy;
        assert_eq!(
            p.extended_key_usages,
            KeyPurposes::NONE.with(KeyPurpose::ClientAuth)
        );
        for bad in [
            "[ca]\nallowed_ekus = [\"everything\"]\n",
            "[ca]\nallowed_san_types = [\"fax\"]\n",
            "[ca]\nmin_request_key_bits = 4096\nmax_request_key_bits = 2048\n",
        ] {
            let file: ConfigFile = toml::from_str(bad).unwrap();
            assert!(
                CaSettings::default()
                    .over(file.ca)
                    .to_config(None, Secrets::default())
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn s07_c09_ra_mode_and_grant_auto_rollover_from_the_file() {
        let file: ConfigFile = toml::from_str(
            "[ca]\nname = \"HUB\"\nra = true\ngrant = \"ra-auto\"\n\
             grant_auto_rollover = [\"ra-cert\", \"ca-cert\"]\n",
        )
        .unwrap();
        let c = file.ca.to_config(None, Secrets::default()).unwrap();
        assert_eq!(c.ra_subject.as_deref(), Some("CN=HUB-RA"));
        assert_eq!(c.grant, GrantMode::RaAuto);
        assert!(c.grant_auto_rollover.ra_cert && c.grant_auto_rollover.ca_cert);
        // A subject implies RA mode; none of it by default; the CA's own subject is refused.
        let file: ConfigFile = toml::from_str("[ca]\nra_subject = \"CN=Front\"\n").unwrap();
        let c = file.ca.to_config(None, Secrets::default()).unwrap();
        assert_eq!(c.ra_subject.as_deref(), Some("CN=Front"));
        let c = CaSettings::default()
            .to_config(None, Secrets::default())
            .unwrap();
        assert!(c.ra_subject.is_none() && c.grant_auto_rollover == Default::default());
        let file: ConfigFile = toml::from_str("[ca]\nra_subject = \"CN=ROOTCA\"\n").unwrap();
        assert!(file.ca.to_config(None, Secrets::default()).is_err());
        assert!(toml::from_str::<ConfigFile>("[ca]\ngrant_auto_rollover = [\"all\"]\n").is_err());
    }

    #[test]
    fn the_stored_issuer_is_used_unless_one_is_configured() {
        let s = CaSettings::default();
        let c = s
            .to_config(Some("CN=Imported".to_owned()), Secrets::default())
            .unwrap();
        assert_eq!(c.issuer_name, "CN=Imported");
        let s = CaSettings {
            issuer_name: Some("CN=Given".to_owned()),
            ..CaSettings::default()
        };
        let c = s
            .to_config(Some("CN=Imported".to_owned()), Secrets::default())
            .unwrap();
        assert_eq!(c.issuer_name, "CN=Given");
    }
}
