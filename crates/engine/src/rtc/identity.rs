//! This installation's DTLS certificate: one key pair for every call, kept in the config
//! dir beside the ID and its token, so a peer sees the same fingerprint call after call and
//! across restarts. That fingerprint is what a contact who verified us pins.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use thiserror::Error;
use voicecall_core::sas::Fingerprint;
use webrtc::peer_connection::RTCCertificate;

/// The file, in the config dir: the private key (PKCS#8) and the certificate, as PEM.
pub const IDENTITY_FILE: &str = "dtls-identity.pem";

/// Peers check fingerprints, not validity dates; webrtc-rs only refuses a certificate
/// whose `expires` has passed, so a loaded one is good for as long as the file lives.
const LOADED_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The certificate every call of this installation presents, with its fingerprint.
#[derive(Clone, Debug, PartialEq)]
pub struct DtlsIdentity {
    certificate: RTCCertificate,
    fingerprint: Fingerprint,
}

/// Where the identity came from; anything but `Loaded` deserves a log line, and `Replaced`
/// a word to the person (contacts who verified them will see a changed key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    Loaded,
    /// There was none: a first run.
    Created,
    /// The file could not be used; it was set aside (when it could be moved) and a new
    /// certificate saved.
    Replaced {
        reason: String,
        set_aside: Option<PathBuf>,
    },
    /// A new certificate could not be saved: it serves this run only.
    Unsaved {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    #[error("cannot make a DTLS certificate: {0}")]
    Generate(String),
}

/// Why a stored identity cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
enum Unusable {
    #[error("cannot read it: {0}")]
    Read(String),
    #[error("it is not a PEM key and certificate: {0}")]
    Format(String),
    #[error("it holds {0} certificates, not one")]
    CertificateCount(usize),
    #[error("its key does not belong to its certificate")]
    KeyMismatch,
}

impl DtlsIdentity {
    /// A new certificate (ECDSA P-256, what browsers' DTLS takes everywhere).
    pub fn generate() -> Result<Self, IdentityError> {
        let err = |e: &dyn std::fmt::Display| IdentityError::Generate(e.to_string());
        let provider = rtc::crypto::default_provider().map_err(|e| err(&e))?;
        let params =
            rtc::peer_connection::certificate::CertificateParams::new(vec!["voicecall".to_owned()])
                .map_err(|e| err(&e))?;
        let certificate = RTCCertificate::generate(
            provider.crypto(),
            rtc::crypto::SignatureScheme::EcdsaP256Sha256,
            params,
        )
        .map_err(|e| err(&e))?;
        Self::new(certificate, provider.crypto()).map_err(|e| err(&e))
    }

    fn new(
        certificate: RTCCertificate,
        crypto: &dyn rtc::crypto::RTCCrypto,
    ) -> Result<Self, String> {
        let fingerprints = certificate
            .get_fingerprints(crypto)
            .map_err(|e| e.to_string())?;
        let lines: Vec<String> = fingerprints
            .iter()
            .map(|fp| format!("{} {}", fp.algorithm, fp.value))
            .collect();
        let fingerprint = Fingerprint::parse(&lines.join("\n"))
            .ok_or_else(|| "the certificate has no fingerprint".to_owned())?;
        Ok(Self {
            certificate,
            fingerprint,
        })
    }

    /// `dir/dtls-identity.pem`, or a new certificate saved there (mode 0600). A missing or
    /// unusable file never stops the app: it is replaced (the old one set aside, never
    /// deleted) and the log says so. Fails only if no certificate can be made at all.
    pub fn load_or_create(dir: &Path) -> Result<(Self, IdentitySource), IdentityError> {
        let path = dir.join(IDENTITY_FILE);
        let reason = match Self::load(&path) {
            Ok(Some(identity)) => {
                tighten_permissions(&path);
                return Ok((identity, IdentitySource::Loaded));
            }
            Ok(None) => None,
            Err(unusable) => Some(unusable.to_string()),
        };
        let identity = Self::generate()?;
        let set_aside = reason.as_ref().and_then(|_| set_aside(&path));
        let source = match (identity.save(&path), reason) {
            (Err(why), _) => {
                tracing::warn!(path = %path.display(), error = %why, "cannot save the new DTLS identity; peers will see another key next run");
                IdentitySource::Unsaved { reason: why }
            }
            (Ok(()), None) => {
                tracing::info!(path = %path.display(), fingerprint = %identity.fingerprint, "created this installation's DTLS identity");
                IdentitySource::Created
            }
            (Ok(()), Some(reason)) => {
                tracing::warn!(path = %path.display(), %reason, set_aside = ?set_aside, fingerprint = %identity.fingerprint, "the DTLS identity file was unusable; made a new one (contacts who verified you will see a changed key)");
                IdentitySource::Replaced { reason, set_aside }
            }
        };
        Ok((identity, source))
    }

