//! Test fixtures for HTTPS (feature `test-fixtures`): a test CA and a certificate it signed for
//! `localhost` and `127.0.0.1`, both valid until 2126, and a TLS acceptor serving that
//! certificate. A test trusts the CA through [`CA_FILE`] (`SSL_CERT_FILE` for a Nimbus process)
//! or [`ca`] (for a [`Client`](crate::Client) of its own).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The CA certificate's path, PEM.
pub const CA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ca.pem");

const CA: &[u8] = include_bytes!("../tests/fixtures/ca.pem");
const LEAF: &[u8] = include_bytes!("../tests/fixtures/localhost.pem");
const LEAF_KEY: &[u8] = include_bytes!("../tests/fixtures/localhost.key");

/// The CA certificate.
pub fn ca() -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(CA).collect::<Result<_, _>>().expect("the fixture CA is PEM")
}

/// Accepts TLS with the `localhost`/`127.0.0.1` certificate.
pub fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let chain =
        CertificateDer::pem_slice_iter(LEAF).collect::<Result<Vec<_>, _>>().expect("the fixture leaf is PEM");
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY).expect("the fixture key is PEM");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the fixture certificate and key match");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
