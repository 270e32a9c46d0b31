//! The certificates a DICOMweb client trusts: the system's roots (as
//! `rustls-native-certs` finds them: the OpenSSL store on Linux, the
//! keychain on macOS, the Windows store) plus, when the node names one, a
//! PEM file of extra CAs (a hospital's own CA). Verification is never off.

use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::net::node::WebNode;

/// The TLS configuration for `node`. Plain `http://` nodes need no roots,
/// so the system store is read only for `https://`.
pub fn config(node: &WebNode) -> Result<TlsConfig, String> {
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    if node.root.to_ascii_lowercase().starts_with("https://") {
        let found = rustls_native_certs::load_native_certs();
        roots.extend(
            found
                .certs
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
        );
    }
    if let Some(path) = &node.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(format!(
                        "the CA file {} is not valid PEM: {e}",
                        path.display()
                    ));
                }
            }
        }
        if roots.len() == before {
            return Err(format!(
                "the CA file {} holds no certificate",
                path.display()
            ));
        }
    }
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}
