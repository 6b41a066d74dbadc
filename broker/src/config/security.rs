//! Listener security under Kafka's keys: which security protocol each named
//! listener speaks (`listener.security.protocol.map`) and, for TLS
//! listeners, where the key and trust stores are (`ssl.*`, overridable per
//! listener with Kafka's `listener.name.<name>.` prefix). Pure: this reads
//! the properties; `server::tls` loads the files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::Listener;
use crate::properties::{invalid, ConfigError};

/// Kafka's security protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecurityProtocol {
    /// No encryption, no authentication.
    Plaintext,
    /// TLS, optionally with client certificates.
    Ssl,
    /// SASL over plaintext.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections on such a listener are TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            other => Err(format!(
                "unknown security protocol {other} (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
            )),
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        })
    }
}

/// Kafka's default `listener.security.protocol.map`: each protocol's name
/// maps to itself.
pub const DEFAULT_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/// Whether a TLS listener asks clients for a certificate (`ssl.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate asked for.
    None,
    /// Asked for; a client without one is still served (as ANONYMOUS).
    Requested,
    /// Required; a client without a trusted one is refused.
    Required,
}

/// Where a PEM key store or trust store comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file, re-read when it changes.
    File(PathBuf),
    /// Inline PEM text from the configuration.
    Inline(String),
}

/// A TLS protocol version (`ssl.enabled.protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `TLSv1.2`.
    V12,
    /// `TLSv1.3`.
    V13,
}

/// One of `ssl.principal.mapping.rules`, Kafka's syntax:
/// `RULE:pattern/replacement/[LU]` or `DEFAULT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalRule {
    /// The distinguished name as it is.
    Default,
    /// A regular expression the whole name must match, and what replaces it.
    Rule {
        /// The pattern (Java's syntax, which the `regex` crate reads for
        /// everything but look-arounds and back-references).
        pattern: String,
        /// The replacement, with `$1`-style group references.
        replacement: String,
        /// `L` lower-cases the result, `U` upper-cases it.
        case: Option<char>,
    },
}

/// One TLS listener's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The private key and certificate chain (`ssl.keystore.location`, or
    /// `ssl.keystore.key` with `ssl.keystore.certificate.chain`).
    pub keystore: PemKeystore,
    /// The CAs trusted for client certificates, if any.
    pub truststore: Option<PemSource>,
    /// `ssl.client.auth`.
    pub client_auth: ClientAuth,
    /// `ssl.enabled.protocols`.
    pub protocols: Vec<TlsVersion>,
    /// `ssl.cipher.suites` in Kafka's (IANA) names; empty for the defaults.
    pub cipher_suites: Vec<String>,
    /// `ssl.principal.mapping.rules`, in order.
    pub principal_rules: Vec<PrincipalRule>,
}

/// A PEM key store: one file with key and chain, or the two inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemKeystore {
    /// One PEM file holding the private key and the certificate chain.
    File(PathBuf),
    /// `ssl.keystore.key` and `ssl.keystore.certificate.chain`.
    Inline {
        /// The private key, PEM.
        key: String,
        /// The certificate chain, PEM.
        chain: String,
    },
}

/// One listener with its protocol and, for TLS, its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuredListener {
    /// Where it binds.
    pub listener: Listener,
    /// What it speaks.
    pub protocol: SecurityProtocol,
    /// Its TLS settings when `protocol` is TLS.
    pub tls: Option<TlsSettings>,
}

/// The security keys this module reads, for the broker's key table.
pub const KEYS: &[&str] = &[
    "listener.security.protocol.map",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.certificates",
    "ssl.client.auth",
    "ssl.enabled.protocols",
    "ssl.cipher.suites",
    "ssl.principal.mapping.rules",
];

/// Resolves each listener's protocol and TLS settings.
pub fn secure_listeners(
    listeners: &[Listener],
    props: &BTreeMap<String, String>,
) -> Result<Vec<SecuredListener>, ConfigError> {
    let map_text = props
        .get("listener.security.protocol.map")
        .map(|s| s.trim())
        .unwrap_or(DEFAULT_PROTOCOL_MAP);
    let map = protocol_map(map_text)
        .map_err(|e| invalid("listener.security.protocol.map", map_text, e))?;
    listeners
        .iter()
        .map(|l| {
            let protocol = *map.get(&l.name.to_ascii_uppercase()).ok_or_else(|| {
                invalid(
                    "listener.security.protocol.map",
                    map_text,
                    format!("no security protocol for listener {}", l.name),
                )
            })?;
            if matches!(
                protocol,
                SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
            ) {
                return Err(invalid(
                    "listeners",
                    &l.to_string(),
                    format!("{protocol} listeners are not supported yet (PLAINTEXT and SSL are)"),
                ));
            }
            let tls = protocol
                .is_tls()
                .then(|| tls_settings(&l.name, props))
                .transpose()?;
            Ok(SecuredListener {
                listener: l.clone(),
                protocol,
                tls,
            })
        })
        .collect()
}

