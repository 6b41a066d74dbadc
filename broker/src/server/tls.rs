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

use crate::config::security::{
    ClientAuth, PemKeystore, PemSource, PrincipalRule, TlsSettings, TlsVersion,
};

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
    let mut provider = rustls::crypto::ring::default_provider();
    if !settings.cipher_suites.is_empty() {
        let mut chosen = Vec::new();
        for name in &settings.cipher_suites {
            let ours = rustls_suite_name(name);
            let suite = provider
                .cipher_suites
                .iter()
                .find(|s| format!("{:?}", s.suite()) == ours)
                .ok_or_else(|| store_error("ssl.cipher.suites", format!("{name} is not served")))?;
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = settings
        .protocols
        .iter()
        .map(|v| match v {
            TlsVersion::V12 => &rustls::version::TLS12,
            TlsVersion::V13 => &rustls::version::TLS13,
        })
        .collect();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
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

/// Kafka names TLS 1.3 suites as IANA does (`TLS_AES_128_GCM_SHA256`),
/// rustls with a `TLS13_` prefix; TLS 1.2 names are the same in both.
fn rustls_suite_name(kafka: &str) -> String {
    match kafka.strip_prefix("TLS_") {
        Some(rest) if rest.starts_with("AES_") || rest.starts_with("CHACHA20_") => {
            format!("TLS13_{rest}")
        }
        _ => kafka.to_string(),
    }
}

/// The subject DN of a client's certificate in RFC 2253 form (the last RDN
/// first, `,` between them, special characters escaped), as Java's
/// `X500Principal.getName()` gives it; `None` without a certificate.
pub fn subject(peer_certificates: Option<&[CertificateDer<'_>]>) -> Option<String> {
    let leaf = peer_certificates.and_then(<[_]>::first)?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    Some(rfc2253(cert.subject()))
}

/// `ssl.principal.mapping.rules`, compiled: a certificate's subject to a
/// principal name.
#[derive(Debug)]
pub struct PrincipalMapper(Vec<Mapping>);

#[derive(Debug)]
enum Mapping {
    Default,
    Rule {
        pattern: regex::Regex,
        replacement: String,
        case: Option<char>,
    },
}

impl PrincipalMapper {
    /// Compiles the rules (checked when the configuration was read).
    pub fn new(rules: &[PrincipalRule]) -> Result<Self, TlsError> {
        rules
            .iter()
            .map(|r| match r {
                PrincipalRule::Default => Ok(Mapping::Default),
                PrincipalRule::Rule {
                    pattern,
                    replacement,
                    case,
                } => Ok(Mapping::Rule {
                    pattern: regex::Regex::new(&format!("^(?:{pattern})$"))
                        .map_err(|e| store_error("ssl.principal.mapping.rules", e))?,
                    replacement: java_replacement(replacement),
                    case: *case,
                }),
            })
            .collect::<Result<_, _>>()
            .map(PrincipalMapper)
    }

    /// The principal of a client: `User:` and what the first matching rule
    /// makes of its certificate's subject, `User:ANONYMOUS` without one;
    /// `None` when no rule matches (the client is refused, as Kafka refuses
    /// it).
    pub fn principal(&self, subject: Option<&str>) -> Option<String> {
        let Some(dn) = subject else {
            return Some("User:ANONYMOUS".to_string());
        };
        self.0.iter().find_map(|m| match m {
            Mapping::Default => Some(format!("User:{dn}")),
            Mapping::Rule {
                pattern,
                replacement,
                case,
            } => pattern.is_match(dn).then(|| {
                let name = pattern.replace(dn, replacement.as_str()).into_owned();
                let name = match case {
                    Some('L') => name.to_lowercase(),
                    Some('U') => name.to_uppercase(),
                    _ => name,
                };
                format!("User:{name}")
            }),
        })
    }
}

/// A Java replacement string (`$1`, `\$` for a literal) in the `regex`
/// crate's syntax (`${1}`, `$$`).
fn java_replacement(java: &str) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
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
    /// The listener's principal mapping.
    pub mapper: PrincipalMapper,
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
            mapper: PrincipalMapper::new(&settings.principal_rules)?,
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

    fn mapper(rules: &str) -> PrincipalMapper {
        PrincipalMapper::new(&crate::config::security::principal_rules(rules).unwrap()).unwrap()
    }

    #[test]
    fn mapping_rules_apply_in_order_as_kafkas_do() {
        let m =
            mapper("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,RULE:^CN=(.*?),O=(.*)$/$1@$2/,DEFAULT");
        assert_eq!(
            m.principal(Some("CN=Kafka-Bot,OU=ServiceUsers,O=Acme"))
                .as_deref(),
            Some("User:kafka-bot")
        );
        assert_eq!(
            m.principal(Some("CN=bob,O=Acme")).as_deref(),
            Some("User:bob@Acme")
        );
        assert_eq!(
            m.principal(Some("C=US")).as_deref(),
            Some("User:C=US"),
            "DEFAULT keeps the name"
        );
        assert_eq!(m.principal(None).as_deref(), Some("User:ANONYMOUS"));
        let strict = mapper("RULE:^CN=([a-z]+)$/$1/U");
        assert_eq!(
            strict.principal(Some("CN=amy")).as_deref(),
            Some("User:AMY")
        );
        assert_eq!(
            strict.principal(Some("CN=Amy,O=x")),
            None,
            "no rule matches: refused"
        );
    }

    #[test]
    fn kafka_cipher_suite_names_map_to_rustls_ones() {
        assert_eq!(
            rustls_suite_name("TLS_AES_128_GCM_SHA256"),
            "TLS13_AES_128_GCM_SHA256"
        );
        assert_eq!(
            rustls_suite_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(java_replacement("$1@$2x\\$"), "${1}@${2}x$$");
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
            subject(Some(&[cert.der().clone()])).as_deref(),
            Some("CN=bob,O=Acme\\, Inc")
        );
    }

    #[test]
    fn no_certificate_has_no_subject() {
        assert_eq!(subject(None), None);
        assert_eq!(subject(Some(&[])), None);
    }
}
