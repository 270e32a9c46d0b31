//! Secrets (passwords, bearer tokens) that never print: their `Debug` and
//! `Display` show a placeholder, so a secret cannot reach a log, an error
//! or a JSON output by accident.

use std::fmt;

/// A password or token. Read it with [`Secret::expose`] only where it is
/// sent to the peer.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Who Hilum says it is to a peer: a user name and password (HTTP Basic,
/// DIMSE user identity) or a bearer token (HTTP, DIMSE JWT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: Option<String>,
    /// The password that goes with `user`.
    pub password: Option<Secret>,
    /// A bearer token (wins over a user name and password).
    pub token: Option<Secret>,
}

impl Credentials {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.token.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let credentials = Credentials {
            user: Some("reader".into()),
            password: Some(Secret::new("hunter2")),
            token: Some(Secret::new("tok-123")),
        };
        let shown = format!("{credentials:?} {}", credentials.password.as_ref().unwrap());
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok-123"),
            "{shown}"
        );
        assert!(shown.contains("reader"));
        assert_eq!(credentials.token.unwrap().expose(), "tok-123");
    }
}