/// Parses `NAME:PROTOCOL,...`.
fn protocol_map(text: &str) -> Result<BTreeMap<String, SecurityProtocol>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (name, protocol) = entry
                .split_once(':')
                .ok_or_else(|| format!("'{entry}' is not NAME:PROTOCOL"))?;
            Ok((name.trim().to_ascii_uppercase(), protocol.parse()?))
        })
        .collect()
}

/// A key for `listener`: its `listener.name.<name>.` override, else the
/// broker-wide one.
fn key<'a>(props: &'a BTreeMap<String, String>, listener: &str, key: &str) -> Option<&'a str> {
    props
        .get(&format!(
            "listener.name.{}.{key}",
            listener.to_ascii_lowercase()
        ))
        .or_else(|| props.get(key))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

fn tls_settings(
    listener: &str,
    props: &BTreeMap<String, String>,
) -> Result<TlsSettings, ConfigError> {
    let get = |k: &str| key(props, listener, k);
    for store in ["ssl.keystore.type", "ssl.truststore.type"] {
        if let Some(t) = get(store) {
            if !t.eq_ignore_ascii_case("PEM") {
                return Err(invalid(store, t, "weir reads PEM stores only (set PEM)"));
            }
        }
    }
    let keystore = match (
        get("ssl.keystore.location"),
        get("ssl.keystore.key"),
        get("ssl.keystore.certificate.chain"),
    ) {
        (Some(path), None, None) => PemKeystore::File(PathBuf::from(path)),
        (None, Some(key), Some(chain)) => PemKeystore::Inline {
            key: key.to_string(),
            chain: chain.to_string(),
        },
        (None, None, None) => {
            return Err(invalid(
                "ssl.keystore.location",
                "",
                format!("the TLS listener {listener} needs a key store"),
            ))
        }
        _ => {
            return Err(invalid(
                "ssl.keystore.location",
                "",
                "set either ssl.keystore.location or both ssl.keystore.key and ssl.keystore.certificate.chain",
            ))
        }
    };
    let truststore = match (
        get("ssl.truststore.location"),
        get("ssl.truststore.certificates"),
    ) {
        (Some(path), None) => Some(PemSource::File(PathBuf::from(path))),
        (None, Some(pem)) => Some(PemSource::Inline(pem.to_string())),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(invalid(
                "ssl.truststore.location",
                "",
                "set ssl.truststore.location or ssl.truststore.certificates, not both",
            ))
        }
    };
    let client_auth = match get("ssl.client.auth").unwrap_or("none") {
        v if v.eq_ignore_ascii_case("none") => ClientAuth::None,
        v if v.eq_ignore_ascii_case("requested") => ClientAuth::Requested,
        v if v.eq_ignore_ascii_case("required") => ClientAuth::Required,
        other => {
            return Err(invalid(
                "ssl.client.auth",
                other,
                "expected none, requested or required",
            ))
        }
    };
    if client_auth != ClientAuth::None && truststore.is_none() {
        return Err(invalid(
            "ssl.client.auth",
            get("ssl.client.auth").unwrap_or(""),
            "client certificates need a trust store (ssl.truststore.location)",
        ));
    }
    let protocols_text = get("ssl.enabled.protocols").unwrap_or("TLSv1.2,TLSv1.3");
    let mut protocols = Vec::new();
    for p in protocols_text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        protocols.push(match p {
            "TLSv1.2" => TlsVersion::V12,
            "TLSv1.3" => TlsVersion::V13,
            other => {
                return Err(invalid(
                    "ssl.enabled.protocols",
                    protocols_text,
                    format!("{other} is not served (TLSv1.2 and TLSv1.3 are)"),
                ))
            }
        });
    }
    if protocols.is_empty() {
        return Err(invalid(
            "ssl.enabled.protocols",
            protocols_text,
            "at least one protocol is needed",
        ));
    }
    let cipher_suites = get("ssl.cipher.suites")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let rules_text = get("ssl.principal.mapping.rules").unwrap_or("DEFAULT");
    let principal_rules = principal_rules(rules_text)
        .map_err(|e| invalid("ssl.principal.mapping.rules", rules_text, e))?;
    Ok(TlsSettings {
        keystore,
        truststore,
        client_auth,
        protocols,
        cipher_suites,
        principal_rules,
    })
}

