//! TLS on a client listener, with rustls: the server configuration built
//! from a PEM key store and trust store (parsed by `rustls-pki-types`), the
//! client principal a certificate stands for (Kafka's default mapping:
//! `User:` and the subject's distinguished name in RFC 2253 form, read with
//! `x509-parser`), and a reloader that rebuilds the configuration when the
//! store files change on disk, so rotated certificates reach new
//! connections without a restart while open ones keep theirs.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::security::{ClientAuth, PemKeystore, PemSource, TlsSettings};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A store could not be read or parsed.
    #[error("{what}: {reason}")]
    Store {
        /// Which store, and where.
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the key, chain or trust anchors.
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

fn store_error(what: impl Into<String>, reason: impl ToString) -> TlsError {
    TlsError::Store {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// Reads PEM text from a source.
fn pem_text(what: &str, source: &PemSource) -> Result<String, TlsError> {
    match source {
        PemSource::Inline(text) => Ok(text.clone()),
        PemSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| store_error(format!("{what} {}", path.display()), e)),
    }
}

/// Builds the server configuration of a TLS listener.
pub fn server_config(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
    let (key_pem, chain_pem) = match &settings.keystore {
        PemKeystore::File(path) => {
            let text = pem_text("key store", &PemSource::File(path.clone()))?;
            (text.clone(), text)
        }
        PemKeystore::Inline { key, chain } => (key.clone(), chain.clone()),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| store_error("key store certificate chain", e))?;
    if chain.is_empty() {
        return Err(store_error("key store", "no certificate found"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
        store_error(
            "key store private key",
            format!("{e} (an unencrypted PKCS#8, PKCS#1 or SEC1 PEM key is needed)"),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match (&settings.truststore, settings.client_auth) {
        (Some(trust), auth) if auth != ClientAuth::None => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem_text("trust store", trust)?.as_bytes()) {
                let cert = cert.map_err(|e| store_error("trust store", e))?;
                roots.add(cert).map_err(|e| store_error("trust store", e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?,
            )
        }
        _ => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    Ok(Arc::new(config))
}

/// The principal a client certificate stands for, by Kafka's default
/// `ssl.principal.mapping.rules`: `User:` and the subject DN in RFC 2253
/// form (the last RDN first, `,` between them, special characters
/// escaped), `User:ANONYMOUS` without a certificate.
pub fn principal(peer_certificates: Option<&[CertificateDer<'_>]>) -> String {
    let Some(leaf) = peer_certificates.and_then(<[_]>::first) else {
        return "User:ANONYMOUS".to_string();
    };
    match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, cert)) => format!("User:{}", rfc2253(cert.subject())),
        Err(_) => "User:ANONYMOUS".to_string(),
    }
}

/// The attribute keywords RFC 2253 (and Java's `X500Principal`) write by name.
const RFC2253_KEYWORDS: &[&str] = &["CN", "C", "L", "ST", "O", "OU", "DC", "STREET", "UID"];

/// A distinguished name in RFC 2253 form, as Java's `X500Principal.getName()`
/// gives it.
fn rfc2253(name: &x509_parser::x509::X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    // RFC 2253's keywords by name, any other attribute by its OID.
                    let key = x509_parser::objects::oid2abbrev(atv.attr_type(), registry)
                        .ok()
                        .filter(|k| RFC2253_KEYWORDS.contains(k))
                        .map(str::to_string)
                        .unwrap_or_else(|| atv.attr_type().to_id_string());
                    let value = atv.as_str().map(escape).unwrap_or_default();
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// RFC 2253 escaping of an attribute value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.len() && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A listener's current TLS configuration, rebuilt when its store files
/// change.
#[derive(Debug)]
pub struct ReloadingConfig {
    settings: TlsSettings,
    current: RwLock<Arc<ServerConfig>>,
    stamp: RwLock<Vec<Option<SystemTime>>>,
}

/// How often store files are checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(5);

impl ReloadingConfig {
    /// Loads the stores once; a broker whose stores do not load does not
    /// start.
    pub fn load(settings: TlsSettings) -> Result<Arc<Self>, TlsError> {
        let config = server_config(&settings)?;
        let stamp = stamps(&settings);
        Ok(Arc::new(ReloadingConfig {
            settings,
            current: RwLock::new(config),
            stamp: RwLock::new(stamp),
        }))
    }

    /// The configuration new connections use.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds the configuration if a store file changed; a store that no
    /// longer loads keeps the previous configuration (and is reported).
    pub fn reload_if_changed(&self) -> Option<Result<(), TlsError>> {
        let now = stamps(&self.settings);
        {
            let seen = self
                .stamp
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *seen == now {
                return None;
            }
        }
        *self
            .stamp
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
        Some(server_config(&self.settings).map(|config| {
            *self
                .current
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        }))
    }
}

/// The store files and their modification times.
fn files(settings: &TlsSettings) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let PemKeystore::File(p) = &settings.keystore {
        out.push(p.clone());
    }
    if let Some(PemSource::File(p)) = &settings.truststore {
        out.push(p.clone());
    }
    out
}

fn stamps(settings: &TlsSettings) -> Vec<Option<SystemTime>> {
    files(settings)
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_rfc_2253_asks() {
        assert_eq!(escape("bob"), "bob");
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" lead"), "\\ lead");
        assert_eq!(escape("#x"), "\\#x");
    }

    #[test]
    fn a_client_certificate_is_user_and_its_subject_last_rdn_first() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        // Encoded in this order: O, then CN.
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Acme, Inc");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "bob");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            principal(Some(&[cert.der().clone()])),
            "User:CN=bob,O=Acme\\, Inc"
        );
    }

    #[test]
    fn no_certificate_is_anonymous() {
        assert_eq!(principal(None), "User:ANONYMOUS");
        assert_eq!(principal(Some(&[])), "User:ANONYMOUS");
    }
}
