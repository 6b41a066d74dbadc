//! Test certificates made on the spot with `rcgen`: a CA, and broker and
//! client certificates it signs, written as the PEM files a broker's
//! `ssl.*` keys and a client's settings name.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, SanType,
};

/// A certificate authority that signs test certificates.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub cert_pem: String,
}

/// A certificate and its key, PEM.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
}

impl TestCa {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("ca key");
        let cert = params.self_signed(&key).expect("ca cert");
        TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A broker certificate for `127.0.0.1` and `localhost`, with common
    /// name `cn`.
    pub fn broker(&self, cn: &str) -> Issued {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("broker params");
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        params.distinguished_name.push(DnType::CommonName, cn);
        self.issue(params)
    }

    /// A client certificate whose subject is encoded `O=<org>` then
    /// `CN=<cn>`: `CN=<cn>,O=<org>` in RFC 2253 form.
    pub fn client(&self, org: &str, cn: &str) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
        params.distinguished_name.push(DnType::CommonName, cn);
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Issued {
    /// Writes a key store as Kafka's PEM key store file holds it (the
    /// private key, then the certificate chain) to `dir/name`.
    pub fn write_keystore(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, format!("{}{}", self.key_pem, self.cert_pem)).expect("key store");
        // Replaced in one step, as cert-manager's atomic writer does.
        std::fs::rename(&tmp, &path).expect("key store in place");
        path
    }

    /// Writes the certificate and the key as two files, for clients.
    pub fn write_pair(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("cert");
        std::fs::write(&key, &self.key_pem).expect("key");
        (cert, key)
    }
}

/// Writes `pem` to `dir/name`.
pub fn write_pem(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("pem file");
    path
}