/// Parses `ssl.principal.mapping.rules`: comma-separated `DEFAULT` and
/// `RULE:pattern/replacement/[LU]` entries, where a backslash escapes a `/`
/// (or anything) inside the pattern and the replacement, and commas may
/// appear inside both, as Kafka's `SslPrincipalMapper` reads them. Each
/// pattern is checked to compile.
pub fn principal_rules(text: &str) -> Result<Vec<PrincipalRule>, String> {
    let chars: Vec<char> = text.chars().collect();
    let rest = |i: usize| chars[i..].iter().collect::<String>();
    let starts = |i: usize, word: &str| rest(i).starts_with(word);
    let until_slash = |i: &mut usize| -> Result<String, String> {
        let mut out = String::new();
        while *i < chars.len() && chars[*i] != '/' {
            if chars[*i] == '\\' && *i + 1 < chars.len() {
                out.push(chars[*i]);
                *i += 1;
            }
            out.push(chars[*i]);
            *i += 1;
        }
        if *i >= chars.len() {
            return Err("a RULE needs pattern/replacement/".into());
        }
        *i += 1;
        Ok(out)
    };
    let mut i = 0;
    let mut rules = Vec::new();
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        if starts(i, "DEFAULT") {
            i += "DEFAULT".len();
            rules.push(PrincipalRule::Default);
        } else if starts(i, "RULE:") {
            i += "RULE:".len();
            let pattern = until_slash(&mut i)?;
            let replacement = until_slash(&mut i)?;
            let case = match chars.get(i) {
                Some(c @ ('L' | 'U')) => {
                    i += 1;
                    Some(*c)
                }
                _ => None,
            };
            regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| format!("pattern {pattern}: {e}"))?;
            rules.push(PrincipalRule::Rule {
                pattern,
                replacement,
                case,
            });
        } else {
            return Err(format!("expected DEFAULT or RULE: at '{}'", rest(i)));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        match chars.get(i) {
            None => break,
            Some(',') => i += 1,
            Some(_) => return Err(format!("expected ',' at '{}'", rest(i))),
        }
    }
    if rules.is_empty() {
        return Err("no rule".into());
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn listeners(s: &str) -> Vec<Listener> {
        super::super::listener::parse_list(s).unwrap()
    }

    #[test]
    fn named_listeners_take_their_protocol_from_the_map() {
        let p = props(&[
            (
                "listener.security.protocol.map",
                "CLIENT:SSL,REPLICATION:PLAINTEXT",
            ),
            ("ssl.keystore.location", "/k.pem"),
        ]);
        let secured =
            secure_listeners(&listeners("CLIENT://:9094,REPLICATION://:9095"), &p).unwrap();
        assert_eq!(secured[0].protocol, SecurityProtocol::Ssl);
        assert_eq!(
            secured[0].tls.as_ref().unwrap().keystore,
            PemKeystore::File("/k.pem".into())
        );
        assert_eq!(secured[1].protocol, SecurityProtocol::Plaintext);
        assert!(secured[1].tls.is_none());
        assert!(secure_listeners(&listeners("OTHER://:1"), &p).is_err());
    }

    #[test]
    fn per_listener_keys_override_the_broker_wide_ones() {
        let p = props(&[
            ("ssl.keystore.location", "/k.pem"),
            ("ssl.truststore.location", "/ca.pem"),
            ("ssl.client.auth", "none"),
            ("listener.name.ssl.ssl.client.auth", "required"),
        ]);
        let secured = secure_listeners(&listeners("SSL://:9093"), &p).unwrap();
        assert_eq!(
            secured[0].tls.as_ref().unwrap().client_auth,
            ClientAuth::Required
        );
    }

    #[test]
    fn principal_mapping_rules_read_as_kafka_reads_them() {
        let rules = principal_rules(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=([^,]*)\\/x,(.*)$/$1@$2/ ,DEFAULT",
        )
        .unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[0],
            PrincipalRule::Rule {
                pattern: "^CN=(.*?),OU=ServiceUsers.*$".into(),
                replacement: "$1".into(),
                case: Some('L'),
            }
        );
        assert!(
            matches!(&rules[1], PrincipalRule::Rule { pattern, case: None, .. } if pattern == "^CN=([^,]*)\\/x,(.*)$")
        );
        assert_eq!(rules[2], PrincipalRule::Default);
        assert!(principal_rules("RULE:no-slashes").is_err());
        assert!(
            principal_rules("RULE:(/x/").is_err(),
            "a pattern that does not compile"
        );
        assert!(principal_rules("BOGUS").is_err());
    }

    #[test]
    fn incomplete_or_unsupported_tls_settings_are_refused() {
        let ssl = listeners("SSL://:9093");
        assert!(secure_listeners(&ssl, &props(&[])).is_err(), "no key store");
        assert!(secure_listeners(
            &ssl,
            &props(&[
                ("ssl.keystore.location", "/k"),
                ("ssl.keystore.type", "JKS")
            ])
        )
        .is_err());
        assert!(
            secure_listeners(
                &ssl,
                &props(&[
                    ("ssl.keystore.location", "/k"),
                    ("ssl.client.auth", "required")
                ])
            )
            .is_err(),
            "client auth without a trust store"
        );
        assert!(
            secure_listeners(
                &ssl,
                &props(&[
                    ("ssl.keystore.location", "/k"),
                    ("ssl.enabled.protocols", "TLSv1.1")
                ])
            )
            .is_err(),
            "TLS 1.1 is not served"
        );
        assert!(
            secure_listeners(
                &listeners("SASL_SSL://:9093"),
                &props(&[("ssl.keystore.location", "/k")])
            )
            .is_err(),
            "SASL is not served yet"
        );
    }
}
