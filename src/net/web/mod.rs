//! DICOMweb (PS3.18): QIDO-RS search ([`search`]), WADO-RS retrieval
//! ([`retrieve`]) and STOW-RS upload ([`send`]) over a blocking HTTP client.
//!
//! Not the `dicom-web` crate: it is async (reqwest on tokio), has no
//! STOW-RS, and decodes each retrieved part into an in-memory object, where
//! Hilum streams each part to disk as it arrives, exactly as sent.
//!
//! TLS is always verified: against the system's roots plus the node's
//! optional CA file; there is no switch to turn verification off.

pub mod multipart;
mod qido;
mod stow;
mod tls;
mod wado;

use std::time::Duration;

use base64::Engine as _;

pub use self::qido::search;
pub use self::stow::send;
pub use self::wado::{SeriesProgress, retrieve};

use super::error::{NetError, NetErrorKind, NetResult};
use super::node::WebNode;
use super::secret::Credentials;

/// A connection to one DICOMweb service.
pub struct WebClient {
    agent: ureq::Agent,
    root: String,
    authorization: Option<String>,
}

impl std::fmt::Debug for WebClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebClient")
            .field("root", &self.root)
            .field("authenticated", &self.authorization.is_some())
            .finish()
    }
}

impl WebClient {
    /// A client for `node`, logging in with `credentials`; `timeout` bounds
    /// connecting, waiting for an answer and each pause within one.
    pub fn new(node: &WebNode, credentials: &Credentials, timeout: Duration) -> NetResult<Self> {
        let tls =
            tls::config(node).map_err(|why| NetError::new(&node.root, NetErrorKind::Tls(why)))?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .timeout_per_write(Some(timeout))
            .user_agent(concat!("Hilum/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        let authorization = if let Some(token) = &credentials.token {
            Some(format!("Bearer {}", token.expose()))
        } else {
            credentials.user.as_ref().map(|user| {
                let password = credentials
                    .password
                    .as_ref()
                    .map(|p| p.expose())
                    .unwrap_or("");
                let pair = format!("{user}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            })
        };
        Ok(WebClient {
            agent: config.into(),
            root: node.root.clone(),
            authorization,
        })
    }

    /// The service root, as errors name the peer.
    pub fn root(&self) -> &str {
        &self.root
    }

    fn error(&self, kind: NetErrorKind) -> NetError {
        NetError::new(&self.root, kind)
    }

    /// A GET of `path` (below the root) with `accept`.
    fn get(
        &self,
        path: &str,
        query: &[(String, String)],
        accept: &str,
    ) -> NetResult<ureq::http::Response<ureq::Body>> {
        let mut request = self
            .agent
            .get(format!("{}{path}", self.root))
            .header("Accept", accept);
        for (key, value) in query {
            request = request.query(key, value);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.call().map_err(|e| self.transport_error(e))?;
        self.check_status(response)
    }

    /// A POST of `body` to `path` with `content_type`.
    fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> NetResult<ureq::http::Response<ureq::Body>> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.root))
            .header("Content-Type", content_type)
            .header("Accept", "application/dicom+json");
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.send(body).map_err(|e| self.transport_error(e))?;
        Ok(response)
    }

    /// Turns an HTTP failure status into an error; 401 and 403 are
    /// authentication failures.
    fn check_status(
        &self,
        response: ureq::http::Response<ureq::Body>,
    ) -> NetResult<ureq::http::Response<ureq::Body>> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        Err(self.error(status_kind(code, reason)))
    }

    /// Maps a transport error (no HTTP answer) to a [`NetErrorKind`].
    fn transport_error(&self, error: ureq::Error) -> NetError {
        self.error(transport_kind(error))
    }
}

/// The kind of error an HTTP failure status is.
fn status_kind(code: u16, reason: &str) -> NetErrorKind {
    let status = format!("HTTP {code} {reason}").trim_end().to_string();
    match code {
        401 | 403 => NetErrorKind::Authentication(status),
        _ => NetErrorKind::Refused(status),
    }
}

/// The kind of error a failed request is, with the reason in words.
fn transport_kind(error: ureq::Error) -> NetErrorKind {
    match error {
        ureq::Error::Timeout(which) => {
            NetErrorKind::Timeout(format!("no answer in time ({which})"))
        }
        ureq::Error::HostNotFound => NetErrorKind::Connection("host not found".into()),
        ureq::Error::Rustls(e) => NetErrorKind::Tls(e.to_string()),
        ureq::Error::Tls(why) => NetErrorKind::Tls(why.to_string()),
        ureq::Error::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => NetErrorKind::Tls(tls.to_string()),
            None => NetErrorKind::Connection(e.to_string()),
        },
        ureq::Error::Protocol(e) => NetErrorKind::Protocol(e.to_string()),
        other => NetErrorKind::Connection(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_what_failed() {
        assert!(
            matches!(status_kind(401, "Unauthorized"), NetErrorKind::Authentication(s) if s == "HTTP 401 Unauthorized")
        );
        assert!(matches!(
            status_kind(403, "Forbidden"),
            NetErrorKind::Authentication(_)
        ));
        assert!(
            matches!(status_kind(404, "Not Found"), NetErrorKind::Refused(s) if s.contains("404"))
        );
    }

    #[test]
    fn the_authorization_header_never_shows_in_debug() {
        let node = WebNode {
            root: "http://127.0.0.1:9/dicom-web".into(),
            ca_file: None,
        };
        let credentials = Credentials {
            user: Some("reader".into()),
            password: Some(crate::net::Secret::new("hunter2")),
            token: None,
        };
        let client = WebClient::new(&node, &credentials, Duration::from_secs(1)).unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("cmVhZGVy"),
            "{shown}"
        );
        assert!(shown.contains("authenticated: true"));
    }
}
