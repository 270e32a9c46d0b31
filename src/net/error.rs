//! Typed errors for talking to a PACS: every one names the peer and says
//! what went wrong in one line, and none ever holds a secret.

/// What went wrong talking to a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetErrorKind {
    /// The node could not be understood (a bad URL or `dicom://` address,
    /// an unknown saved name).
    #[error("invalid node: {0}")]
    InvalidNode(String),
    /// The peer could not be reached or the connection broke.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The TLS handshake failed (an unknown CA, a wrong host name).
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The peer refused the credentials (HTTP 401/403, a rejected
    /// association or user identity).
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// The peer answered with a failure status.
    #[error("the peer refused: {0}")]
    Refused(String),
    /// The peer's answer does not follow the standard (a malformed
    /// multipart body, an unparsable data set, an unexpected message).
    #[error("malformed answer: {0}")]
    Protocol(String),
    /// The peer did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Local(String),
    /// A retrieval ended before every instance arrived.
    #[error("incomplete: {0}")]
    Incomplete(String),
}

/// A [`NetErrorKind`] together with the peer it happened with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{peer}: {kind}")]
pub struct NetError {
    /// The peer, as the user named it (a URL without credentials, or
    /// `AET@host:port`).
    pub peer: String,
    /// What went wrong.
    pub kind: NetErrorKind,
}

impl NetError {
    /// An error with `peer`.
    pub fn new(peer: impl Into<String>, kind: NetErrorKind) -> Self {
        NetError {
            peer: peer.into(),
            kind,
        }
    }

    /// Whether the peer refused the credentials.
    pub fn is_authentication(&self) -> bool {
        matches!(self.kind, NetErrorKind::Authentication(_))
    }
}

/// The result of a PACS operation.
pub type NetResult<T> = Result<T, NetError>;
