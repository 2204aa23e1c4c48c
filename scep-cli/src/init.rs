//! Opening the CA in DIR (creating it on first start) and `scep ca init`, which creates it
//! without serving: with a new key, or from an existing key and certificate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ca_core::{Ca, CaError, ConfigError, DirStore, Store, issue::CaKey};
use der::Decode as _;
use pkcs8::der::pem;
use scep_proto::{Certificate, PrivateKey};

use crate::secrets::read_secret;
use crate::settings::{CaSettings, ConfigFile, Secrets};
use crate::{DirArg, ca_files, clock};

/// `scep ca init` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    dir: DirArg,
    /// TOML configuration file (its `[ca]` table; `[server]` is ignored here).
    #[arg(long, env = "SCEP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The existing CA's private key: PEM, PKCS#8 (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY`
    /// with --import-key-passphrase-file or SCEP_CA_KEY_PASSPHRASE) or PKCS#1
    /// (`RSA PRIVATE KEY`, unencrypted).
    #[arg(long, value_name = "KEY.pem", requires = "import_cert")]
    import_key: Option<PathBuf>,
    /// The existing CA's self-signed certificate (PEM).
    #[arg(long, value_name = "CA.pem", requires = "import_key")]
    import_cert: Option<PathBuf>,
    /// File holding the passphrase of an encrypted --import-key (or set
    /// SCEP_CA_KEY_PASSPHRASE).
    #[arg(long, env = "SCEP_CA_KEY_PASSPHRASE_FILE", value_name = "FILE")]
    import_key_passphrase_file: Option<PathBuf>,
    /// The last serial the existing CA handed out, in hex: new certificates continue after
    /// it [default: the CA certificate's serial].
    #[arg(long, value_name = "HEX", value_parser = parse_hex_serial)]
    last_serial: Option<u64>,
    #[command(flatten)]
    ca: CaSettings,
}

fn parse_hex_serial(s: &str) -> Result<u64, String> {
    let digits = s.trim_start_matches("0x").trim_start_matches("0X");
    u64::from_str_radix(digits, 16).map_err(|_| format!("{s:?} is not a hex serial below 2^64"))
}

/// Opens the CA in `dir`, creating the directory and the CA (C-1) if they do not exist.
pub(crate) fn open_or_create(dir: &Path, settings: &CaSettings) -> Result<Ca<DirStore>, String> {
    let store = DirStore::open(dir).map_err(|e| format!("opening {}: {e}", dir.display()))?;
    open_in(dir, store, &dir.display().to_string(), settings)
}

/// Opens the CA kept in `store` (creating it there if the store is empty); `dir` holds the
/// server's own files (`ca.pem` names the issuer when none is configured); `place` names the
/// store in messages.
pub(crate) fn open_in<S: Store>(
    dir: &Path,
    store: S,
    place: &str,
    settings: &CaSettings,
) -> Result<Ca<S>, String> {
    let config = settings.to_config(ca_files::stored_issuer(dir), secrets(settings)?)?;
    let mut rng = clock::rng()?;
    Ca::open(config, store, clock::now(), true, &mut rng).map_err(|e| match e {
        CaError::Config(ConfigError::IssuerNameChanged) => format!(
            "the CA in {} has another subject than the configured issuer: leave --issuer out \
             (DIR/ca.pem names it) or give the stored one",
            place
        ),
        CaError::KeyPassphraseRequired => format!(
            "the CA keys in {} are encrypted: give --key-passphrase-file or set \
             SCEP_KEY_PASSPHRASE",
            place
        ),
        e => format!("opening the CA in {}: {e}", place),
    })
}

fn secrets(settings: &CaSettings) -> Result<Secrets, String> {
    Ok(Secrets {
        archive_password: read_secret(
            settings.archive_password_file.as_deref(),
            "SCEP_ARCHIVE_PASSWORD",
        )?,
        key_passphrase: read_secret(
            settings.key_passphrase_file.as_deref(),
            "SCEP_KEY_PASSPHRASE",
        )?,
    })
}