    /// `Ok(None)` when there is no file.
    fn load(path: &Path) -> Result<Option<Self>, Unusable> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Unusable::Read(e.to_string())),
        };
        let provider =
            rtc::crypto::default_provider().map_err(|e| Unusable::Format(e.to_string()))?;
        let crypto = provider.crypto();
        let certificate = rtc::dtls::crypto::Certificate::from_pem(&text, crypto)
            .map_err(|e| Unusable::Format(e.to_string()))?;
        let [der] = &certificate.certificate[..] else {
            return Err(Unusable::CertificateCount(certificate.certificate.len()));
        };
        // The certificate's SubjectPublicKeyInfo holds the key's public point verbatim.
        let public = certificate
            .private_key
            .signing_key
            .public_key()
            .bytes
            .to_vec();
        if public.is_empty() || !der.as_ref().windows(public.len()).any(|w| w == public) {
            return Err(Unusable::KeyMismatch);
        }
        let expires = SystemTime::now() + LOADED_LIFETIME;
        let certificate = RTCCertificate::from_existing(certificate, expires);
        Self::new(certificate, crypto)
            .map(Some)
            .map_err(Unusable::Format)
    }

    /// Writes the key and certificate via a temporary file created 0600 and a rename, so
    /// the key is never readable by others and a crash never leaves half a file.
    fn save(&self, path: &Path) -> Result<(), String> {
        let pem = self
            .certificate
            .dtls_certificate
            .serialize_pem()
            .map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let tmp = path.with_extension("pem.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| e.to_string())?;
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    }

    pub fn certificate(&self) -> &RTCCertificate {
        &self.certificate
    }

    /// What peers see in our descriptions (`SHA-256 AB:CD:…`).
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

/// Moves an unusable file out of the way instead of overwriting it: it may be worth
/// something to whoever looks at it.
fn set_aside(path: &Path) -> Option<PathBuf> {
    if !path.exists() {
        return None;
    }
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = path.with_extension(format!("pem.broken-{stamp}"));
    std::fs::rename(path, &aside).ok().map(|()| aside)
}

/// A key file others may read gets owner-only permissions (and a log line).
fn tighten_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.permissions().mode() & 0o077 != 0 {
            let fixed = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            tracing::warn!(path = %path.display(), fixed = fixed.is_ok(), "the DTLS identity was readable by others; made it owner-only");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn created_once_then_the_same_identity_every_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, source) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
        assert_eq!(source, IdentitySource::Created);
        let path = dir.path().join(IDENTITY_FILE);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600, "the private key is the owner's alone");
        let (again, source) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
        assert_eq!(source, IdentitySource::Loaded);
        assert_eq!(again.fingerprint(), first.fingerprint());
        assert!(
            first.fingerprint().as_str().starts_with("SHA-256 "),
            "{}",
            first.fingerprint()
        );
        // Another installation has another identity.
        let other = tempfile::tempdir().expect("tempdir");
        let (theirs, _) = DtlsIdentity::load_or_create(other.path()).expect("identity");
        assert_ne!(theirs.fingerprint(), first.fingerprint());
    }

    #[test]
    fn an_unusable_file_is_set_aside_and_replaced_never_a_crash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(IDENTITY_FILE);
        let (original, _) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
        let good = std::fs::read_to_string(&path).expect("saved");
        let other_key = {
            let other = tempfile::tempdir().expect("tempdir");
            DtlsIdentity::load_or_create(other.path()).expect("identity");
            std::fs::read_to_string(other.path().join(IDENTITY_FILE)).expect("saved")
        };
        // Our key with their certificate: both halves parse, they do not belong together.
        let split = |pem: &str| {
            let at = pem
                .find("-----BEGIN CERTIFICATE")
                .expect("certificate block");
            (pem[..at].to_owned(), pem[at..].to_owned())
        };
        let mismatched = format!("{}{}", split(&good).0, split(&other_key).1);
        let cases = [
            ("", "not a PEM"),
            ("garbage\n", "not a PEM"),
            (&good[..good.len() / 2], "not a PEM"),
            (
                "-----BEGIN EXPIRES-----\nAA==\n-----END EXPIRES-----\n",
                "not a PEM",
            ),
            (&split(&good).0, "not a PEM"),
            (&mismatched, "does not belong"),
            (&format!("{good}{}", split(&other_key).1), "2 certificates"),
        ];
        for (content, expected) in cases {
            std::fs::write(&path, content).expect("write");
            let (identity, source) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
            let IdentitySource::Replaced { reason, set_aside } = &source else {
                panic!("{content:?} was not replaced: {source:?}")
            };
            assert!(reason.contains(expected), "{content:?}: {reason}");
            let aside = set_aside.as_ref().expect("set aside");
            assert_eq!(std::fs::read_to_string(aside).expect("kept"), content);
            std::fs::remove_file(aside).expect("clean up");
            assert_ne!(identity.fingerprint(), original.fingerprint());
            let (reloaded, source) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
            assert_eq!(source, IdentitySource::Loaded, "the replacement was saved");
            assert_eq!(reloaded.fingerprint(), identity.fingerprint());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_readable_by_others_is_made_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        DtlsIdentity::load_or_create(dir.path()).expect("identity");
        let path = dir.path().join(IDENTITY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (_, source) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
        assert_eq!(source, IdentitySource::Loaded);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn an_unwritable_dir_still_gives_an_identity_for_this_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A file where the config dir should be: nothing can be created inside it.
        let blocked = dir.path().join("not-a-dir");
        std::fs::write(&blocked, "x").expect("write");
        let (_, source) = DtlsIdentity::load_or_create(&blocked).expect("identity");
        assert!(
            matches!(source, IdentitySource::Unsaved { .. }),
            "{source:?}"
        );
    }
}
