//! TLS material: a local CA created on first start (persisted under
//! `DATA_DIR/tls/`), and a server certificate signed by it at every start
//! for loopback plus the names the service hands out. User-supplied
//! certificate and key files replace both.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::fsutil::{check_private_file, write_private_file};

pub struct TlsFiles {
    pub ca_cert: PathBuf,
}

fn ca_params() -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keyrotor local CA");
    dn.push(DnType::OrganizationName, "keyrotor");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    Ok(p)
}

/// Loads or creates the local CA and issues a server certificate for `names`.
pub fn local_ca_server_config(
    dir: &Path,
    names: &[String],
) -> Result<(rustls::ServerConfig, TlsFiles)> {
    let tls_dir = dir.join("tls");
    std::fs::create_dir_all(&tls_dir).with_context(|| format!("creating {}", tls_dir.display()))?;
    let ca_cert_path = tls_dir.join("ca.pem");
    let ca_key_path = tls_dir.join("ca.key");
    let (ca_key, ca_cert_pem) = if ca_key_path.exists() && ca_cert_path.exists() {
        check_private_file(&ca_key_path)?;
        let key_pem = std::fs::read_to_string(&ca_key_path)?;
        let key = KeyPair::from_pem(&key_pem).context("reading the local CA key")?;
        (key, std::fs::read_to_string(&ca_cert_path)?)
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params()?.self_signed(&key)?;
        write_private_file(&ca_key_path, key.serialize_pem().as_bytes())?;
        std::fs::write(&ca_cert_path, cert.pem())?;
        (key, cert.pem())
    };
    // Re-create the issuer from the same name and key: what the server
    // certificate records as its issuer matches the stored ca.pem.
    let issuer = ca_params()?.self_signed(&ca_key)?;

    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_else(|| "localhost".into()),
    );
    p.distinguished_name = dn;
    let mut sans = Vec::new();
    for n in names {
        if let Ok(ip) = n.parse::<IpAddr>() {
            sans.push(SanType::IpAddress(ip));
        } else {
            sans.push(SanType::DnsName(
                n.as_str()
                    .try_into()
                    .with_context(|| format!("invalid DNS name {n}"))?,
            ));
        }
    }
    p.subject_alt_names = sans;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    let server_key = KeyPair::generate()?;
    let server_cert = p.signed_by(&server_key, &issuer, &ca_key)?;
    let _ = ca_cert_pem;
    let chain = vec![server_cert.der().clone()];
    let key =
        PrivateKeyDer::try_from(server_key.serialize_der()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((
        server_config(chain, key)?,
        TlsFiles {
            ca_cert: ca_cert_path,
        },
    ))
}

/// Loads a user-supplied PEM certificate chain and private key.
pub fn user_server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig> {
    check_private_file(key)?;
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("opening {}", cert.display()))?,
    ))
    .collect::<std::result::Result<_, _>>()
    .with_context(|| format!("reading certificates from {}", cert.display()))?;
    if chain.is_empty() {
        bail!("no certificate found in {}", cert.display());
    }
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(key)?))?
        .with_context(|| format!("no private key found in {}", key.display()))?;
    server_config(chain, key)
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}