/// `scep ca init`.
pub(crate) fn run(args: &InitArgs) -> Result<ExitCode, String> {
    let file = ConfigFile::load(args.config.as_deref())?;
    let settings = args.ca.clone().over(file.ca);
    let dir = &args.dir.dir;
    if dir.join(ca_files::CURRENT).exists() {
        return Err(format!("{} already holds a CA", dir.display()));
    }
    let ca = match (&args.import_key, &args.import_cert) {
        (Some(key), Some(cert)) => import(dir, &settings, key, cert, args)?,
        _ => open_or_create(dir, &settings)?,
    };
    ca_files::publish(dir, &ca)?;
    let mut out = std::io::stdout().lock();
    let report = format!(
        "{}\nCA certificate: {}\n",
        ca.status(clock::now()),
        dir.join(ca_files::CURRENT).display()
    );
    std::io::Write::write_all(&mut out, report.as_bytes()).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn import(
    dir: &Path,
    settings: &CaSettings,
    key_path: &Path,
    cert_path: &Path,
    args: &InitArgs,
) -> Result<Ca<DirStore>, String> {
    let cert = read_certificate(cert_path)?;
    let passphrase = read_secret(
        args.import_key_passphrase_file.as_deref(),
        "SCEP_CA_KEY_PASSPHRASE",
    )?;
    let key = read_key(key_path, passphrase.as_deref())?;
    let subject = cert.tbs_certificate().subject().to_string();
    let ca_key = CaKey::new(key, cert)
        .map_err(|e| format!("{} and {}: {e}", key_path.display(), cert_path.display()))?;
    let now = clock::now();
    if ca_key.validity().not_after() <= now {
        return Err(format!(
            "{}: the certificate has expired",
            cert_path.display()
        ));
    }
    let store = DirStore::open(dir).map_err(|e| format!("opening {}: {e}", dir.display()))?;
    let config = settings.to_config(Some(subject), secrets(settings)?)?;
    let last_serial = args.last_serial.unwrap_or(0);
    let mut rng = clock::rng()?;
    Ca::import(config, store, ca_key, last_serial, now, &mut rng).map_err(|e| match e {
        CaError::Issue(ca_core::issue::IssueError::InvalidCertificate) => {
            format!("{}: not a self-signed CA certificate", cert_path.display())
        }
        e => format!("importing into {}: {e}", dir.display()),
    })
}

fn read_pem(path: &Path) -> Result<(String, Vec<u8>), String> {
    let text = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let (label, der) =
        pem::decode_vec(&text).map_err(|e| format!("{}: not PEM: {e}", path.display()))?;
    Ok((label.to_owned(), der))
}

fn read_certificate(path: &Path) -> Result<Certificate, String> {
    let (label, der) = read_pem(path)?;
    if label != "CERTIFICATE" {
        return Err(format!(
            "{}: a {label} block, not a CERTIFICATE",
            path.display()
        ));
    }
    Certificate::from_der(&der).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_key(path: &Path, passphrase: Option<&str>) -> Result<PrivateKey, String> {
    let (label, der) = read_pem(path)?;
    let shown = path.display();
    let pkcs8 = match label.as_str() {
        "PRIVATE KEY" => der,
        "ENCRYPTED PRIVATE KEY" => {
            let Some(pass) = passphrase else {
                return Err(format!(
                    "{shown} is encrypted: give --import-key-passphrase-file or set SCEP_CA_KEY_PASSPHRASE"
                ));
            };
            return PrivateKey::from_encrypted_pkcs8_der(&der, pass.as_bytes())
                .map_err(|_| format!("{shown}: the passphrase does not open the key"));
        }
        "RSA PRIVATE KEY" => pkcs1_to_pkcs8(&der).map_err(|e| format!("{shown}: {e}"))?,
        other => {
            return Err(format!(
                "{shown}: a {other} block; expected PRIVATE KEY, ENCRYPTED PRIVATE KEY or RSA PRIVATE KEY \
                 (an encrypted traditional key converts with `openssl pkcs8 -topk8`)"
            ));
        }
    };
    PrivateKey::from_pkcs8_der(&pkcs8).map_err(|e| format!("{shown}: {e}"))
}

/// Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (rsaEncryption, NULL parameters).
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Result<Vec<u8>, der::Error> {
    use pkcs8::der::Encode as _;
    use pkcs8::der::asn1::{AnyRef, OctetStringRef};
    let algorithm = pkcs8::AlgorithmIdentifierRef {
        oid: scep_proto::oids::RSA_ENCRYPTION,
        parameters: Some(AnyRef::NULL),
    };
    let info = pkcs8::PrivateKeyInfoRef::new(algorithm, OctetStringRef::new(pkcs1)?);
    info.to_der()
}
